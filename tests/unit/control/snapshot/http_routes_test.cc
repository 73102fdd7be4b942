// Snapshot assembly: the mesh HTTP route table (the seed before/after its rules, sourceLabels).
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, SeedBeforeRulesRoundRobinsV1AndV2) {
  auto snap = build(readSeed("any-spring-cloud-support.yaml") + "\n---\n" +
                    readSeed("test-gateway.yaml") + "\n---\n" + readSeed("consumer.yaml"));
  EXPECT_EQ(snap->version, 7u);
  auto picks = pickEndpoints(*snap, "service-provider:8070", "/echo/world", 4);
  EXPECT_EQ(picks, (std::vector<std::string>{"v1", "v2", "v1", "v2"}));
}

TEST(Snapshot, SeedAfterRulesHelloGoesToV1EverythingElseToV2) {
  auto snap =
      build(readSeed("any-spring-cloud-support.yaml") + "\n---\n" +
            readSeed("service-provider.yaml") + "\n---\n" + readSeed("service-provider-vs.yaml"));
  for (const auto& p : pickEndpoints(*snap, "service-provider", "/echo/hello", 6)) {
    EXPECT_EQ(p, "v1");
  }
  for (const auto& p :
       pickEndpoints(*snap, "service-provider.default.svc.cluster.local:8070", "/echo/world", 6)) {
    EXPECT_EQ(p, "v2");
  }
}

TEST(Snapshot, SourceLabelsAndNamespaceSelectThisProxysOwnWorkload) {
  const std::string yaml = readSeed("service-provider.yaml") + "\n---\n" + R"(
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: service-provider, namespace: default}
spec:
  hosts: [service-provider]
  http:
  - name: canary-consumers
    match:
    - sourceLabels: {track: canary}
    route:
    - destination: {host: service-provider, subset: v2}
  - name: other-namespace
    match:
    - sourceNamespace: staging
    route:
    - destination: {host: service-provider, subset: v2}
  - name: default
    route:
    - destination: {host: service-provider, subset: v1}
)";
  auto routeFor = [&](std::map<std::string, std::string> labels, std::string ns) {
    SnapshotInputs in;
    in.config = config::loadString(yaml, "test.yaml");
    for (const auto& d : in.config.diagnostics) ADD_FAILURE() << d.format();
    in.registry_services = {provider(), consumer()};
    in.workload_labels = std::move(labels);
    in.workload_namespace = std::move(ns);
    auto snap = buildSnapshot(in);
    EXPECT_TRUE(snap->unenforced.empty()) << snap->unenforced.front();
    return pickEndpoints(*snap, "service-provider", "/echo/x", 2);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(routeFor({{"app", "consumer"}, {"track", "canary"}}, ""), (V{"v2", "v2"}));
  EXPECT_EQ(routeFor({{"app", "consumer"}}, ""), (V{"v1", "v1"}));
  EXPECT_EQ(routeFor({}, ""), (V{"v1", "v1"}));
  EXPECT_EQ(routeFor({}, "staging"), (V{"v2", "v2"}));
}

}  // namespace
}  // namespace sluice::control
