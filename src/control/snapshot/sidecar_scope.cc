#include "control/snapshot/sidecar_scope.h"

#include <set>

#include "control/snapshot/builder.h"
#include "core/strings.h"

namespace sluice::control::snapshot {

namespace {

SidecarScope scopeFrom(const config::Sidecar& sc, const std::string& proxy_ns) {
  SidecarScope scope;
  scope.resource = sc.meta.ns + "/" + sc.meta.name;
  for (const auto& e : sc.egress) {
    for (const auto& h : e.hosts) {
      scope.written.push_back(h);
      if (auto parsed = parseEgressHost(h, proxy_ns)) scope.hosts.push_back(std::move(*parsed));
    }
  }
  return scope;
}

std::string registryFqdnOf(const SnapshotInputs& in, const std::string& name) {
  return toLower(name) + "." + in.default_namespace + "." + in.domain_suffix;
}

// Hosts the in-scope VirtualServices send to: they come into scope with them.
std::set<std::string> destinationsOf(const SidecarScope& scope, const config::ConfigSet& config) {
  std::set<std::string> out;
  for (const auto& vs : config.virtual_services) {
    if (!scope.admitsVirtualService(vs)) continue;
    forEachDestination(vs, [&](const config::Destination& d) {
      out.insert(d.host_fqdn.empty() ? toLower(d.host) : d.host_fqdn);
    });
  }
  return out;
}

}  // namespace

bool EgressHost::matches(std::string_view object_ns, std::string_view object_host) const {
  if (ns == "~") return false;
  if (ns != "*" && ns != object_ns) return false;
  return hostsOverlap(host, toLower(object_host));
}

std::optional<EgressHost> parseEgressHost(std::string_view text, const std::string& proxy_ns) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  EgressHost h;
  h.ns = std::string(text.substr(0, slash));
  if (h.ns == ".") h.ns = proxy_ns;
  h.host = toLower(text.substr(slash + 1));
  if (h.ns.empty() || h.host.empty()) return std::nullopt;
  return h;
}

bool SidecarScope::admits(std::string_view object_ns, std::string_view host) const {
  for (const auto& h : hosts) {
    if (h.matches(object_ns, host)) return true;
  }
  return false;
}

bool SidecarScope::admitsVirtualService(const config::VirtualService& vs) const {
  const auto& names = vs.hosts_fqdn.empty() ? vs.hosts : vs.hosts_fqdn;
  for (const auto& host : names) {
    if (admits(vs.meta.ns, host)) return true;
  }
  return false;
}

std::optional<SidecarScope> selectSidecar(const config::ConfigSet& config,
                                          const std::string& proxy_ns,
                                          const std::map<std::string, std::string>& labels,
                                          const std::string& root_ns) {
  const config::Sidecar* ns_default = nullptr;
  const config::Sidecar* root_default = nullptr;
  for (const auto& sc : config.sidecars) {
    if (sc.meta.ns == proxy_ns) {
      if (sc.workload_selector.empty()) {
        if (ns_default == nullptr) ns_default = &sc;
      } else if (labelsSuperset(labels, sc.workload_selector)) {
        return scopeFrom(sc, proxy_ns);
      }
    } else if (sc.meta.ns == root_ns && sc.workload_selector.empty() && root_default == nullptr) {
      root_default = &sc;
    }
  }
  if (ns_default != nullptr) return scopeFrom(*ns_default, proxy_ns);
  if (root_default != nullptr) return scopeFrom(*root_default, proxy_ns);
  return std::nullopt;
}

SidecarScope onDemandScope(const std::set<std::string>& hosts) {
  SidecarScope scope;
  scope.on_demand = true;
  for (const auto& h : hosts) {
    scope.written.push_back("*/" + h);
    scope.hosts.push_back(EgressHost{"*", h});
  }
  return scope;
}

std::optional<SidecarScope> scopeFor(const config::ConfigSet& config,
                                     const SnapshotInputs& identity) {
  if (identity.gateway) return std::nullopt;
  if (!config.sidecars.empty()) {
    auto scope = selectSidecar(config, identity.proxyNamespace(), identity.workload_labels,
                               identity.root_namespace);
    if (scope) return scope;
  }
  if (identity.on_demand_hosts) return onDemandScope(*identity.on_demand_hosts);
  return std::nullopt;
}

std::optional<SidecarScope> scopeOf(const SnapshotInputs& inputs) {
  return scopeFor(inputs.config, inputs);
}

std::optional<SnapshotInputs> withinEgress(const SnapshotInputs& in) {
  auto scope = scopeOf(in);
  if (!scope) return std::nullopt;
  const auto& c = in.config;
  const std::set<std::string> sent_to = destinationsOf(*scope, c);
  auto referenced = [&](const std::string& host) { return sent_to.count(toLower(host)) != 0; };

  // Everything but the four lists filtered below, copied field by field: copying the whole
  // inputs first would hold the whole mesh twice for the length of a build.
  SnapshotInputs out;
  out.retired_instances = in.retired_instances;
  out.version = in.version;
  out.default_namespace = in.default_namespace;
  out.domain_suffix = in.domain_suffix;
  out.workload_labels = in.workload_labels;
  out.workload_namespace = in.workload_namespace;
  out.registry_status = in.registry_status;
  out.held_back = in.held_back;
  out.vip_range = in.vip_range;
  out.previous_vips = in.previous_vips;
  out.gateway = in.gateway;
  out.root_namespace = in.root_namespace;
  out.on_demand_hosts = in.on_demand_hosts;
  out.config.gateways = c.gateways;
  out.config.envoy_filters = c.envoy_filters;
  out.config.sidecars = c.sidecars;
  out.config.workload_entries = c.workload_entries;
  out.config.reverse_dns = c.reverse_dns;
  out.config.registry_interception = c.registry_interception;
  out.config.diagnostics = c.diagnostics;
  out.config.io_errors = c.io_errors;
  out.config.files_read = c.files_read;

  // Hosts of what is in scope, for the DestinationRules.
  std::set<std::string> exact;
  std::vector<std::string> wildcards;
  auto keepHost = [&](const std::string& host) {
    std::string h = toLower(host);
    if (h.starts_with("*")) {
      wildcards.push_back(std::move(h));
    } else {
      exact.insert(std::move(h));
    }
  };
  for (const auto& rs : in.registry_services) {
    std::string fqdn = registryFqdnOf(in, rs.name);
    if (!scope->admits(in.default_namespace, fqdn) && !referenced(fqdn)) continue;
    out.registry_services.push_back(rs);
    keepHost(fqdn);
  }
  for (const auto& se : c.service_entries) {
    bool in_scope = false;
    for (const auto& h : se.hosts)
      in_scope = in_scope || scope->admits(se.meta.ns, h) || referenced(h);
    if (!in_scope) continue;
    out.config.service_entries.push_back(se);
    for (const auto& h : se.hosts) keepHost(h);
  }
  for (const auto& vs : c.virtual_services) {
    if (!scope->admitsVirtualService(vs)) continue;
    out.config.virtual_services.push_back(vs);
    for (const auto& h : vs.hosts_fqdn.empty() ? vs.hosts : vs.hosts_fqdn) keepHost(h);
  }
  for (const auto& dr : c.destination_rules) {
    const std::string host = toLower(dr.host_fqdn.empty() ? dr.host : dr.host_fqdn);
    bool in_scope = exact.count(host) != 0;
    if (!in_scope && host.starts_with("*")) {
      for (const auto& e : exact) in_scope = in_scope || hostCovers(host, e);
    }
    for (const auto& w : wildcards) in_scope = in_scope || hostsOverlap(w, host);
    if (in_scope) out.config.destination_rules.push_back(dr);
  }
  return out;
}

std::optional<config::ConfigSet> configWithinEgress(const config::ConfigSet& c,
                                                    const SnapshotInputs& identity) {
  auto scope = scopeFor(c, identity);
  if (!scope) return std::nullopt;
  const std::set<std::string> sent_to = destinationsOf(*scope, c);
  auto referenced = [&](const std::string& host) { return sent_to.count(toLower(host)) != 0; };
  config::ConfigSet out;
  out.gateways = c.gateways;
  out.envoy_filters = c.envoy_filters;
  out.sidecars = c.sidecars;
  out.workload_entries = c.workload_entries;
  out.reverse_dns = c.reverse_dns;
  out.registry_interception = c.registry_interception;
  out.diagnostics = c.diagnostics;
  out.io_errors = c.io_errors;
  out.files_read = c.files_read;
  std::vector<std::string> kept_hosts;
  for (const auto& vs : c.virtual_services) {
    if (!scope->admitsVirtualService(vs)) continue;
    out.virtual_services.push_back(vs);
    for (const auto& h : vs.hosts_fqdn.empty() ? vs.hosts : vs.hosts_fqdn) {
      kept_hosts.push_back(toLower(h));
    }
  }
  for (const auto& se : c.service_entries) {
    bool in_scope = false;
    for (const auto& h : se.hosts) {
      in_scope = in_scope || scope->admits(se.meta.ns, h) || referenced(h);
    }
    if (!in_scope) continue;
    out.service_entries.push_back(se);
    for (const auto& h : se.hosts) kept_hosts.push_back(toLower(h));
  }
  for (const auto& dr : c.destination_rules) {
    const std::string host = toLower(dr.host_fqdn.empty() ? dr.host : dr.host_fqdn);
    bool in_scope = scope->admits(dr.meta.ns, host) ||
                    scope->admits(identity.default_namespace, host) || referenced(host);
    for (const auto& k : kept_hosts) in_scope = in_scope || hostsOverlap(k, host);
    if (in_scope) out.destination_rules.push_back(dr);
  }
  return out;
}

registry::Interest registryInterest(const SnapshotInputs& inputs) {
  registry::Interest interest;
  auto scope = scopeOf(inputs);
  if (!scope) return interest;
  interest.all = false;
  const std::string suffix = "." + inputs.default_namespace + "." + inputs.domain_suffix;
  auto addIfRegistryHost = [&](const std::string& host) {
    if (host.size() > suffix.size() && host.ends_with(suffix)) {
      interest.names.insert(host.substr(0, host.size() - suffix.size()));
    }
  };
  for (const auto& h : scope->hosts) {
    if (h.ns == "~" || (h.ns != "*" && h.ns != inputs.default_namespace)) continue;
    if (h.host == "*") {
      interest = registry::Interest{};
      return interest;
    }
    if (h.host.starts_with("*.")) {
      // A wildcard that may cover registry names: which ones only the registry knows.
      std::string_view tail = std::string_view(h.host).substr(1);  // ".x.y"
      if (std::string_view(suffix).ends_with(tail) || tail.ends_with(suffix)) {
        interest = registry::Interest{};
        return interest;
      }
      continue;
    }
    addIfRegistryHost(h.host);
  }
  for (const auto& host : destinationsOf(*scope, inputs.config)) addIfRegistryHost(host);
  return interest;
}

}  // namespace sluice::control::snapshot
