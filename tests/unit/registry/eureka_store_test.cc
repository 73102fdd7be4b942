#include <gtest/gtest.h>

#include "registry/eureka/api.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/store.h"

namespace sluice::registry::eureka {
namespace {

struct FakeClock {
  int64_t now = 1'700'000'000'000;
  std::function<int64_t()> fn() {
    return [this] { return now; };
  }
};

EurekaInstance instance(std::string app, std::string id, std::string ip) {
  EurekaInstance i;
  i.app = std::move(app);
  i.instance_id = std::move(id);
  i.host_name = ip;
  i.ip_addr = std::move(ip);
  i.port = 8070;
  i.status = InstanceStatus::kUp;
  return i;
}

TEST(EurekaStore, RegisterUpperCasesTheAppAndFillsTheLease) {
  FakeClock clock;
  EurekaStore store({}, clock.fn());
  store.registerInstance(instance("service-provider", "a", "127.0.0.11"));
  auto app = store.application("SERVICE-PROVIDER");
  ASSERT_TRUE(app);
  EXPECT_EQ(app->name, "SERVICE-PROVIDER");
  const auto& inst = app->instances.at(0);
  EXPECT_EQ(inst.app, "SERVICE-PROVIDER");
  EXPECT_EQ(inst.lease.duration_secs, 90);
  EXPECT_EQ(inst.lease.renewal_interval_secs, 30);
  EXPECT_EQ(inst.lease.registration_timestamp, clock.now);
  EXPECT_EQ(inst.lease.service_up_timestamp, clock.now);
  EXPECT_EQ(store.applications().apps_hashcode, "UP_1_");
  EXPECT_TRUE(store.instance("service-provider", "a"));  // lookups ignore case
}

TEST(EurekaStore, LeaseExpiresAfterItsDurationWithoutRenewal) {
  FakeClock clock;
  StoreOptions options;
  options.lease_duration_ms = 90'000;
  EurekaStore store(options, clock.fn());
  store.registerInstance(instance("A", "default-lease", "127.0.0.1"));
  EurekaInstance short_lease = instance("A", "short", "127.0.0.2");
  short_lease.lease.duration_secs = 3;
  store.registerInstance(short_lease);
  clock.now += 2'000;
  EXPECT_EQ(store.renew("A", "short"), EurekaStore::Outcome::kOk);
  clock.now += 2'500;
  EXPECT_EQ(store.evictExpired(), 0u);  // renewed 2.5 s ago, lease 3 s
  clock.now += 1'000;
  EXPECT_EQ(store.evictExpired(), 1u);
  EXPECT_FALSE(store.instance("A", "short"));
  clock.now += 85'000;
  EXPECT_EQ(store.evictExpired(), 1u);  // 90.5 s without renewal
  EXPECT_EQ(store.size(), 0u);
  // Evictions are deltas too.
  auto delta = store.delta();
  ASSERT_EQ(delta.applications.size(), 1u);
  for (const auto& i : delta.applications[0].instances) {
    EXPECT_EQ(i.action_type, ActionType::kDeleted);
  }
}

TEST(EurekaStore, SelfPreservationWhenOnStopsEvictionAfterMassiveRenewalLoss) {
  FakeClock clock;
  StoreOptions options;
  options.self_preservation = true;
  EurekaStore store(options, clock.fn());
  EurekaInstance i = instance("A", "a", "127.0.0.1");
  i.lease.duration_secs = 3;
  i.lease.renewal_interval_secs = 1;
  store.registerInstance(i);
  clock.now += 120'000;  // nothing renewed in the last minute: expected 60
  EXPECT_EQ(store.evictExpired(), 0u);
  EXPECT_TRUE(store.instance("A", "a"));

  EurekaStore off({}, clock.fn());  // the default: off
  off.registerInstance(i);
  clock.now += 120'000;
  EXPECT_EQ(off.evictExpired(), 1u);
}

TEST(EurekaStore, RenewAnswersNotFoundWhenTheClientMustRegisterAgain) {
  FakeClock clock;
  EurekaStore store({}, clock.fn());
  EXPECT_EQ(store.renew("A", "nobody"), EurekaStore::Outcome::kNotFound);
  store.registerInstance(instance("A", "a", "127.0.0.1"));
  int64_t dirty = store.instance("A", "a")->last_dirty_timestamp;
  EXPECT_EQ(store.renew("A", "a", dirty), EurekaStore::Outcome::kOk);
  EXPECT_EQ(store.renew("A", "a", dirty + 1), EurekaStore::Outcome::kNotFound);
  // Deleting an override without a new status leaves UNKNOWN: the next renew re-registers.
  EXPECT_EQ(store.deleteStatusOverride("A", "a", std::nullopt), EurekaStore::Outcome::kOk);
  EXPECT_EQ(store.instance("A", "a")->status, InstanceStatus::kUnknown);
  EXPECT_EQ(store.renew("A", "a"), EurekaStore::Outcome::kNotFound);
}

TEST(EurekaStore, StatusOverrideWinsUntilDeletedAndSurvivesReRegistration) {
  FakeClock clock;
  EurekaStore store({}, clock.fn());
  store.registerInstance(instance("A", "a", "127.0.0.1"));
  ASSERT_EQ(store.overrideStatus("A", "a", InstanceStatus::kOutOfService),
            EurekaStore::Outcome::kOk);
  EXPECT_EQ(store.instance("A", "a")->status, InstanceStatus::kOutOfService);
  EXPECT_EQ(store.applications().apps_hashcode, "OUT_OF_SERVICE_1_");
  store.registerInstance(instance("A", "a", "127.0.0.1"));  // says UP
  EXPECT_EQ(store.instance("A", "a")->status, InstanceStatus::kOutOfService);
  EXPECT_EQ(store.instance("A", "a")->overridden_status, InstanceStatus::kOutOfService);
  store.deleteStatusOverride("A", "a", InstanceStatus::kUp);
  EXPECT_EQ(store.instance("A", "a")->status, InstanceStatus::kUp);
  EXPECT_EQ(store.overrideStatus("A", "zz", InstanceStatus::kDown),
            EurekaStore::Outcome::kNotFound);
}

TEST(EurekaStore, DeltaHoldsEachChangedInstanceOnceWithinTheRetentionWindow) {
  FakeClock clock;
  StoreOptions options;
  options.delta_retention_ms = 10'000;
  EurekaStore store(options, clock.fn());
  store.registerInstance(instance("A", "a", "127.0.0.1"));
  clock.now += 6'000;
  store.registerInstance(instance("B", "b", "127.0.0.2"));
  store.overrideStatus("B", "b", InstanceStatus::kDown);
  clock.now += 6'000;  // a's registration is now 12 s old
  auto delta = store.delta();
  ASSERT_EQ(delta.applications.size(), 1u);
  EXPECT_EQ(delta.applications[0].name, "B");
  ASSERT_EQ(delta.applications[0].instances.size(), 1u);
  EXPECT_EQ(delta.applications[0].instances[0].action_type, ActionType::kModified);
  EXPECT_EQ(delta.applications[0].instances[0].status, InstanceStatus::kDown);
  EXPECT_EQ(delta.apps_hashcode, "DOWN_1_UP_1_");  // the whole registry's
}

TEST(EurekaStore, VipLookupMatchesAnyEntryOfTheList) {
  EurekaStore store;
  EurekaInstance i = instance("A", "a", "127.0.0.1");
  i.vip_address = "alpha, service-provider";
  store.registerInstance(i);
  EXPECT_EQ(store.byVip("service-provider", false).applications.size(), 1u);
  EXPECT_TRUE(store.byVip("service-provider", true).applications.empty());
}

// ---- the HTTP API over the store ----

http::Request request(std::string method, std::string target, std::string body = "",
                      std::string accept = "application/json") {
  http::Request r;
  r.head.method = std::move(method);
  r.head.target = target;
  r.head.path = std::move(target);
  if (!accept.empty()) r.head.headers.set("Accept", accept);
  r.body = std::move(body);
  return r;
}

constexpr const char* kRegistration = R"({"instance":{"instanceId":"p1","hostName":"127.0.0.11",
  "app":"SERVICE-PROVIDER","ipAddr":"127.0.0.11","status":"UP",
  "port":{"$":8070,"@enabled":"true"},"vipAddress":"service-provider",
  "dataCenterInfo":{"@class":"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
  "name":"MyOwn"},"metadata":{"version":"v1"}}})";

TEST(EurekaApi, RegisterFetchRenewOverrideCancel) {
  EurekaStore store;
  EurekaApi api(store);
  EXPECT_EQ(api.handle(request("POST", "/eureka/apps/SERVICE-PROVIDER", kRegistration)).head.status,
            204);
  auto full = api.handle(request("GET", "/eureka/apps/"));
  ASSERT_EQ(full.head.status, 200);
  EXPECT_EQ(full.head.headers.get("Content-Type"), "application/json");
  auto decoded = decodeApplications(full.body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->apps_hashcode, "UP_1_");
  EXPECT_EQ(decoded->applications.at(0).instances.at(0).metadata.at("version"), "v1");

  EXPECT_EQ(api.handle(request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1?status=UP")).head.status,
            200);
  EXPECT_EQ(api.handle(request("PUT", "/eureka/apps/SERVICE-PROVIDER/nope")).head.status, 404);
  EXPECT_EQ(
      api.handle(request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1/status?value=DOWN")).head.status,
      200);
  EXPECT_EQ(store.instance("SERVICE-PROVIDER", "p1")->status, InstanceStatus::kDown);
  EXPECT_EQ(
      api.handle(request("DELETE", "/eureka/apps/SERVICE-PROVIDER/p1/status?value=UP")).head.status,
      200);
  EXPECT_EQ(store.instance("SERVICE-PROVIDER", "p1")->status, InstanceStatus::kUp);
  EXPECT_EQ(
      api.handle(request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1/metadata?zone=z1")).head.status,
      200);
  EXPECT_EQ(store.instance("SERVICE-PROVIDER", "p1")->metadata.at("zone"), "z1");

  auto one = api.handle(request("GET", "/eureka/apps/service-provider/p1"));
  ASSERT_EQ(one.head.status, 200);
  EXPECT_TRUE(decodeInstance(one.body));
  EXPECT_EQ(api.handle(request("GET", "/eureka/instances/p1")).head.status, 200);
  EXPECT_EQ(api.handle(request("GET", "/eureka/vips/service-provider")).head.status, 200);
  auto delta = api.handle(request("GET", "/eureka/apps/delta"));
  ASSERT_EQ(delta.head.status, 200);
  EXPECT_NE(delta.body.find("\"actionType\":\"MODIFIED\""), std::string::npos) << delta.body;

  EXPECT_EQ(api.handle(request("DELETE", "/eureka/apps/SERVICE-PROVIDER/p1")).head.status, 200);
  EXPECT_EQ(api.handle(request("DELETE", "/eureka/apps/SERVICE-PROVIDER/p1")).head.status, 404);
  EXPECT_EQ(api.handle(request("GET", "/eureka/apps/SERVICE-PROVIDER")).head.status, 404);
}

TEST(EurekaApi, AnswersXmlUnlessJsonIsAcceptedAndServesTheV2Root) {
  EurekaStore store;
  EurekaApi api(store);
  std::string xml_body =
      "<instance><instanceId>x1</instanceId><hostName>h</hostName><app>XMLAPP</app>"
      "<ipAddr>127.0.0.5</ipAddr><status>UP</status><port enabled=\"true\">9000</port>"
      "<dataCenterInfo class=\"com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo\">"
      "<name>MyOwn</name></dataCenterInfo></instance>";
  auto reg = request("POST", "/eureka/v2/apps/XMLAPP", xml_body);
  reg.head.headers.set("Content-Type", "application/xml");
  EXPECT_EQ(api.handle(reg).head.status, 204);
  for (const char* accept : {"", "application/xml", "*/*"}) {
    auto r = api.handle(request("GET", "/eureka/apps", "", accept));
    ASSERT_EQ(r.head.status, 200);
    EXPECT_EQ(r.head.headers.get("Content-Type"), "application/xml") << accept;
    EXPECT_TRUE(r.body.starts_with("<applications>")) << r.body;
    auto decoded = decodeApplications(r.body);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(decoded->applications.at(0).instances.at(0).port, 9000);
  }
  auto json = api.handle(request("GET", "/eureka/v2/apps/", "", "application/json, text/plain"));
  EXPECT_TRUE(json.body.starts_with("{\"applications\"")) << json.body;
}

TEST(EurekaApi, MalformedRequestsGet400WithAMessageAndChangeNothing) {
  EurekaStore store;
  EurekaApi api(store);
  ASSERT_EQ(api.handle(request("POST", "/eureka/apps/SERVICE-PROVIDER", kRegistration)).head.status,
            204);
  uint64_t version = store.version();
  struct Case {
    http::Request req;
    const char* expect;
  };
  std::string no_dc = kRegistration;
  no_dc.replace(no_dc.find("\"dataCenterInfo\""), 16, "\"somethingElse\"");
  std::vector<Case> cases;
  cases.push_back(
      {request("POST", "/eureka/apps/SERVICE-PROVIDER", "{not json"), "malformed JSON"});
  cases.push_back(
      {request("POST", "/eureka/apps/SERVICE-PROVIDER", "<instance><app>"), "malformed XML"});
  cases.push_back({request("POST", "/eureka/apps/OTHER", kRegistration), "Mismatched appName"});
  cases.push_back({request("POST", "/eureka/apps/SERVICE-PROVIDER", no_dc), "dataCenterInfo"});
  cases.push_back({request("POST", "/eureka/apps/SERVICE-PROVIDER",
                           R"({"instance":{"instanceId":"i","app":"SERVICE-PROVIDER"}})"),
                   "Missing hostname"});
  cases.push_back({request("POST", "/eureka/apps/SERVICE-PROVIDER",
                           R"({"instance":{"instanceId":"i","hostName":"h","ipAddr":"1.1.1.1",
                             "app":"SERVICE-PROVIDER","port":"http"}})"),
                   "'port'"});
  cases.push_back(
      {request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1/status?value=ASLEEP"), "ASLEEP"});
  cases.push_back({request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1/status"), "?value="});
  cases.push_back({request("PUT", "/eureka/apps/SERVICE-PROVIDER/p1?lastDirtyTimestamp=yesterday"),
                   "lastDirtyTimestamp"});
  for (auto& c : cases) {
    auto r = api.handle(c.req);
    EXPECT_EQ(r.head.status, 400) << c.req.head.target << " " << r.body;
    EXPECT_NE(r.body.find(c.expect), std::string::npos) << r.body;
  }
  EXPECT_EQ(store.version(), version);
  EXPECT_EQ(store.instance("SERVICE-PROVIDER", "p1")->status, InstanceStatus::kUp);
  EXPECT_EQ(api.handle(request("GET", "/nacos/v1/ns/instance/list")).head.status, 404);
}

}  // namespace
}  // namespace sluice::registry::eureka
