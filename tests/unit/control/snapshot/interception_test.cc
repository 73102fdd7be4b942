// Snapshot assembly: interception rules (method 1 reverse DNS, method 2 registry interception).
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <tuple>

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
  EXPECT_EQ(snap->toJson()["registry_interception"][0]["registry"], "nacos");
  EXPECT_TRUE(build("")->interception_rules.empty()) << "no EnvoyFilter: method 2 disabled";
}

std::string readExample(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/examples/registry-interception/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Snapshot, EurekaAndConsulFiltersGetTheirPluginsRewriters) {
  for (auto [file, registry, port] : {std::tuple{"eureka-subscribe-lua.yaml", "eureka", 8761},
                                      std::tuple{"consul-subscribe-lua.yaml", "consul", 8500}}) {
    auto snap = build(readExample(file));
    ASSERT_EQ(snap->interception_rules.size(), 1u) << file;
    const auto* rule = snap->interceptionFor(port);
    ASSERT_NE(rule, nullptr) << file;
    ASSERT_NE(rule->rewriter, nullptr);
    EXPECT_EQ(rule->rewriter->registry(), registry);
    EXPECT_EQ(snap->toJson()["registry_interception"][0]["registry"], registry);
  }
}

TEST(Snapshot, ZooKeeperInterceptionIsAStreamRuleOnItsPort) {
  auto snap = build(readExample("external-zookeeper-svc.yaml") + "\n---\n" +
                    readExample("zookeeper-interception.yaml"));
  ASSERT_EQ(snap->interception_rules.size(), 1u);
  const auto* rule = snap->streamInterceptionFor(2181);
  ASSERT_NE(rule, nullptr);
  ASSERT_NE(rule->stream, nullptr);
  EXPECT_EQ(rule->rewriter, nullptr);
  EXPECT_EQ(rule->stream->registry(), "zookeeper");
  EXPECT_EQ(rule->filter_name, "istio-system/zookeeper-interception");
  // Connections are intercepted, not HTTP requests; other ports are not.
  EXPECT_EQ(snap->interceptionFor(2181), nullptr);
  EXPECT_EQ(snap->streamInterceptionFor(2182), nullptr);
  auto dumped = snap->toJson()["registry_interception"][0];
  EXPECT_EQ(dumped["registry"], "zookeeper");
  EXPECT_EQ(dumped["protocol"], "tcp");
  EXPECT_EQ(dumped["port"], 2181);
}

// Sluice's own interception filter (an HTTP_FILTER patch) named `name` on `port`, with
// `value_lines` (YAML, one key per line) as its typed_config.value.
std::string nativeInterception(const std::string& name, int port, const std::string& value_lines) {
  std::string value;
  for (size_t at = 0; at < value_lines.size();) {
    size_t end = std::min(value_lines.find('\n', at), value_lines.size());
    value += "            " + value_lines.substr(at, end - at) + "\n";
    at = end + 1;
  }
  return "apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata:\n  name: " + name +
         "\n  namespace: istio-system\nspec:\n  configPatches:\n  - applyTo: HTTP_FILTER\n"
         "    match:\n      listener:\n        portNumber: " +
         std::to_string(port) +
         "\n    patch:\n      operation: INSERT_BEFORE\n      value:\n        name: "
         "sluice.registry_interception\n        typed_config:\n          value:\n" +
         value;
}

// The ZooKeeper example with `root: ROOT` added to its filter's value.
std::string zooKeeperInterceptionWithRoot(const std::string& root) {
  std::string zk = readExample("zookeeper-interception.yaml");
  const std::string key = "            registry: zookeeper\n";
  auto pos = zk.find(key);
  EXPECT_NE(pos, std::string::npos);
  if (pos != std::string::npos) zk.insert(pos + key.size(), "            root: " + root + "\n");
  return zk;
}

TEST(Snapshot, ZooKeeperInterceptionRootOptionIsAppliedAndShown) {
  auto snap = build(zooKeeperInterceptionWithRoot("/mesh/services"));
  const auto* rule = snap->streamInterceptionFor(2181);
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->stream->options().at("root"), "/mesh/services");
  EXPECT_EQ(snap->toJson()["registry_interception"][0]["options"]["root"], "/mesh/services");
  // Without the option: Curator's default.
  auto plain = build(readExample("zookeeper-interception.yaml"));
  EXPECT_EQ(plain->toJson()["registry_interception"][0]["options"]["root"], "/services");
}

TEST(Snapshot, ABadInterceptionOptionIsADiagnosticAndTheRuleIsNotApplied) {
  auto snap = build(zooKeeperInterceptionWithRoot("services"), /*expect_clean=*/false);
  EXPECT_EQ(snap->streamInterceptionFor(2181), nullptr);
  ASSERT_EQ(snap->diagnostics.size(), 1u);
  EXPECT_NE(snap->diagnostics[0].find("spec.configPatches[0].patch.value.typed_config.value: "
                                      "root 'services' is not an absolute znode path"),
            std::string::npos)
      << snap->diagnostics[0];
  EXPECT_NE(snap->diagnostics[0].find("method 2 is not applied"), std::string::npos);
}

TEST(Snapshot, AnOptionForAnHttpRegistryInterceptionIsReportedUnenforced) {
  const std::string yaml =
      nativeInterception("eureka-interception", 8761, "registry: eureka\nroot: /x");
  auto snap = build(yaml, /*expect_clean=*/false);
  ASSERT_NE(snap->interceptionFor(8761), nullptr) << "the interception itself applies";
  bool named = false;
  for (const auto& u : snap->unenforced) {
    named = named || u.find("typed_config.value.root (the eureka interception takes no options)") !=
                         std::string::npos;
  }
  EXPECT_TRUE(named) << snap->toJson()["unenforced"].dump();
}

TEST(Snapshot, StreamAndHttpRulesDoNotShadowEachOther) {
  // A ZooKeeper rule on every port next to Eureka's on 8761: requests to 8761 keep Eureka's
  // rewriter, TCP connections anywhere get ZooKeeper's.
  std::string zk = readExample("zookeeper-interception.yaml");
  auto pos = zk.find("        portNumber: 2181\n");
  ASSERT_NE(pos, std::string::npos);
  zk.erase(pos, std::string("        portNumber: 2181\n").size());
  auto snap = build(zk + "\n---\n" + readExample("eureka-subscribe-lua.yaml"));
  ASSERT_EQ(snap->interception_rules.size(), 2u);
  ASSERT_NE(snap->interceptionFor(8761), nullptr);
  EXPECT_EQ(snap->interceptionFor(8761)->registry(), "eureka");
  ASSERT_NE(snap->streamInterceptionFor(2181), nullptr);
  EXPECT_EQ(snap->streamInterceptionFor(2181)->registry(), "zookeeper");
  EXPECT_EQ(snap->interceptionFor(2181), nullptr);
}

TEST(Snapshot, AnInterceptionForARegistryWithoutRewriterIsADiagnosticNamingTheField) {
  const std::string yaml = nativeInterception("zk-interception", 2181, "registry: etcd");
  auto snap = build(yaml);
  EXPECT_TRUE(snap->interception_rules.empty());
  ASSERT_EQ(snap->diagnostics.size(), 1u);
  const std::string& d = snap->diagnostics[0];
  EXPECT_NE(d.find("spec.configPatches[0].patch.value.typed_config.value.registry: unknown "
                   "registry 'etcd' has no interception rewriter"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("nacos, eureka"), std::string::npos) << d;
  EXPECT_NE(d.find("zookeeper"), std::string::npos) << d;
}

}  // namespace
}  // namespace sluice::control
