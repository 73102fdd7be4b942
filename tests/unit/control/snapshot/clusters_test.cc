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

TEST(Snapshot, UpstreamHttp2FollowsIstioProtocolSelectionAndH2UpgradePolicy) {
  auto snap = build(R"(
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: grpc-by-protocol}
spec:
  hosts: [a.mesh.local]
  ports:
  - {number: 1, name: whatever, protocol: GRPC}
  - {number: 2, name: web, protocol: HTTP}
  - {number: 3, name: grpc-api}
  - {number: 4, name: http2}
  - {number: 5, name: grpcx}
  - {number: 6, name: grpc-web, protocol: GRPC-WEB}
  resolution: STATIC
  endpoints:
  - address: 10.0.0.1
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: a}
spec:
  host: a.mesh.local
  subsets:
  - name: up
    labels: {tier: up}
    trafficPolicy:
      connectionPool:
        http: {h2UpgradePolicy: UPGRADE}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: a}
spec:
  hosts: [a.mesh.local]
  http:
  - match: [{port: 1}]
    route: [{destination: {host: a.mesh.local, port: {number: 1}}}]
  - match: [{port: 2}]
    route: [{destination: {host: a.mesh.local, port: {number: 2}}}]
  - match: [{port: 3}]
    route: [{destination: {host: a.mesh.local, port: {number: 3}}}]
  - match: [{port: 4}]
    route: [{destination: {host: a.mesh.local, port: {number: 4}}}]
  - match: [{port: 5}]
    route: [{destination: {host: a.mesh.local, port: {number: 5}}}]
  - match: [{port: 6}]
    route: [{destination: {host: a.mesh.local, port: {number: 6}}}]
  - match: [{port: 7}]
    route: [{destination: {host: a.mesh.local, subset: up, port: {number: 2}}}]
)");
  auto http2 = [&](const std::string& name) {
    auto it = snap->cluster_by_name.find(name);
    EXPECT_NE(it, snap->cluster_by_name.end()) << name;
    return it != snap->cluster_by_name.end() && snap->clusters[it->second].pool.http2;
  };
  EXPECT_TRUE(http2("outbound|1||a.mesh.local")) << "protocol GRPC";
  EXPECT_FALSE(http2("outbound|2||a.mesh.local")) << "protocol HTTP";
  EXPECT_TRUE(http2("outbound|3||a.mesh.local")) << "name grpc-*";
  EXPECT_TRUE(http2("outbound|4||a.mesh.local")) << "name http2";
  EXPECT_FALSE(http2("outbound|5||a.mesh.local")) << "grpcx is not a grpc prefix";
  EXPECT_FALSE(http2("outbound|6||a.mesh.local")) << "GRPC-WEB goes upstream as HTTP/1.1";
  EXPECT_TRUE(http2("outbound|2|up|a.mesh.local")) << "h2UpgradePolicy UPGRADE";
}

}  // namespace
}  // namespace sluice::control
