#pragma once
// The Istio Sidecar resource of this proxy and what its egress hosts let in: the services,
// VirtualServices, DestinationRules and ServiceEntries a sidecar's snapshot is built from, and
// the registry services the watchers need to subscribe to.
//
// Selection (Istio's): in the proxy's namespace, the first Sidecar whose workloadSelector labels
// this workload's labels contain; else that namespace's Sidecar without a selector; else the
// root namespace's Sidecar without a selector (the mesh default). Gateways have none.
//
// Egress hosts are "namespace/dnsName": namespace `*` (any), `.` (the proxy's namespace), `~`
// (none) or a name; dnsName `*`, `*.suffix` or an exact FQDN (never expanded: Istio requires
// FQDNs here). The hosts of every egress listener count; what a listener's `port` limits is
// not enforced (a warning says so). A VirtualService is in scope when one of its hosts is; the
// services its destinations name come with it (as Istio adds them); a DestinationRule when its
// host is an in-scope service or VirtualService host.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "control/snapshot/inputs.h"
#include "registry/registry.h"

namespace sluice::control::snapshot {

// Calls fn(const config::Destination&) for every destination of `vs`'s http (routes and
// mirrors), tcp and tls routes.
template <typename Fn>
void forEachDestination(const config::VirtualService& vs, Fn&& fn) {
  for (const auto& h : vs.http) {
    for (const auto& r : h.route) fn(r.destination);
    if (h.mirror) fn(*h.mirror);
    for (const auto& m : h.mirrors) fn(m.destination);
  }
  for (const auto& t : vs.tcp) {
    for (const auto& r : t.route) fn(r.destination);
  }
  for (const auto& t : vs.tls) {
    for (const auto& r : t.route) fn(r.destination);
  }
}

struct EgressHost {
  std::string ns;    // "*", "~" or a namespace ("." already replaced by the proxy's)
  std::string host;  // lower-cased dnsName
  bool matches(std::string_view object_ns, std::string_view object_host) const;
};

// Parses "ns/dnsName" ("." taken as `proxy_ns`); nullopt when there is no '/'.
std::optional<EgressHost> parseEgressHost(std::string_view text, const std::string& proxy_ns);

struct SidecarScope {
  std::string resource;              // "ns/name" of the Sidecar; "" for the on-demand scope
  std::vector<std::string> written;  // its egress hosts as written, for /config_dump
  std::vector<EgressHost> hosts;
  // No Sidecar, services loaded on first use: the hosts used so far stand in for egress hosts.
  bool on_demand = false;
  bool admits(std::string_view object_ns, std::string_view host) const;
  bool admitsVirtualService(const config::VirtualService& vs) const;
};

// The Sidecar that applies to a sidecar proxy in `proxy_ns` with `labels`, or nullopt (no
// Sidecar: the whole mesh is in scope).
std::optional<SidecarScope> selectSidecar(const config::ConfigSet& config,
                                          const std::string& proxy_ns,
                                          const std::map<std::string, std::string>& labels,
                                          const std::string& root_ns);

// The implicit scope of a sidecar that loads services on first use: egress hosts `*/HOST` for
// each of `hosts` (FQDNs), so what they name, the VirtualServices for them and what those route
// to are in scope, as with a Sidecar listing them.
SidecarScope onDemandScope(const std::set<std::string>& hosts);

// The scope a sidecar with `identity` (its namespace, labels, on_demand_hosts) has over `config`:
// the Sidecar that selects it, else the on-demand scope when on_demand_hosts is set; nullopt for
// gateways and for a sidecar holding the whole mesh.
std::optional<SidecarScope> scopeFor(const config::ConfigSet& config,
                                     const SnapshotInputs& identity);

// scopeFor(inputs.config, inputs).
std::optional<SidecarScope> scopeOf(const SnapshotInputs& inputs);

// A copy of `inputs` with only what `scope` admits, or nullopt when there is no scope.
std::optional<SnapshotInputs> withinEgress(const SnapshotInputs& inputs);

// What a sidecar can ever build from a freshly loaded `config` (nullopt: no scope, see scopeFor):
// the VirtualServices and ServiceEntries withinEgress keeps, and the DestinationRules whose host
// the egress hosts admit (in the rule's namespace or the registry services' `default_namespace`),
// an in-scope route sends to, or an in-scope VirtualService or ServiceEntry has: a superset of what
// withinEgress keeps once the registry is known. The controller keeps only this, so a
// 4,000-resource config directory costs a sidecar what its Sidecar names.
std::optional<config::ConfigSet> configWithinEgress(const config::ConfigSet& config,
                                                    const SnapshotInputs& identity);

// The registry services a snapshot of `inputs` can use (registry services live in
// default_namespace as NAME.<ns>.<domain_suffix>): everything without a scope or when a wildcard
// egress host covers registry names, else the names of exact egress hosts and of in-scope
// VirtualServices' destinations.
registry::Interest registryInterest(const SnapshotInputs& inputs);

}  // namespace sluice::control::snapshot
