// Snapshot assembly: VirtualService tcp routes.
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, TcpRoutesCompileForTheServiceAndGatewayOnlyOnesAreReported) {
  auto snap = build(R"(
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: provider, namespace: default}
spec:
  host: service-provider
  subsets:
  - {name: v1, labels: {label: v1}}
  - {name: v2, labels: {label: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: provider-tcp, namespace: default}
spec:
  hosts: [service-provider]
  tcp:
  - match: [{port: 9000, destinationSubnets: [240.240.0.0/16]}]
    route:
    - {destination: {host: service-provider, subset: v1}, weight: 30}
    - {destination: {host: service-provider, subset: v2}, weight: 70}
  - route:
    - destination: {host: service-provider, subset: v3}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge-tcp, namespace: default}
spec:
  hosts: [consumer]
  gateways: [edge]
  tcp:
  - route:
    - destination: {host: consumer}
)",
                    false);
  const MeshService* svc = snap->findService("service-provider");
  ASSERT_NE(svc, nullptr);
  ASSERT_EQ(svc->tcp_routes.size(), 2u);
  const TcpRoute& first = svc->tcp_routes[0];
  EXPECT_EQ(first.total_weight, 100u);
  auto vip = *net::IpAddress::parse("240.240.1.2");
  auto other = *net::IpAddress::parse("10.0.0.1");
  EXPECT_TRUE(first.applies(vip, 9000));
  EXPECT_FALSE(first.applies(vip, 9001));
  EXPECT_FALSE(first.applies(other, 9000));
  EXPECT_EQ(first.pick(29)->subset, "v1");
  EXPECT_EQ(first.pick(30)->subset, "v2");
  ASSERT_GE(first.destinations[1].cluster, 0);
  EXPECT_EQ(snap->clusters[first.destinations[1].cluster].endpoints.at(0).labels.at("label"), "v2");
  // The catch-all names a subset no DestinationRule defines: kept, with the reason.
  const TcpRoute& second = svc->tcp_routes[1];
  EXPECT_TRUE(second.applies(other, 1));
  EXPECT_EQ(second.destinations.at(0).weight, 100u);
  EXPECT_LT(second.destinations.at(0).cluster, 0);
  EXPECT_NE(second.destinations.at(0).missing.find("v3"), std::string::npos);
  // Bound only to a gateway: not applied, and said so.
  EXPECT_TRUE(snap->findService("consumer")->tcp_routes.empty());
  bool reported = false;
  for (const auto& d : snap->diagnostics) {
    reported = reported ||
               d.find("edge-tcp: tcp routes are only enforced by sidecars") != std::string::npos;
  }
  EXPECT_TRUE(reported);
}

}  // namespace
}  // namespace sluice::control
