// Snapshot assembly: interception rules (method 1 reverse DNS, method 2 registry interception).
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, ReverseDnsHonoursPodCidrAndPortNumber) {
  auto snap = build(readSeed("any-spring-cloud-support.yaml"));
  ASSERT_FALSE(snap->reverse_dns_rules.empty());
  const MeshService* s = snap->findByAddress("10.0.128.11", 8070);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "service-provider");
  EXPECT_EQ(snap->findByAddress("10.0.128.11", 9999), nullptr) << "portNumber is 8070";
  EXPECT_EQ(snap->findByAddress("10.0.128.13", 8070), nullptr) << "consumer listens on 8080";
  auto none = build("");
  EXPECT_EQ(none->findByAddress("10.0.128.11", 8070), nullptr) << "no EnvoyFilter: disabled";
}

TEST(Snapshot, ReverseDnsOutsidePodCidrIsIgnored) {
  std::string ef = readSeed("any-spring-cloud-support.yaml");
  auto pos = ef.find("10.0.128.0/18");
  ASSERT_NE(pos, std::string::npos);
  ef.replace(pos, 13, "192.168.0.0/16");
  auto snap = build(ef);
  EXPECT_EQ(snap->findByAddress("10.0.128.11", 8070), nullptr);
}

TEST(Snapshot, NacosSubscribeFilterGetsTheNacosPluginsRewriter) {
  auto snap = build(readSeed("external-envoyfilter.yaml"), /*expect_clean=*/false);
  ASSERT_EQ(snap->interception_rules.size(), 1u);
  const auto& rule = snap->interception_rules.front();
  ASSERT_NE(rule.rewriter, nullptr);
  EXPECT_EQ(rule.rewriter->registry(), "nacos");
  ASSERT_TRUE(rule.port.has_value());
  EXPECT_EQ(snap->interceptionFor(*rule.port), &rule);
  EXPECT_EQ(snap->toJson()["nacos_rewrite"][0]["registry"], "nacos");
  EXPECT_TRUE(build("")->interception_rules.empty()) << "no EnvoyFilter: method 2 disabled";
}

}  // namespace
}  // namespace sluice::control
