#include "config/unenforced.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

using testing::dump;
using testing::find;

TEST(UnenforcedTest, TableLookup) {
  EXPECT_NE(findUnenforced("VirtualService.spec.http.delegate"), nullptr);
  EXPECT_EQ(findUnenforced("VirtualService.spec.http.match.sourceLabels"), nullptr);   // enforced
  EXPECT_EQ(findUnenforced("VirtualService.spec.http.mirror"), nullptr);               // enforced
  EXPECT_EQ(findUnenforced("VirtualService.spec.http.corsPolicy"), nullptr);           // enforced
  EXPECT_NE(findUnenforced("ServiceEntry.spec.resolution=dns_round_robin"), nullptr);  // any case
  EXPECT_EQ(findUnenforced("ServiceEntry.spec.resolution=DNS"), nullptr);              // enforced
  EXPECT_EQ(findUnenforced("ServiceEntry.spec.resolution=STATIC"), nullptr);
  EXPECT_EQ(findUnenforced("VirtualService.spec.http.timeout"), nullptr);
  EXPECT_EQ(findUnenforced("VirtualService.spec.http.route"), nullptr);
  for (const auto& entry : unenforcedFields()) {
    EXPECT_FALSE(entry.reason.empty()) << entry.path;
    EXPECT_EQ(findUnenforced(entry.path), &entry);
  }
}

TEST(UnenforcedTest, UseOfAListedFieldWarnsWithPathAndPosition) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [svc]
  http:
  - route:
    - destination: {host: svc}
    timeout: 2s
    mirror:
      host: shadow
    corsPolicy:
      allowOrigins:
      - exact: https://example.com
  tls:
  - match:
    - sniHosts: [svc]
    route:
    - destination: {host: svc}
  tcp:
  - route:
    - destination: {host: svc}
)";
  ConfigSet set = loadString(yaml, "vs.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  auto tls = find(set, Severity::kWarning, "parsed but not enforced: spec.tls");
  ASSERT_EQ(tls.size(), 1u) << dump(set);
  EXPECT_EQ(tls[0]->pos.line, 15);
  EXPECT_EQ(tls[0]->field_path, "spec.tls");
  EXPECT_TRUE(find(set, Severity::kWarning, "spec.tcp").empty());    // enforced (sidecars)
  EXPECT_TRUE(find(set, Severity::kWarning, "timeout").empty());     // enforced
  EXPECT_TRUE(find(set, Severity::kWarning, "mirror").empty());      // enforced
  EXPECT_TRUE(find(set, Severity::kWarning, "corsPolicy").empty());  // enforced
}

TEST(UnenforcedTest, ConnectionPoolFieldsTheProxyDoesNotApplyWarnByName) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: dr}
spec:
  host: svc
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 10, tcpKeepalive: {time: 7200s}}
      http: {http1MaxPendingRequests: 5, http2MaxRequests: 100, maxRetries: 3}
  subsets:
  - name: v1
    labels: {version: v1}
    trafficPolicy:
      connectionPool:
        http: {maxConcurrentStreams: 10, useClientProtocol: true}
)";
  ConfigSet set = loadString(yaml, "dr.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  for (const char* field : {"connectionPool.tcp.tcpKeepalive", "connectionPool.http.maxRetries",
                            "subsets[0].trafficPolicy.connectionPool.http.useClientProtocol"}) {
    EXPECT_EQ(find(set, Severity::kWarning, field).size(), 1u) << field << "\n" << dump(set);
  }
  EXPECT_TRUE(find(set, Severity::kWarning, "maxConnections").empty());           // enforced
  EXPECT_TRUE(find(set, Severity::kWarning, "http1MaxPendingRequests").empty());  // enforced
  EXPECT_TRUE(find(set, Severity::kWarning, "http2MaxRequests").empty());         // enforced
  EXPECT_TRUE(find(set, Severity::kWarning, "maxConcurrentStreams").empty());     // enforced
}

TEST(UnenforcedTest, NestedFieldsOfAListedParentAreNotRepeated) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default}
spec:
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
  egress:
  - hosts: ["./*"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)";
  ConfigSet set = loadString(yaml, "sc.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  // egress.hosts is enforced; ingress warns once (not per nested field), REGISTRY_ONLY once.
  EXPECT_EQ(set.warningCount(), 2u) << dump(set);
  EXPECT_EQ(find(set, Severity::kWarning, "spec.ingress").size(), 1u) << dump(set);
  EXPECT_EQ(find(set, Severity::kWarning, "REGISTRY_ONLY").size(), 1u) << dump(set);
  ASSERT_EQ(set.sidecars.size(), 1u);
  EXPECT_EQ(set.sidecars[0].outbound_traffic_policy_mode, "REGISTRY_ONLY");
}

TEST(UnenforcedTest, EnumValueEntries) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se}
spec:
  hosts: [a.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: se2}
spec:
  hosts: [b.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS_ROUND_ROBIN
)";
  ConfigSet set = loadString(yaml, "se.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  auto w = find(set, Severity::kWarning, "parsed but not enforced");
  ASSERT_EQ(w.size(), 1u) << dump(set);
  EXPECT_EQ(w[0]->name, "se2");
}

}  // namespace
}  // namespace sluice::config
