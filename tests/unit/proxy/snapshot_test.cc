#include "proxy/snapshot.h"

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "config/loader.h"
#include "proxy/load_balancer.h"

namespace sluice::proxy {
namespace {

std::string readSeed(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/examples/seed/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

registry::Service provider() {
  registry::Service s;
  s.name = "service-provider";
  s.group = "DEFAULT_GROUP";
  registry::Instance v1;
  v1.ip = "10.0.128.11";
  v1.port = 8070;
  v1.metadata = {{"label", "v1"}};
  registry::Instance v2 = v1;
  v2.ip = "10.0.128.12";
  v2.metadata = {{"label", "v2"}};
  s.instances = {v1, v2};
  return s;
}

registry::Service consumer() {
  registry::Service s;
  s.name = "consumer";
  registry::Instance i;
  i.ip = "10.0.128.13";
  i.port = 8080;
  s.instances = {i};
  return s;
}

std::shared_ptr<const MeshSnapshot> build(const std::string& yaml, bool expect_clean = true) {
  SnapshotInputs in;
  in.config = config::loadString(yaml, "test.yaml");
  if (expect_clean) {
    for (const auto& d : in.config.diagnostics) ADD_FAILURE() << d.format();
  }
  in.registry_services = {provider(), consumer()};
  in.version = 7;
  return buildSnapshot(in);
}

// Routes a request through the mesh table and picks `n` endpoints with fresh per-worker state.
std::vector<std::string> pickEndpoints(const MeshSnapshot& snap, const std::string& authority,
                                       const std::string& path, int n) {
  std::vector<std::string> out;
  std::map<int, std::unique_ptr<ClusterState>> states;
  http::Headers headers;
  RequestView rv;
  rv.method = "GET";
  rv.authority = authority;
  rv.path = path;
  rv.headers = &headers;
  for (int i = 0; i < n; ++i) {
    auto m = snap.mesh_routes.route(rv);
    if (m.route == nullptr) {
      out.push_back("404");
      continue;
    }
    const WeightedCluster* wc = m.route->pickCluster(0);
    if (wc->cluster < 0) {
      out.push_back("503:" + wc->missing);
      continue;
    }
    auto& st = states[wc->cluster];
    if (!st) {
      st = std::make_unique<ClusterState>(1);
      st->update(snap.clusters[wc->cluster]);
    }
    auto* e = st->pick({}, Clock::now());
    out.push_back(e == nullptr ? "503" : e->endpoint.labels["label"]);
  }
  return out;
}

TEST(Snapshot, SeedBeforeRulesRoundRobinsV1AndV2) {
  auto snap = build(readSeed("any-spring-cloud-support.yaml") + "\n---\n" +
                    readSeed("test-gateway.yaml") + "\n---\n" + readSeed("consumer.yaml"));
  EXPECT_EQ(snap->version, 7u);
  auto picks = pickEndpoints(*snap, "service-provider:8070", "/echo/world", 4);
  EXPECT_EQ(picks, (std::vector<std::string>{"v1", "v2", "v1", "v2"}));
}

TEST(Snapshot, SeedAfterRulesHelloGoesToV1EverythingElseToV2) {
  auto snap = build(readSeed("any-spring-cloud-support.yaml") + "\n---\n" +
                    readSeed("service-provider.yaml") + "\n---\n" +
                    readSeed("service-provider-vs.yaml"));
  for (const auto& p : pickEndpoints(*snap, "service-provider", "/echo/hello", 6)) {
    EXPECT_EQ(p, "v1");
  }
  for (const auto& p : pickEndpoints(*snap, "service-provider.default.svc.cluster.local:8070",
                                     "/echo/world", 6)) {
    EXPECT_EQ(p, "v2");
  }
}

TEST(Snapshot, HostFormsReachARegistryService) {
  auto snap = build("");
  for (const char* host : {"service-provider", "service-provider:8070", "service-provider.default",
                           "service-provider.default.svc",
                           "SERVICE-PROVIDER.default.svc.cluster.local:8070"}) {
    const MeshService* s = snap->findService(host);
    ASSERT_NE(s, nullptr) << host;
    EXPECT_EQ(s->fqdn, "service-provider.default.svc.cluster.local");
  }
  EXPECT_EQ(snap->findService("service-provider.other"), nullptr);
  EXPECT_EQ(snap->findService("consumer")->endpoints.size(), 1u);
}

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

TEST(Snapshot, UndefinedSubsetIs503NamingHostAndSubset) {
  auto snap = build(readSeed("service-provider-vs.yaml"), false);  // VS without its DestinationRule
  auto picks = pickEndpoints(*snap, "service-provider", "/echo/hello", 1);
  ASSERT_EQ(picks.size(), 1u);
  EXPECT_NE(picks[0].find("503:"), std::string::npos);
  EXPECT_NE(picks[0].find("subset 'v1'"), std::string::npos) << picks[0];
  EXPECT_FALSE(snap->diagnostics.empty());
}

TEST(Snapshot, GatewayListenerRoutesAnyHostToConsumer) {
  auto snap = build(readSeed("test-gateway.yaml") + "\n---\n" + readSeed("consumer.yaml"));
  const GatewayListener* gl = snap->findGatewayListener(80);
  ASSERT_NE(gl, nullptr);
  http::Headers h;
  RequestView rv;
  rv.method = "GET";
  rv.authority = "whatever.example:80";
  rv.path = "/echo/world";
  rv.headers = &h;
  auto m = gl->routes.route(rv);
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.route->clusters.size(), 1u);
  const auto& wc = m.route->clusters[0];
  ASSERT_GE(wc.cluster, 0) << wc.missing;
  EXPECT_EQ(snap->clusters[wc.cluster].endpoints.at(0).address(), "10.0.128.13:8080");
  // The gateway-only VirtualService does not touch sidecar routing of consumer.
  EXPECT_FALSE(snap->mesh_routes.findVirtualHost("consumer")->from_virtual_service);
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

TEST(Snapshot, ServiceEntrySingleAddressesAreMatchedRangesAreReported) {
  auto snap = build(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  addresses: [240.241.0.10, 10.96.0.0/16]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
)");
  const MeshService* svc = snap->findByVip("240.241.0.10");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->fqdn, "ext.example.com");
  EXPECT_EQ(snap->findByVip("10.96.0.0"), nullptr);
  bool reported = false;
  for (const auto& d : snap->diagnostics) {
    reported = reported || d.find("address range 10.96.0.0/16 is not enforced") != std::string::npos;
  }
  EXPECT_TRUE(reported) << "a CIDR in addresses must be reported, not silently ignored";
}

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
)", false);
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
    reported = reported || d.find("edge-tcp: tcp routes are only enforced by sidecars") != std::string::npos;
  }
  EXPECT_TRUE(reported);
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

TEST(Snapshot, ExportToHidesObjectsFromOtherNamespaces) {
  const std::string yaml = R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: team-api, namespace: team}
spec:
  hosts: [api.team.example]
  exportTo: ["."]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shared-api, namespace: team}
spec:
  hosts: [api.shared.example]
  exportTo: ["*"]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: partner-api, namespace: team}
spec:
  hosts: [api.partner.example]
  exportTo: [partner]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.3}]
)";
  auto hostsSeenFrom = [&](const std::string& ns) {
    SnapshotInputs in;
    in.config = config::loadString(yaml, "test.yaml");
    for (const auto& d : in.config.diagnostics) ADD_FAILURE() << d.format();
    in.workload_namespace = ns;
    auto snap = buildSnapshot(in);
    EXPECT_TRUE(snap->unenforced.empty());
    std::vector<std::string> out;
    for (const char* h : {"api.team.example", "api.shared.example", "api.partner.example"}) {
      if (snap->findService(h) != nullptr) out.push_back(h);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(hostsSeenFrom("team"), (V{"api.team.example", "api.shared.example"}));
  EXPECT_EQ(hostsSeenFrom("partner"), (V{"api.shared.example", "api.partner.example"}));
  EXPECT_EQ(hostsSeenFrom("default"), (V{"api.shared.example"}));
}

}  // namespace
}  // namespace sluice::proxy
