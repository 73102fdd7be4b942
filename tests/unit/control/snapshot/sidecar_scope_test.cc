// Snapshot assembly: the Istio Sidecar resource's egress hosts (what a sidecar materialises).
#include "control/snapshot/sidecar_scope.h"

#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using snapshot::EgressHost;
using snapshot::parseEgressHost;

bool admits(const std::string& egress, const std::string& ns, const std::string& host,
            const std::string& proxy_ns = "default") {
  auto h = parseEgressHost(egress, proxy_ns);
  EXPECT_TRUE(h) << egress;
  return h && h->matches(ns, host);
}

TEST(SidecarEgressHost, NamespaceAndDnsNameAsIstioDefinesThem) {
  EXPECT_TRUE(admits("*/*", "team", "a.team.svc.cluster.local"));
  EXPECT_TRUE(admits("./*", "default", "a.default.svc.cluster.local"));
  EXPECT_FALSE(admits("./*", "team", "a.team.svc.cluster.local"));
  EXPECT_TRUE(admits("./*", "team", "a.team.svc.cluster.local", "team"));  // "." = the proxy's
  EXPECT_TRUE(admits("team/*", "team", "x.example.com"));
  EXPECT_FALSE(admits("team/*", "default", "x.example.com"));
  EXPECT_FALSE(admits("~/*", "default", "a.default.svc.cluster.local"));  // nothing at all
  EXPECT_TRUE(admits("*/*.example.com", "any", "api.example.com"));
  EXPECT_FALSE(admits("*/*.example.com", "any", "example.com"));
  EXPECT_TRUE(admits("*/API.Example.com", "any", "api.example.com"));  // case-insensitive
  EXPECT_FALSE(admits("*/api.example.com", "any", "web.example.com"));
  // A wildcard object host overlapping an exact egress host (a ServiceEntry *.example.com).
  EXPECT_TRUE(admits("*/api.example.com", "any", "*.example.com"));
  // dnsName is never expanded: a short name matches only a host literally called that.
  EXPECT_FALSE(admits("./provider", "default", "provider.default.svc.cluster.local"));
  EXPECT_FALSE(parseEgressHost("no-slash", "default"));
  EXPECT_FALSE(parseEgressHost("ns/", "default"));
}

config::ConfigSet load(const std::string& yaml) {
  auto set = config::loadString(yaml, "sc.yaml");
  for (const auto& d : set.diagnostics) {
    if (d.severity == config::Severity::kError) ADD_FAILURE() << d.format();
  }
  return set;
}

const char* kSidecars = R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: istio-system}
spec:
  egress: [{hosts: ["*/root.example.com"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: team}
spec:
  egress: [{hosts: ["./*"]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews, namespace: team}
spec:
  workloadSelector: {labels: {app: reviews}}
  egress: [{hosts: ["*/reviews.example.com"]}]
)";

std::string selected(const config::ConfigSet& set, const std::string& ns,
                     std::map<std::string, std::string> labels) {
  auto scope = snapshot::selectSidecar(set, ns, labels, "istio-system");
  return scope ? scope->resource : "none";
}

TEST(SidecarSelection, SelectorThenNamespaceDefaultThenRootNamespace) {
  auto set = load(kSidecars);
  EXPECT_EQ(selected(set, "team", {{"app", "reviews"}, {"version", "v1"}}), "team/reviews");
  EXPECT_EQ(selected(set, "team", {{"app", "ratings"}}), "team/default");
  EXPECT_EQ(selected(set, "team", {}), "team/default");
  EXPECT_EQ(selected(set, "other", {{"app", "reviews"}}), "istio-system/default");
  auto no_root = load(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews, namespace: team}
spec:
  workloadSelector: {labels: {app: reviews}}
  egress: [{hosts: ["*/*"]}]
)");
  EXPECT_EQ(selected(no_root, "team", {{"app", "ratings"}}), "none");
  EXPECT_EQ(selected(no_root, "other", {{"app", "reviews"}}), "none");  // other namespace's
}

// The large-mesh shape in small: registry services, VirtualServices and DestinationRules for
// each, ServiceEntries; the Sidecar names two registry services and one external host.
const char* kMesh = R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts:
    - ./service-provider.default.svc.cluster.local
    - "*/api.example.com"
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: provider, namespace: default}
spec:
  hosts: [service-provider]
  http:
  - match: [{uri: {prefix: /to-consumer}}]
    route: [{destination: {host: consumer}}]
  - route: [{destination: {host: service-provider, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: provider, namespace: default}
spec:
  host: service-provider
  subsets: [{name: v1, labels: {label: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: hidden, namespace: default}
spec:
  hosts: [hidden]
  http: [{route: [{destination: {host: hidden}}]}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: hidden, namespace: default}
spec:
  host: hidden
  subsets: [{name: v1, labels: {label: v1}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: ext}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: other, namespace: ext}
spec:
  hosts: [other.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.2}]
)";

registry::Service named(const std::string& name, const std::string& ip) {
  registry::Service s;
  s.name = name;
  registry::Instance i;
  i.ip = ip;
  i.port = 8080;
  s.instances = {i};
  return s;
}

SnapshotInputs meshInputs(const std::string& yaml = kMesh) {
  SnapshotInputs in;
  in.config = load(yaml);
  in.registry_services = {provider(), consumer(), named("hidden", "10.0.128.20")};
  return in;
}

TEST(SidecarScopeSnapshot, OnlyTheEgressHostsAndWhatTheirRoutesSendToAreMaterialised) {
  auto in = meshInputs();
  auto snap = buildSnapshot(in);
  EXPECT_NE(snap->findService("service-provider"), nullptr);
  EXPECT_NE(snap->findService("consumer"), nullptr);  // a destination of an in-scope route
  EXPECT_NE(snap->findService("api.example.com"), nullptr);
  EXPECT_EQ(snap->findService("hidden"), nullptr);
  EXPECT_EQ(snap->findService("other.example.com"), nullptr);
  const std::string dump = snap->toJson().dump();
  EXPECT_EQ(dump.find("hidden"), std::string::npos) << dump;  // no VS, DR, cluster of it
  EXPECT_NE(dump.find("|v1|service-provider.default.svc.cluster.local"), std::string::npos);
  EXPECT_EQ(snap->sidecar_resource, "default/default");
  EXPECT_EQ(snap->toJson()["sidecar"]["egress_hosts"].size(), 2u);
  EXPECT_TRUE(snap->unenforced.empty()) << snap->toJson()["unenforced"].dump();
  // The route of the in-scope VirtualService still goes to subset v1.
  EXPECT_EQ(pickEndpoints(*snap, "service-provider", "/x", 2),
            (std::vector<std::string>{"v1", "v1"}));

  // A gateway's snapshot ignores Sidecar resources.
  in.gateway = true;
  EXPECT_NE(buildSnapshot(in)->findService("hidden"), nullptr);
}

TEST(SidecarScopeSnapshot, WithoutASidecarEverythingIsMaterialised) {
  std::string yaml = kMesh;
  yaml = yaml.substr(yaml.find("---") + 3);  // drop the Sidecar
  auto snap = buildSnapshot(meshInputs(yaml));
  EXPECT_NE(snap->findService("hidden"), nullptr);
  EXPECT_NE(snap->findService("other.example.com"), nullptr);
  EXPECT_TRUE(snap->sidecar_resource.empty());
  EXPECT_TRUE(snap->toJson()["sidecar"].is_null());
}

TEST(SidecarScopeSnapshot, FieldsNotEnforcedAreNamed) {
  auto in = meshInputs(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:8080"}]
  egress:
  - port: {number: 80, protocol: HTTP, name: http}
    bind: 127.0.0.2
    hosts: ["./*"]
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)");
  auto snap = buildSnapshot(in);
  std::string u = snap->toJson()["unenforced"].dump();
  for (const char* field : {"Sidecar default/default.ingress", "egress[0].port", "egress[0].bind",
                            "outboundTrafficPolicy.mode REGISTRY_ONLY"}) {
    EXPECT_NE(u.find(field), std::string::npos) << field << " in " << u;
  }
  EXPECT_NE(snap->findService("hidden"), nullptr);  // ./* admits the whole namespace
}

TEST(SidecarScopeConfig, OnlyWhatTheSidecarCanUseIsKept) {
  auto all = load(kMesh);
  SnapshotInputs identity;
  auto kept = snapshot::configWithinEgress(all, identity);
  ASSERT_TRUE(kept);
  auto names = [](const auto& list) {
    std::vector<std::string> out;
    for (const auto& r : list) out.push_back(r.meta.name);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names(kept->virtual_services), (V{"provider"}));
  EXPECT_EQ(names(kept->destination_rules), (V{"provider"}));
  EXPECT_EQ(names(kept->service_entries), (V{"api"}));
  EXPECT_EQ(kept->sidecars.size(), 1u);
  // What is kept builds the same snapshot as the whole config.
  SnapshotInputs in = meshInputs();
  SnapshotInputs small = meshInputs();
  small.config = *kept;
  EXPECT_EQ(buildSnapshot(in)->toJson().dump(), buildSnapshot(small)->toJson().dump());
  identity.gateway = true;
  EXPECT_FALSE(snapshot::configWithinEgress(all, identity));
}

TEST(SidecarScopeInterest, RegistryNamesFromExactHostsAndRouteDestinations) {
  auto in = meshInputs();
  auto interest = snapshot::registryInterest(in);
  EXPECT_FALSE(interest.all);
  EXPECT_EQ(interest.names, (std::set<std::string>{"consumer", "service-provider"}));

  // A wildcard that covers registry names: the registry decides, so every service is asked for.
  in = meshInputs(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["*/*.svc.cluster.local"]}]
)");
  EXPECT_TRUE(snapshot::registryInterest(in).all);
  // One that cannot (another namespace, an external domain): no registry service at all.
  in = meshInputs(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["team/*", "*/*.example.com"]}]
)");
  auto none = snapshot::registryInterest(in);
  EXPECT_FALSE(none.all);
  EXPECT_TRUE(none.names.empty());
  EXPECT_EQ(buildSnapshot(in)->findService("service-provider"), nullptr);
  // No Sidecar: everything.
  EXPECT_TRUE(snapshot::registryInterest(SnapshotInputs{}).all);
}

TEST(SidecarDecode, EgressHostsMustBeNamespaceSlashDnsName) {
  auto set = config::loadString(R"(
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["service-provider", "Bad_NS/x.example.com", "./*"]}]
)",
                                "sc.yaml");
  std::string all;
  for (const auto& d : set.diagnostics) all += d.format() + "\n";
  EXPECT_NE(all.find("must be of form namespace/dnsName"), std::string::npos) << all;
  EXPECT_NE(all.find("invalid namespace value \"Bad_NS\""), std::string::npos) << all;
}

}  // namespace
}  // namespace sluice::control
