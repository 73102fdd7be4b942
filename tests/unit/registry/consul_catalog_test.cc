#include <gtest/gtest.h>

#include "registry/consul/catalog.h"

namespace sluice::registry::consul {
namespace {

struct FakeClock {
  int64_t now = 1'000'000;
};

TEST(ConsulDuration, ParsesGoDurations) {
  EXPECT_EQ(parseGoDurationMs("10s"), 10'000);
  EXPECT_EQ(parseGoDurationMs("1m30s"), 90'000);
  EXPECT_EQ(parseGoDurationMs("250ms"), 250);
  EXPECT_EQ(parseGoDurationMs("1.5s"), 1500);
  EXPECT_EQ(parseGoDurationMs("2000000000"), 2000);  // nanoseconds
  EXPECT_FALSE(parseGoDurationMs("10 parsecs"));
  // Longer than Go's int64 nanoseconds (~292 years): invalid, as in Go (found by fuzz target
  // consul_json, regress-duration-beyond-int64).
  EXPECT_FALSE(parseGoDurationMs("203764077743343341m30s"));
  EXPECT_EQ(parseGoDurationMs("2562047h"), 2562047LL * 3600 * 1000);
  EXPECT_FALSE(parseGoDurationMs(""));
}

TEST(ConsulCatalog, RegistersWithTtlCheckThatStartsCriticalAndPasses) {
  FakeClock clock;
  ConsulCatalog cat([&] { return clock.now; });
  uint64_t before = cat.index();
  ASSERT_TRUE(cat.registerService(
      R"({"ID":"p-1","Name":"prov","Address":"10.0.0.1","Port":8070,"Tags":["a=b"],
          "Meta":{"version":"v1"},"Check":{"TTL":"30s"}})"));
  EXPECT_GT(cat.index(), before);
  EXPECT_EQ(cat.catalogIndex(), cat.index());
  const ConsulService& s = cat.services().at("p-1");
  EXPECT_EQ(s.name, "prov");
  EXPECT_EQ(s.port, 8070);
  EXPECT_EQ(s.meta.at("version"), "v1");
  ASSERT_EQ(s.checks.size(), 1u);
  EXPECT_EQ(s.checks[0].id, "service:p-1");
  EXPECT_EQ(s.checks[0].status, "critical");
  uint64_t catalog_index = cat.catalogIndex();
  EXPECT_TRUE(cat.updateCheck("service:p-1", "passing", ""));
  EXPECT_EQ(cat.services().at("p-1").checks[0].status, "passing");
  EXPECT_EQ(cat.catalogIndex(), catalog_index) << "health changes leave the service set alone";
  EXPECT_EQ(cat.serviceIndex("prov"), cat.index());
  // A heartbeat that changes nothing bumps nothing (blocking queries stay asleep).
  uint64_t idx = cat.index();
  EXPECT_TRUE(cat.updateCheck("service:p-1", "passing", ""));
  EXPECT_EQ(cat.index(), idx);
  EXPECT_FALSE(cat.updateCheck("service:nope", "passing", ""));
}

TEST(ConsulCatalog, FieldNamesAreCaseInsensitiveLikeGo) {
  ConsulCatalog cat;
  ASSERT_TRUE(cat.registerService(R"({"name":"svc","id":"s1","port":1,"check":{"ttl":"5s"}})"));
  EXPECT_EQ(cat.services().at("s1").checks[0].ttl_ms, 5000);
}

TEST(ConsulCatalog, TtlExpiresToCriticalAndCriticalServicesAreDeregistered) {
  FakeClock clock;
  ConsulCatalog cat([&] { return clock.now; });
  ASSERT_TRUE(cat.registerService(
      R"({"ID":"a","Name":"svc","Port":1,"Check":{"TTL":"1s","DeregisterCriticalServiceAfter":"2s"}})"));
  ASSERT_TRUE(cat.updateCheck("service:a", "passing", ""));
  clock.now += 500;
  EXPECT_FALSE(cat.tick());
  clock.now += 600;
  EXPECT_TRUE(cat.tick());
  EXPECT_EQ(cat.services().at("a").checks[0].status, "critical");
  EXPECT_EQ(cat.services().at("a").checks[0].output, "TTL expired");
  clock.now += 1900;
  EXPECT_FALSE(cat.tick());
  clock.now += 200;
  EXPECT_TRUE(cat.tick());
  EXPECT_TRUE(cat.services().empty());
}

TEST(ConsulCatalog, MultipleChecksGetNumberedIdsAndHttpTcpNeedAnInterval) {
  ConsulCatalog cat;
  ASSERT_TRUE(cat.registerService(
      R"({"ID":"a","Name":"svc","Port":1,"Checks":[{"HTTP":"http://127.0.0.1:1/h","Interval":"10s"},
          {"TCP":"127.0.0.1:1","Interval":"5s","Status":"passing"}]})"));
  const auto& checks = cat.services().at("a").checks;
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].id, "service:a:1");
  EXPECT_EQ(checks[0].kind, CheckKind::kHttp);
  EXPECT_EQ(checks[1].id, "service:a:2");
  EXPECT_EQ(checks[1].status, "passing");
}

TEST(ConsulCatalog, MalformedRegistrationsAreRejectedWithConsulMessagesAndChangeNothing) {
  ConsulCatalog cat;
  ASSERT_TRUE(cat.registerService(R"({"ID":"keep","Name":"svc","Port":1})"));
  uint64_t index = cat.index();
  struct Case {
    const char* body;
    const char* message;
  } cases[] = {
      {"{not json", "Request decode failed"},
      {R"({"ID":"x"})", "Missing service name"},
      {R"({"Name":"x","Port":"80"})", "Request decode failed"},
      {R"({"Name":"x","Port":70000})", "Request decode failed"},
      {R"({"Name":"x","Tags":"a"})", "Request decode failed"},
      {R"({"Name":"x","Meta":{"k":1}})", "Invalid Service Meta"},
      {R"({"Name":"x","Check":{"HTTP":"http://h/"}})", "Interval must be > 0"},
      {R"({"Name":"x","Check":{"TTL":"soon"}})", "invalid duration"},
      {R"({"Name":"x","Check":{}})", "TTL must be > 0"},
      {R"({"Name":"x","Check":{"TTL":"1s","HTTP":"http://h/","Interval":"1s"}})", "only one of"},
      {R"({"ID":"keep","Name":"svc","Check":{"Args":["/bin/true"],"Interval":"1s"}})",
       "not supported"},
  };
  for (const auto& c : cases) {
    auto st = cat.registerService(c.body);
    ASSERT_FALSE(st) << c.body;
    EXPECT_NE(st.error().message.find(c.message), std::string::npos)
        << c.body << " -> " << st.error().message;
  }
  EXPECT_EQ(cat.index(), index);
  EXPECT_EQ(cat.services().size(), 1u);
  EXPECT_TRUE(cat.services().at("keep").checks.empty());
}

TEST(ConsulCatalog, MaintenanceAndDeregisterBumpTheServiceIndex) {
  ConsulCatalog cat;
  ASSERT_TRUE(cat.registerService(R"({"ID":"a","Name":"svc","Port":1})"));
  uint64_t i = cat.serviceIndex("svc");
  EXPECT_TRUE(cat.setMaintenance("a", true, "upgrade"));
  EXPECT_GT(cat.serviceIndex("svc"), i);
  EXPECT_TRUE(cat.services().at("a").maintenance);
  EXPECT_FALSE(cat.setMaintenance("nope", true, ""));
  i = cat.serviceIndex("svc");
  EXPECT_TRUE(cat.deregisterService("a"));
  EXPECT_GT(cat.serviceIndex("svc"), i);
  EXPECT_FALSE(cat.deregisterService("a"));
}

TEST(ConsulCatalog, SnapshotRoundTrips) {
  ConsulCatalog cat;
  ASSERT_TRUE(cat.registerService(
      R"({"ID":"a","Name":"svc","Address":"10.0.0.1","Port":80,"Tags":["t"],"Meta":{"k":"v"},
          "Check":{"TTL":"5s"}})"));
  ASSERT_TRUE(cat.updateCheck("service:a", "passing", "ok"));
  ConsulCatalog copy;
  ASSERT_TRUE(copy.load(cat.snapshot()));
  EXPECT_EQ(copy.index(), cat.index());
  EXPECT_EQ(copy.serviceIndex("svc"), cat.serviceIndex("svc"));
  const auto& s = copy.services().at("a");
  EXPECT_EQ(s.address, "10.0.0.1");
  EXPECT_EQ(s.meta.at("k"), "v");
  EXPECT_EQ(s.checks.at(0).status, "passing");
  EXPECT_FALSE(copy.load("{\"services\":5}"));
  EXPECT_EQ(copy.services().size(), 1u) << "a bad snapshot changes nothing";
}

}  // namespace
}  // namespace sluice::registry::consul
