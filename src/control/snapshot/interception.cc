// Interception rules from recognised EnvoyFilters: method 1 (reverse DNS: pod address -> service,
// including recently retired instances) and method 2 (registry interception: the ports whose
// registry instance-list answers are rewritten).
#include <fmt/format.h>

#include "control/snapshot/builder.h"
#include "registry/plugins.h"

namespace sluice::control::snapshot {

using proxy::MeshService;
using proxy::MeshSnapshot;

// An address inside the pod CIDRs of some reverse-DNS EnvoyFilter.
bool Builder::insidePodCidrs(const std::string& text) const {
  auto ip = net::IpAddress::parse(text);
  if (!ip) return false;
  for (const auto& rule : snap_->reverse_dns_rules) {
    for (const auto& c : rule.pod_cidrs) {
      if (c.contains(*ip)) return true;
    }
  }
  return false;
}

void Builder::buildReverseDns() {
  for (const auto& rd : in_.config.reverse_dns) {
    MeshSnapshot::ReverseDnsRule rule;
    rule.port = rd.port;
    rule.pod_cidrs = rd.pod_cidrs;
    rule.filter_name = rd.filter_name;
    snap_->reverse_dns_rules.push_back(std::move(rule));
  }
  if (snap_->reverse_dns_rules.empty()) return;
  for (size_t i = 0; i < snap_->services.size(); ++i) {
    const auto& svc = snap_->services[i];
    if (svc.origin != MeshService::Origin::kRegistry) continue;
    for (const auto& ep : svc.endpoints) {
      if (!insidePodCidrs(ep.ip)) continue;
      auto [it, inserted] = snap_->reverse_dns.emplace(ep.address(), static_cast<int>(i));
      if (!inserted && it->second != static_cast<int>(i)) {
        diag(
            fmt::format("reverse DNS: address {} is an instance of both {} and {}; the first "
                        "wins",
                        ep.address(), snap_->services[it->second].fqdn, svc.fqdn));
      }
    }
  }
  // Recently departed instances last, so a current instance at the same address wins.
  for (const auto& retired : in_.retired_instances) {
    int idx = serviceIndex(registryFqdn(retired.service));
    if (idx < 0 || !insidePodCidrs(retired.ip)) continue;
    net::HostPort address{retired.ip, retired.port};
    snap_->reverse_dns.emplace(address.toString(), idx);
  }
}

void Builder::buildInterceptionRules() {
  // Each recognised interception names its registry; that registry's plug-in brings the rewriter
  // (what the seed's Lua did for Nacos).
  for (const auto& ri : in_.config.registry_interception) {
    const registry::Plugin* plugin = registry::findPlugin(ri.registry);
    if (plugin == nullptr || (plugin->rewriter == nullptr && plugin->stream_rewriter == nullptr)) {
      std::string offered;
      for (const registry::Plugin* p : registry::plugins()) {
        if (p->rewriter == nullptr && p->stream_rewriter == nullptr) continue;
        offered += (offered.empty() ? "" : ", ") + p->name;
      }
      diag(
          fmt::format("{}EnvoyFilter {}: {}: {} '{}' has no interception rewriter (registries "
                      "with one: {}); method 2 is not applied",
                      where(ri.pos), ri.filter_name, ri.field_path,
                      plugin == nullptr ? "unknown registry" : "registry", ri.registry, offered));
      continue;
    }
    // A registry with its own TCP protocol is intercepted on the connection (the sidecar's TCP
    // relay), one spoken over HTTP per request; its gRPC API (Nacos) by the gRPC relay.
    std::shared_ptr<const net::StreamInterception> stream =
        plugin->rewriter ? nullptr : plugin->stream_rewriter;
    if (!ri.options.empty()) {
      if (stream == nullptr) {
        // The HTTP rewriters take no options; the interception itself still applies.
        for (const auto& [name, value] : ri.options) {
          unenforced_.insert(
              fmt::format("EnvoyFilter {}: {}.{} (the {} interception takes no "
                          "options)",
                          ri.filter_name, ri.options_path, name, ri.registry));
        }
      } else {
        auto configured = stream->withOptions(ri.options);
        if (!configured) {
          diag(fmt::format("{}EnvoyFilter {}: {}: {}; method 2 is not applied", where(ri.pos),
                           ri.filter_name, ri.options_path, configured.error().message));
          continue;
        }
        stream = std::move(*configured);
      }
    }
    snap_->interception_rules.push_back(
        {ri.port, ri.filter_name, plugin->rewriter, stream, plugin->grpc_rewriter});
  }
}

}  // namespace sluice::control::snapshot
