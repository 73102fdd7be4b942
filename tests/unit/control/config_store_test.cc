// ConfigStore: per-resource acceptance (a bad resource keeps its last good version, every valid
// one applies) and last good per reference (a VirtualService whose references do not resolve is
// held back until they do). Driven by the real loader on inline YAML.
#include "control/config_store.h"

#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace sluice::control {
namespace {

std::string doc(std::string_view kind, std::string_view name, std::string_view spec) {
  return fmt::format(
      "apiVersion: networking.istio.io/v1\nkind: {}\nmetadata:\n  name: {}\n  namespace: "
      "default\nspec:\n{}\n---\n",
      kind, name, spec);
}

const std::string kDr = doc("DestinationRule", "provider",
                            "  host: provider\n  subsets:\n  - name: v1\n    labels: {v: '1'}");
const std::string kDrWithV2 = doc("DestinationRule", "provider",
                                  "  host: provider\n  subsets:\n  - name: v1\n    labels: {v: "
                                  "'1'}\n  - name: v2\n    labels: {v: '2'}");
std::string vsTo(std::string_view subset) {
  return doc("VirtualService", "provider",
             fmt::format("  hosts: [provider]\n  http:\n  - route:\n    - destination: {{host: "
                         "provider, subset: {}}}",
                         subset));
}
const std::string kBadDr = doc("DestinationRule", "provider", "  host: provider\n  bogus: 1");

const config::VirtualService* findVs(const config::ConfigSet& set, std::string_view name) {
  for (const auto& vs : set.virtual_services) {
    if (vs.meta.name == name) return &vs;
  }
  return nullptr;
}

std::string subsetOf(const config::VirtualService& vs) {
  return vs.http.at(0).route.at(0).destination.subset;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Every host exists (the reference checks are about subsets and gateways).
bool anyHost(const config::Destination&) { return true; }

TEST(ConfigStoreTest, AnInvalidResourceKeepsItsLastGoodVersionAndTheOthersApply) {
  ConfigStore store;
  auto u1 = store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  EXPECT_TRUE(u1.changed);
  EXPECT_TRUE(u1.errors.empty()) << joined(u1.errors);

  // The DestinationRule breaks while the VirtualService changes validly in the same load.
  auto u2 = store.update(config::loadString(kBadDr + vsTo("v1") + "# edited\n", "a.yaml"));
  ASSERT_EQ(u2.errors.size(), 1u) << joined(u2.errors);
  EXPECT_NE(u2.errors[0].find("a.yaml:"), std::string::npos) << u2.errors[0];
  EXPECT_NE(u2.errors[0].find("bogus"), std::string::npos) << u2.errors[0];
  ASSERT_EQ(u2.rejections.size(), 1u);
  EXPECT_NE(u2.rejections[0].find("last good version"), std::string::npos) << u2.rejections[0];
  const auto& accepted = store.accepted();
  ASSERT_EQ(accepted.destination_rules.size(), 1u);
  EXPECT_EQ(accepted.destination_rules[0].subsets.size(), 1u) << "the last good DR serves";
  EXPECT_TRUE(accepted.diagnostics.empty());
}

TEST(ConfigStoreTest, ANewInvalidResourceIsNotApplied) {
  ConfigStore store;
  auto u = store.update(config::loadString(kBadDr + vsTo("v1"), "a.yaml"));
  EXPECT_EQ(u.errors.size(), 1u);
  ASSERT_EQ(u.rejections.size(), 1u);
  EXPECT_NE(u.rejections[0].find("it is new"), std::string::npos) << u.rejections[0];
  EXPECT_TRUE(store.accepted().destination_rules.empty());
  EXPECT_EQ(store.accepted().virtual_services.size(), 1u);
}

TEST(ConfigStoreTest, ABrokenDocumentKeepsTheResourcesMissingFromItsFile) {
  ConfigStore store;
  store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  // The VirtualService's document becomes YAML junk: it cannot be named, so the resources last
  // read from a.yaml that are missing now keep serving; the valid DR change applies.
  auto u = store.update(config::loadString(kDrWithV2 + "kind: [broken\n", "a.yaml"));
  EXPECT_TRUE(u.changed);
  EXPECT_EQ(u.errors.size(), 1u) << joined(u.errors);
  ASSERT_NE(findVs(store.accepted(), "provider"), nullptr);
  ASSERT_EQ(store.accepted().destination_rules.size(), 1u);
  EXPECT_EQ(store.accepted().destination_rules[0].subsets.size(), 2u);
}

TEST(ConfigStoreTest, ADeletedResourceIsRemovedAndAnUnchangedLoadIsNoChange) {
  ConfigStore store;
  store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  auto same = store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  EXPECT_FALSE(same.changed);
  auto gone = store.update(config::loadString(kDr, "a.yaml"));
  EXPECT_TRUE(gone.changed);
  EXPECT_TRUE(store.accepted().virtual_services.empty());
}

TEST(ConfigStoreTest, AnUnreadablePathKeepsEverything) {
  ConfigStore store;
  store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  config::ConfigSet failed;
  failed.io_errors.push_back("/cfg: cannot list directory");
  auto u = store.update(failed);
  EXPECT_FALSE(u.changed);
  EXPECT_EQ(store.accepted().resourceCount(), 2u);
}

TEST(ConfigStoreTest, TheSeedServiceEntryWithoutApiVersionDoesNotBlockTheOtherFiles) {
  ConfigStore store;
  auto set = config::loadString(
      "kind: ServiceEntry\nmetadata:\n  name: external-nacos-svc\nspec:\n  hosts:\n  - "
      "\"nacos.example.com\"\n  location: MESH_EXTERNAL\n  ports:\n  - number: 8848\n    name: "
      "http\n  resolution: DNS\n",
      "external-nacos-svc.yaml");
  auto more = config::loadString(kDr + vsTo("v1"), "b.yaml");
  for (auto& d : more.diagnostics) set.diagnostics.push_back(d);
  set.destination_rules = more.destination_rules;
  set.virtual_services = more.virtual_services;
  auto u = store.update(set);
  ASSERT_EQ(u.errors.size(), 1u) << joined(u.errors);
  EXPECT_NE(u.errors[0].find("external-nacos-svc.yaml:1:1"), std::string::npos) << u.errors[0];
  EXPECT_EQ(store.accepted().destination_rules.size(), 1u);
  EXPECT_EQ(store.accepted().virtual_services.size(), 1u);
  EXPECT_TRUE(store.accepted().service_entries.empty());
}

TEST(ConfigStoreTest, ANewVirtualServiceToAMissingSubsetWaitsForTheDestinationRule) {
  ConfigStore store;
  store.update(config::loadString(vsTo("v1"), "vs.yaml"));
  auto r1 = store.resolve(anyHost);
  EXPECT_TRUE(r1.differs);
  EXPECT_TRUE(r1.config.virtual_services.empty()) << "a new VS with a dangling subset waits";
  ASSERT_EQ(r1.held_back.size(), 1u);
  EXPECT_NE(r1.held_back[0].find("error[IST0101]: vs.yaml:"), std::string::npos) << r1.held_back[0];
  EXPECT_NE(r1.held_back[0].find("not applied until"), std::string::npos) << r1.held_back[0];
  EXPECT_EQ(store.heldBack(), 1u);

  // The DestinationRule arrives later (another file): the VirtualService applies by itself.
  auto set = config::loadString(vsTo("v1"), "vs.yaml");
  set.destination_rules = config::loadString(kDr, "dr.yaml").destination_rules;
  store.update(set);
  auto r2 = store.resolve(anyHost);
  EXPECT_FALSE(r2.differs);
  ASSERT_EQ(r2.config.virtual_services.size(), 1u);
  EXPECT_TRUE(r2.held_back.empty()) << joined(r2.held_back);
  EXPECT_EQ(store.heldBack(), 0u);
}

TEST(ConfigStoreTest, AnEditToAMissingSubsetKeepsTheLastGoodVersionServing) {
  ConfigStore store;
  store.update(config::loadString(kDr + vsTo("v1"), "a.yaml"));
  ASSERT_FALSE(store.resolve(anyHost).differs);

  store.update(config::loadString(kDr + vsTo("v3"), "a.yaml"));
  auto held = store.resolve(anyHost);
  ASSERT_EQ(held.config.virtual_services.size(), 1u);
  EXPECT_EQ(subsetOf(held.config.virtual_services[0]), "v1") << "the last good version serves";
  ASSERT_EQ(held.held_back.size(), 1u);
  EXPECT_NE(held.held_back[0].find("\"provider+v3\""), std::string::npos) << held.held_back[0];
  EXPECT_NE(held.held_back[0].find("last good version"), std::string::npos);

  // Adding subset v3 to the DestinationRule releases the new version.
  store.update(config::loadString(
      doc("DestinationRule", "provider",
          "  host: provider\n  subsets:\n  - name: v1\n    labels: {v: '1'}\n  - name: v3\n    "
          "labels: {v: '3'}") +
          vsTo("v3"),
      "a.yaml"));
  auto released = store.resolve(anyHost);
  ASSERT_EQ(released.config.virtual_services.size(), 1u);
  EXPECT_EQ(subsetOf(released.config.virtual_services[0]), "v3");

  // Once applied, a reference that goes away later does not withdraw it (Istio's 503 then).
  store.update(config::loadString(kDr + vsTo("v3"), "a.yaml"));
  auto later = store.resolve(anyHost);
  ASSERT_EQ(later.config.virtual_services.size(), 1u);
  EXPECT_EQ(subsetOf(later.config.virtual_services[0]), "v3");
  EXPECT_TRUE(later.held_back.empty());
}

TEST(ConfigStoreTest, AHostTheRegistryDoesNotKnowYetIsHeldUntilItDoes) {
  ConfigStore store;
  store.update(config::loadString(
      doc("VirtualService", "consumer",
          "  hosts: [consumer]\n  http:\n  - route:\n    - destination: {host: consumer}"),
      "vs.yaml"));
  bool registry_knows = false;
  auto known = [&](const config::Destination& d) {
    return registry_knows && d.host_fqdn == "consumer.default.svc.cluster.local";
  };
  auto before = store.resolve(known);
  EXPECT_TRUE(before.config.virtual_services.empty());
  ASSERT_EQ(before.held_back.size(), 1u);
  EXPECT_NE(before.held_back[0].find("Referenced host not found: \"consumer\""), std::string::npos)
      << before.held_back[0];
  registry_knows = true;  // the registry's next change re-runs resolve()
  auto after = store.resolve(known);
  EXPECT_EQ(after.config.virtual_services.size(), 1u);
  EXPECT_TRUE(after.held_back.empty());
}

TEST(ConfigStoreTest, AGatewayBindingToAMissingGatewayIsHeldBack) {
  ConfigStore store;
  const std::string vs = doc("VirtualService", "edge",
                             "  hosts: ['*']\n  gateways: [test-gateway]\n  http:\n  - route:\n  "
                             "  - destination: {host: consumer}");
  store.update(config::loadString(vs, "vs.yaml"));
  auto before = store.resolve(anyHost);
  EXPECT_TRUE(before.config.virtual_services.empty());
  ASSERT_EQ(before.held_back.size(), 1u);
  EXPECT_NE(before.held_back[0].find("Referenced gateway not found: \"test-gateway\""),
            std::string::npos)
      << before.held_back[0];
  store.update(config::loadString(
      vs + doc("Gateway", "test-gateway",
               "  selector: {istio: ingressgateway}\n  servers:\n  - port: {number: 80, name: "
               "http, protocol: HTTP}\n    hosts: ['*']"),
      "vs.yaml"));
  EXPECT_EQ(store.resolve(anyHost).config.virtual_services.size(), 1u);
}

}  // namespace
}  // namespace sluice::control
