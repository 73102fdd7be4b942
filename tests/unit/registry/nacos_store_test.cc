#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "registry/nacos/naming_store.h"
#include "testutil/temp_dir.h"

namespace sluice::registry::nacos {
namespace {

using testutil::TempDir;

namespace fs = std::filesystem;

constexpr const char* kNs = "public";
constexpr const char* kSvc = "DEFAULT_GROUP@@service-provider";

NamingInstance makeInstance(std::string ip, uint16_t port, std::string cluster = "DEFAULT",
                            bool ephemeral = true) {
  NamingInstance inst;
  inst.ip = std::move(ip);
  inst.port = port;
  inst.cluster = std::move(cluster);
  inst.ephemeral = ephemeral;
  inst.metadata = {{"version", "v1"}};
  return inst;
}

// Fails every save after `fail_after` successful ones: a full disk at a chosen moment.
class FlakyStorage : public SnapshotStorage {
 public:
  explicit FlakyStorage(int fail_after) : remaining_(fail_after) {}
  Result<std::optional<std::string>> load() override { return content_; }
  Status save(const std::string& content) override {
    if (remaining_-- <= 0) {
      return makeError(ErrorCode::kIo, ErrorSource::kRegistry, "disk full (injected)");
    }
    content_ = content;
    return ok();
  }
  std::string describe() const override { return "flaky"; }

 private:
  int remaining_;
  std::optional<std::string> content_;
};

class StoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<NamingStore> makeStore(std::unique_ptr<SnapshotStorage> storage = nullptr) {
    if (!storage) storage = std::make_unique<MemorySnapshotStorage>();
    return std::make_unique<NamingStore>(options_, std::move(storage), [this] { return now_; });
  }
  StoreOptions options_;
  int64_t now_ = 1'700'000'000'000;
};

TEST(NacosNames, UngroupedNamesGetTheRequestGroupOrDefaultGroup) {
  EXPECT_EQ(*groupedServiceName("svc", ""), "DEFAULT_GROUP@@svc");
  EXPECT_EQ(*groupedServiceName("svc", "  "), "DEFAULT_GROUP@@svc");
  EXPECT_EQ(*groupedServiceName("svc", "ORDERS"), "ORDERS@@svc");
  // Already grouped: the groupName parameter is ignored, like the real server's filter.
  EXPECT_EQ(*groupedServiceName("G@@svc", "OTHER"), "G@@svc");
}

TEST(NacosNames, MalformedGroupedNamesAreRejectedWithTheRealServersMessage) {
  auto empty_group = groupedServiceName("@@svc", "");
  ASSERT_FALSE(empty_group);
  EXPECT_NE(empty_group.error().message.find("groupName can't be empty"), std::string::npos);
  auto no_name = groupedServiceName("G@@", "");
  ASSERT_FALSE(no_name);
  EXPECT_NE(no_name.error().message.find("groupName@@serviceName"), std::string::npos);
  EXPECT_FALSE(groupedServiceName("a@@b@@c", ""));
  auto missing = groupedServiceName("", "");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "Param 'serviceName' is required.");
}

TEST(NacosNames, InstanceIdIsIpPortClusterGroupedName) {
  EXPECT_EQ(makeInstanceId("10.0.0.11", 8070, "DEFAULT", kSvc),
            "10.0.0.11#8070#DEFAULT#DEFAULT_GROUP@@service-provider");
}

TEST(NacosNames, MetadataAcceptsJsonScalarsAndTheLegacyForm) {
  auto json = parseMetadata(R"({"version":"v1","n":3,"b":true})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->at("version"), "v1");
  EXPECT_EQ(json->at("n"), "3");
  EXPECT_EQ(json->at("b"), "true");
  auto legacy = parseMetadata("a=1,b=2");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->at("b"), "2");
  EXPECT_TRUE(parseMetadata("")->empty());
  EXPECT_FALSE(parseMetadata(R"({"nested":{"x":1}})"));
  EXPECT_FALSE(parseMetadata("{broken"));
  EXPECT_FALSE(parseMetadata("novalue"));
}

TEST(NacosNames, JavaClientsFromOneZeroGetGroupedNames) {
  EXPECT_TRUE(wantsGroupedNames("Nacos-Java-Client:v1.0.0"));
  EXPECT_TRUE(wantsGroupedNames("Nacos-Java-Client:v2.2.3"));
  EXPECT_FALSE(wantsGroupedNames("Nacos-Java-Client:v0.9.0"));
  EXPECT_FALSE(wantsGroupedNames("curl/8.0"));
  EXPECT_FALSE(wantsGroupedNames(""));
}

TEST_F(StoreTest, InstancesAreKeptPerClusterAndServicesPerGroup) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070, "A")));
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070, "B")));
  ASSERT_TRUE(store->registerInstance(kNs, "OTHER@@svc", makeInstance("10.0.0.2", 1)));
  ASSERT_TRUE(store->registerInstance("dev", kSvc, makeInstance("10.0.0.3", 1)));

  const ServiceRecord* record = store->findService(kNs, kSvc);
  ASSERT_NE(record, nullptr);
  EXPECT_EQ(record->instances.size(), 2u);  // same ip:port in two clusters = two instances
  const NamingInstance* a = store->findInstance(kNs, kSvc, {"A", "10.0.0.1", 8070});
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->instance_id, "10.0.0.1#8070#A#DEFAULT_GROUP@@service-provider");
  EXPECT_EQ(store->serviceNames(kNs, "DEFAULT_GROUP"), std::vector<std::string>{kSvc});
  EXPECT_EQ(store->serviceNames(kNs, "*").size(), 2u);
  EXPECT_EQ(store->serviceNames("dev", "DEFAULT_GROUP").size(), 1u);
  EXPECT_TRUE(store->serviceNames("nope", "DEFAULT_GROUP").empty());
  EXPECT_EQ(store->instanceCount(true), 4u);
}

TEST_F(StoreTest, ReRegistrationReplacesTheInstance) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070)));
  auto changed = makeInstance("10.0.0.1", 8070);
  changed.weight = 3;
  changed.metadata = {{"version", "v2"}};
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, changed));
  const NamingInstance* inst = store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->weight, 3);
  EXPECT_EQ(inst->metadata.at("version"), "v2");
  EXPECT_EQ(store->findService(kNs, kSvc)->instances.size(), 1u);
}

TEST_F(StoreTest, EphemeralInstanceTurnsUnhealthyAfterBeatTimeoutAndIsRemovedAfterDeleteTimeout) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070)));
  InstanceKey key{"DEFAULT", "10.0.0.1", 8070};

  now_ += options_.beat_timeout_ms;  // exactly at the timeout: still healthy
  store->sweep();
  EXPECT_TRUE(store->findInstance(kNs, kSvc, key)->healthy);

  now_ += 1;
  store->sweep();
  ASSERT_NE(store->findInstance(kNs, kSvc, key), nullptr);
  EXPECT_FALSE(store->findInstance(kNs, kSvc, key)->healthy);

  // A beat brings it back.
  auto beat = store->beat(kNs, kSvc, key, nullptr);
  ASSERT_TRUE(beat);
  EXPECT_TRUE(beat->found);
  EXPECT_TRUE(store->findInstance(kNs, kSvc, key)->healthy);

  now_ += options_.delete_timeout_ms + 1;
  store->sweep();
  EXPECT_EQ(store->findInstance(kNs, kSvc, key), nullptr);
  EXPECT_EQ(store->findService(kNs, kSvc), nullptr);  // the last instance took the service along
  EXPECT_TRUE(store->serviceNames(kNs, "DEFAULT_GROUP").empty());
}

TEST_F(StoreTest, PreservedMetadataOverridesTheTimeoutsAndBeatInterval) {
  auto store = makeStore();
  auto inst = makeInstance("10.0.0.1", 8070);
  inst.metadata[std::string(kMetaBeatTimeout)] = "3000";
  inst.metadata[std::string(kMetaDeleteTimeout)] = "6000";
  inst.metadata[std::string(kMetaBeatInterval)] = "1000";
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, inst));
  InstanceKey key{"DEFAULT", "10.0.0.1", 8070};
  EXPECT_EQ(store->beat(kNs, kSvc, key, nullptr)->client_beat_interval_ms, 1000);
  now_ += 3001;
  store->sweep();
  EXPECT_FALSE(store->findInstance(kNs, kSvc, key)->healthy);
  now_ += 3000;
  store->sweep();
  EXPECT_EQ(store->findInstance(kNs, kSvc, key), nullptr);
}

TEST_F(StoreTest, BeatForUnknownInstanceWithoutBodyIsNotFound) {
  auto store = makeStore();
  auto beat = store->beat(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}, nullptr);
  ASSERT_TRUE(beat);
  EXPECT_FALSE(beat->found);
  EXPECT_EQ(beat->client_beat_interval_ms, 5000);
  EXPECT_EQ(store->findService(kNs, kSvc), nullptr);
}

TEST_F(StoreTest, BeatWithBodyReRegistersAnExpiredInstance) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070, "C1")));
  now_ += options_.delete_timeout_ms + 1;
  store->sweep();
  ASSERT_EQ(store->findService(kNs, kSvc), nullptr);

  BeatInfo info;
  info.ip = "10.0.0.1";
  info.port = 8070;
  info.cluster = "C1";
  info.weight = 2;
  info.metadata = {{"version", "v1"}};
  auto beat = store->beat(kNs, kSvc, {"C1", "10.0.0.1", 8070}, &info);
  ASSERT_TRUE(beat);
  EXPECT_TRUE(beat->found);
  const NamingInstance* inst = store->findInstance(kNs, kSvc, {"C1", "10.0.0.1", 8070});
  ASSERT_NE(inst, nullptr);
  EXPECT_TRUE(inst->healthy);
  EXPECT_TRUE(inst->ephemeral);
  EXPECT_EQ(inst->weight, 2);
  EXPECT_EQ(inst->metadata.at("version"), "v1");
  EXPECT_EQ(inst->instance_id, "10.0.0.1#8070#C1#DEFAULT_GROUP@@service-provider");
}

TEST_F(StoreTest, DeregisterMatchesTheEphemeralFlag) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070)));
  InstanceKey key{"DEFAULT", "10.0.0.1", 8070};
  ASSERT_TRUE(store->deregisterInstance(kNs, kSvc, key, /*ephemeral=*/false));
  EXPECT_NE(store->findInstance(kNs, kSvc, key), nullptr);
  ASSERT_TRUE(store->deregisterInstance(kNs, kSvc, key, /*ephemeral=*/true));
  EXPECT_EQ(store->findInstance(kNs, kSvc, key), nullptr);
  // Deregistering what is not there is fine.
  EXPECT_TRUE(store->deregisterInstance(kNs, kSvc, key, true));
}

TEST_F(StoreTest, UpdateAndPatchOfAMissingInstanceAreNotFound) {
  auto store = makeStore();
  auto update = store->updateInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070));
  ASSERT_FALSE(update);
  EXPECT_EQ(update.error().code, ErrorCode::kNotFound);
  InstancePatch patch;
  patch.weight = 2;
  EXPECT_FALSE(store->patchInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}, patch));
  EXPECT_EQ(store->findService(kNs, kSvc), nullptr);
}

TEST_F(StoreTest, PatchChangesOnlyTheGivenFields) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070)));
  InstancePatch patch;
  patch.enabled = false;
  ASSERT_TRUE(store->patchInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}, patch));
  const NamingInstance* inst = store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070});
  EXPECT_FALSE(inst->enabled);
  EXPECT_EQ(inst->weight, 1);
  EXPECT_EQ(inst->metadata.at("version"), "v1");
}

TEST_F(StoreTest, PersistentInstancesNeverExpire) {
  auto store = makeStore();
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070, "DEFAULT", false)));
  now_ += 10 * options_.delete_timeout_ms;
  store->sweep();
  const NamingInstance* inst = store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070});
  ASSERT_NE(inst, nullptr);
  EXPECT_TRUE(inst->healthy);
}

TEST_F(StoreTest, PersistentInstancesSurviveARestartAndEphemeralOnesDoNot) {
  TempDir dir;
  {
    auto store = makeStore(std::make_unique<FileSnapshotStorage>(dir.path()));
    ASSERT_TRUE(store->load());
    auto persistent = makeInstance("10.0.0.1", 8070, "DEFAULT", false);
    persistent.weight = 2.5;
    persistent.metadata = {{"label", "v1"}, {"preserved.register.source", "SPRING_CLOUD"}};
    ASSERT_TRUE(store->registerInstance("dev", "G@@db", persistent));
    ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.2", 8070)));
    ASSERT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.3", 9, "X", false)));
    ASSERT_TRUE(store->deregisterInstance(kNs, kSvc, {"X", "10.0.0.3", 9}, false));
  }
  EXPECT_FALSE(fs::exists(fs::path(dir.path()) / "nacos-persistent.json.tmp"));
  auto store = makeStore(std::make_unique<FileSnapshotStorage>(dir.path()));
  ASSERT_TRUE(store->load());
  const NamingInstance* inst = store->findInstance("dev", "G@@db", {"DEFAULT", "10.0.0.1", 8070});
  ASSERT_NE(inst, nullptr);
  EXPECT_FALSE(inst->ephemeral);
  EXPECT_EQ(inst->weight, 2.5);
  EXPECT_EQ(inst->metadata.at("label"), "v1");
  EXPECT_EQ(inst->instance_id, "10.0.0.1#8070#DEFAULT#G@@db");
  EXPECT_EQ(store->findService(kNs, kSvc), nullptr);  // ephemeral and deregistered ones are gone
  EXPECT_EQ(store->instanceCount(false), 1u);
}

TEST_F(StoreTest, ATornTempFileFromACrashIsIgnoredAndRemoved) {
  TempDir dir;
  {
    auto store = makeStore(std::make_unique<FileSnapshotStorage>(dir.path()));
    ASSERT_TRUE(store->load());
    ASSERT_TRUE(
        store->registerInstance(kNs, kSvc, makeInstance("10.0.0.1", 8070, "DEFAULT", false)));
  }
  // A save() killed between write and rename leaves half a document in the temp file.
  fs::path tmp = dir.path() / "nacos-persistent.json.tmp";
  std::ofstream(tmp) << R"({"format":"sluice-nacos-persistent/1","instances":[{"namesp)";
  auto store = makeStore(std::make_unique<FileSnapshotStorage>(dir.path()));
  ASSERT_TRUE(store->load());
  EXPECT_NE(store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}), nullptr);
  EXPECT_FALSE(fs::exists(tmp));
}

TEST_F(StoreTest, ACorruptSnapshotFailsLoadNamingTheFileAndEntry) {
  TempDir dir;
  fs::path file = dir.path() / "nacos-persistent.json";
  std::ofstream(file) << R"({"format":"sluice-nacos-persistent/1","instances":[)"
                      << R"({"namespaceId":"public","serviceName":"DEFAULT_GROUP@@a",)"
                      << R"("clusterName":"DEFAULT","ip":"10.0.0.1","port":70000,"weight":1,)"
                      << R"("healthy":true,"enabled":true,"metadata":{}}]})";
  auto store = makeStore(std::make_unique<FileSnapshotStorage>(dir.path()));
  auto loaded = store->load();
  ASSERT_FALSE(loaded);
  EXPECT_NE(loaded.error().message.find(file.string()), std::string::npos);
  EXPECT_NE(loaded.error().message.find("instances[0].port"), std::string::npos);

  std::ofstream(file, std::ios::trunc) << "not json";
  auto garbage = store->load();
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("malformed snapshot"), std::string::npos);
}

TEST_F(StoreTest, AFailedPersistentWriteLeavesMemoryUnchanged) {
  auto store = makeStore(std::make_unique<FlakyStorage>(1));
  auto first = makeInstance("10.0.0.1", 8070, "DEFAULT", false);
  ASSERT_TRUE(store->registerInstance(kNs, kSvc, first));

  // The second write fails: neither a new instance nor a change to the first may stay.
  auto status =
      store->registerInstance(kNs, kSvc, makeInstance("10.0.0.2", 8070, "DEFAULT", false));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_EQ(store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.2", 8070}), nullptr);

  auto changed = first;
  changed.weight = 9;
  ASSERT_FALSE(store->updateInstance(kNs, kSvc, changed));
  EXPECT_EQ(store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070})->weight, 1);

  ASSERT_FALSE(store->deregisterInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}, false));
  EXPECT_NE(store->findInstance(kNs, kSvc, {"DEFAULT", "10.0.0.1", 8070}), nullptr);

  ASSERT_FALSE(
      store->registerInstance("fresh", "G@@new", makeInstance("10.0.0.9", 1, "DEFAULT", false)));
  EXPECT_EQ(store->findService("fresh", "G@@new"), nullptr);
  EXPECT_TRUE(store->serviceNames("fresh", "*").empty());

  // Ephemeral instances never touch the storage, so they still register.
  EXPECT_TRUE(store->registerInstance(kNs, kSvc, makeInstance("10.0.0.3", 8070)));
}

}  // namespace
}  // namespace sluice::registry::nacos
