// Rules across resources: duplicate names, VirtualService references to subsets and gateways
// (IST0101, IST0132), several DestinationRules for one host, several mesh VirtualServices for
// one host (IST0109).

#include <map>

#include "config/names.h"
#include "config/validate.h"
#include "config/validate/rules.h"
#include "core/strings.h"

namespace sluice::config {

namespace {

// Gateway reference as written in a VirtualService -> "namespace/name".
std::string gatewayKey(const std::string& ref, const std::string& vs_ns) {
  auto slash = ref.find('/');
  if (slash != std::string::npos) {
    auto ns = ref.substr(0, slash);
    return (ns == "." ? vs_ns : ns) + "/" + ref.substr(slash + 1);
  }
  auto dot = ref.find('.');
  if (dot != std::string::npos) {
    // Legacy "name.namespace.svc.cluster.local".
    auto parts = split(ref, '.');
    return std::string(parts[1]) + "/" + std::string(parts[0]);
  }
  return vs_ns + "/" + ref;
}

}  // namespace

void validateCrossResource(ConfigSet& set) {
  // Duplicate names per kind.
  std::map<std::string, const Meta*> names;
  auto checkDuplicate = [&](const Meta& meta) {
    const std::string key = meta.kind + "/" + meta.ns + "/" + meta.name;
    auto [it, inserted] = names.emplace(key, &meta);
    if (!inserted) {
      DiagnosticReporter(set.diagnostics, meta)
          .error({}, "metadata.name",
                 fmt::format("duplicate {} {}/{} (first defined at {})", meta.kind, meta.ns,
                             meta.name, it->second->pos.toString()));
    }
  };
  for (auto& r : set.virtual_services) checkDuplicate(r.meta);
  for (auto& r : set.destination_rules) checkDuplicate(r.meta);
  for (auto& r : set.gateways) checkDuplicate(r.meta);
  for (auto& r : set.service_entries) checkDuplicate(r.meta);
  for (auto& r : set.envoy_filters) checkDuplicate(r.meta);
  for (auto& r : set.sidecars) checkDuplicate(r.meta);
  for (auto& r : set.workload_entries) checkDuplicate(r.meta);

  // Subsets referenced by VirtualServices (IST0101).
  auto subsetDefined = [&](const Destination& d) {
    for (auto& dr : set.destination_rules) {
      const bool host_match = dr.host_fqdn == d.host_fqdn ||
                              (dr.host_fqdn.starts_with("*") &&
                               (dr.host_fqdn == "*" ||
                                d.host_fqdn.ends_with(std::string_view(dr.host_fqdn).substr(1))));
      if (!host_match) continue;
      for (auto& s : dr.subsets) {
        if (s.name == d.subset) return true;
      }
    }
    return false;
  };
  std::map<std::string, const Gateway*> gateways;
  for (auto& gw : set.gateways) gateways.emplace(gw.meta.ns + "/" + gw.meta.name, &gw);
  // Does a server host entry ([ns/]dnsName) of gateway `gw` admit `host` of a VirtualService in
  // namespace `vs_ns`?
  auto serverAdmits = [](const Gateway& gw, std::string_view entry, const std::string& host,
                         const std::string& vs_ns) {
    std::string_view dns = entry;
    auto slash = entry.find('/');
    if (slash != std::string_view::npos) {
      auto ns = entry.substr(0, slash);
      dns = entry.substr(slash + 1);
      if (ns == "." && vs_ns != gw.meta.ns) return false;
      if (ns != "*" && ns != "." && ns != vs_ns) return false;
    }
    return hostsOverlap(dns, host);
  };

  for (auto& vs : set.virtual_services) {
    DiagnosticReporter r(set.diagnostics, vs.meta);
    auto checkSubset = [&](const Destination& d, const std::string& path) {
      if (d.subset.empty() || d.host.empty()) return;
      if (!subsetDefined(d)) {
        r.error(d.subset_pos.line > 0 ? d.subset_pos : d.pos, path + ".subset",
                fmt::format("Referenced host+subset in destinationrule not found: \"{}+{}\"",
                            d.host, d.subset),
                "IST0101");
      }
    };
    auto checkGateway = [&](const std::string& ref, const std::string& path) {
      if (ref == "mesh" || ref.empty()) return;
      auto it = gateways.find(gatewayKey(ref, vs.meta.ns));
      if (it == gateways.end()) {
        r.error({}, path, fmt::format("Referenced gateway not found: \"{}\"", ref), "IST0101");
        return;
      }
      for (size_t h = 0; h < vs.hosts.size(); ++h) {
        bool found = false;
        for (const auto& server : it->second->servers) {
          for (const auto& entry : server.hosts) {
            if (serverAdmits(*it->second, entry, vs.hosts[h], vs.meta.ns)) found = true;
          }
        }
        if (!found) {
          r.warn({}, fmt::format("spec.hosts[{}]", h),
                 fmt::format("one or more host [{}] defined in VirtualService {}/{} not found in "
                             "Gateway {}",
                             vs.hosts[h], vs.meta.ns, vs.meta.name, it->first),
                 "IST0132");
        }
      }
    };
    for (size_t i = 0; i < vs.gateways.size(); ++i) {
      checkGateway(vs.gateways[i], fmt::format("spec.gateways[{}]", i));
    }
    for (size_t i = 0; i < vs.http.size(); ++i) {
      const auto& h = vs.http[i];
      for (size_t k = 0; k < h.route.size(); ++k) {
        checkSubset(h.route[k].destination,
                    fmt::format("spec.http[{}].route[{}].destination", i, k));
      }
      if (h.mirror) checkSubset(*h.mirror, fmt::format("spec.http[{}].mirror", i));
      for (size_t k = 0; k < h.mirrors.size(); ++k) {
        checkSubset(h.mirrors[k].destination,
                    fmt::format("spec.http[{}].mirrors[{}].destination", i, k));
      }
      for (size_t k = 0; k < h.match.size(); ++k) {
        for (size_t g = 0; g < h.match[k].gateways.size(); ++g) {
          checkGateway(h.match[k].gateways[g],
                       fmt::format("spec.http[{}].match[{}].gateways[{}]", i, k, g));
        }
      }
    }
    for (size_t i = 0; i < vs.tcp.size(); ++i) {
      for (size_t k = 0; k < vs.tcp[i].route.size(); ++k) {
        checkSubset(vs.tcp[i].route[k].destination,
                    fmt::format("spec.tcp[{}].route[{}].destination", i, k));
      }
    }
    for (size_t i = 0; i < vs.tls.size(); ++i) {
      for (size_t k = 0; k < vs.tls[i].route.size(); ++k) {
        checkSubset(vs.tls[i].route[k].destination,
                    fmt::format("spec.tls[{}].route[{}].destination", i, k));
      }
    }
  }

  // Several DestinationRules for one host (Istio merges them; usually a mistake).
  std::map<std::string, const DestinationRule*> by_host;
  for (auto& dr : set.destination_rules) {
    if (dr.host_fqdn.empty() || !dr.workload_selector.empty()) continue;
    auto [it, inserted] = by_host.emplace(dr.host_fqdn, &dr);
    if (!inserted) {
      DiagnosticReporter(set.diagnostics, dr.meta)
          .warn({}, "spec.host",
                fmt::format("multiple DestinationRules for host \"{}\" (also {}/{} at {}): Istio "
                            "merges them (first trafficPolicy wins, duplicate subsets dropped)",
                            dr.host, it->second->meta.ns, it->second->meta.name,
                            it->second->meta.pos.toString()));
    }
  }

  // Several mesh VirtualServices for one host (IST0109): the first one wins, undefined order.
  std::map<std::string, const VirtualService*> mesh_hosts;
  for (auto& vs : set.virtual_services) {
    if (!validation::isMeshBound(vs.gateways)) continue;
    for (size_t i = 0; i < vs.hosts_fqdn.size(); ++i) {
      auto [it, inserted] = mesh_hosts.emplace(vs.hosts_fqdn[i], &vs);
      if (!inserted && it->second != &vs) {
        DiagnosticReporter(set.diagnostics, vs.meta)
            .warn({}, fmt::format("spec.hosts[{}]", i),
                  fmt::format("The VirtualServices {}/{},{}/{} associated with mesh define the "
                              "same host or wildcard host {}; this leads to undefined behavior",
                              it->second->meta.ns, it->second->meta.name, vs.meta.ns, vs.meta.name,
                              vs.hosts[i]),
                  "IST0109");
      }
    }
  }
}

}  // namespace sluice::config
