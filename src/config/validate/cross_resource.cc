// Rules across resources: duplicate names, VirtualService references to subsets and gateways
// (IST0101, IST0132), several DestinationRules for one host, several mesh VirtualServices for
// one host (IST0109).

#include <map>

#include "config/names.h"
#include "config/references.h"
#include "config/validate.h"
#include "config/validate/rules.h"
#include "core/strings.h"

namespace sluice::config {

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

  // Subsets and gateways referenced by VirtualServices (IST0101, IST0132).
  for (auto& vs : set.virtual_services) checkVirtualServiceReferences(set, vs, set.diagnostics);

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
