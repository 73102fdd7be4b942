// Snapshot assembly: clusters and subsets.
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, UndefinedSubsetIs503NamingHostAndSubset) {
  auto snap = build(readSeed("service-provider-vs.yaml"), false);  // VS without its DestinationRule
  auto picks = pickEndpoints(*snap, "service-provider", "/echo/hello", 1);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_NE(picks[0].find("503:"), std::string::npos);
  EXPECT_NE(picks[0].find("subset 'v1'"), std::string::npos) << picks[0];
  EXPECT_FALSE(snap->diagnostics.empty());
}

TEST(Snapshot, DestinationRulePoliciesSubsetOverridesTopLevel) {
  auto snap = build(R"(
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: sp
spec:
  host: service-provider
  trafficPolicy:
    loadBalancer:
      simple: RANDOM
    connectionPool:
      tcp:
        maxConnections: 7
    outlierDetection:
      consecutive5xxErrors: 3
      baseEjectionTime: 10s
  subsets:
  - name: v1
    labels:
      label: v1
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpHeaderName: x-user
  - name: v2
    labels:
      label: v2
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - match:
    - headers:
        x-canary: {}
    route:
    - destination: {host: service-provider, subset: v1}
      weight: 80
    - destination: {host: service-provider, subset: v2}
      weight: 20
  - route:
    - destination: {host: service-provider, subset: v2}
)");
  auto find = [&](const std::string& name) -> const Cluster& {
    return snap->clusters.at(snap->cluster_by_name.at(name));
  };
  const Cluster& v1 = find("outbound||v1|service-provider.default.svc.cluster.local");
  EXPECT_EQ(v1.lb.policy, LbPolicy::kRingHash);
  EXPECT_EQ(v1.lb.hash_key.name, "x-user");
  EXPECT_EQ(v1.pool.max_connections, 7u) << "connectionPool not set on the subset: inherited";
  EXPECT_TRUE(v1.outlier.enabled);
  EXPECT_EQ(v1.outlier.consecutive_5xx, 3u);
  ASSERT_EQ(v1.endpoints.size(), 1u);
  EXPECT_EQ(v1.endpoints[0].ip, "10.0.128.11");
  const Cluster& v2 = find("outbound||v2|service-provider.default.svc.cluster.local");
  EXPECT_EQ(v2.lb.policy, LbPolicy::kRandom);
  const Cluster& all = find("outbound|||service-provider.default.svc.cluster.local");
  EXPECT_EQ(all.endpoints.size(), 2u);

  const VirtualHost* vh = snap->mesh_routes.findVirtualHost("service-provider");
  ASSERT_NE(vh, nullptr);
  ASSERT_EQ(vh->routes.size(), 2u);
  EXPECT_EQ(vh->routes[0].total_weight, 100u);
  EXPECT_EQ(vh->routes[0].retry.num_retries, 2u) << "Istio default retry policy";
  auto j = snap->toJson();
  EXPECT_EQ(j["version"], 7);
  EXPECT_TRUE(j.contains("mesh_routes"));
}

}  // namespace
}  // namespace sluice::control
