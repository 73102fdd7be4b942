// TCP routes: VirtualService `tcp` rules of mesh services (sidecars only).
#include <fmt/format.h>

#include <map>

#include "control/snapshot/builder.h"
#include "core/strings.h"

namespace sluice::control::snapshot {

using proxy::TcpRoute;
using proxy::WeightedCluster;

// VirtualService `tcp` rules for the sidecars (gateways serve no TCP yet: reported).
void Builder::buildTcpRoutes() {
  std::map<int, std::string> claimed;  // service -> VS that gave it TCP routes
  for (const auto& vs : in_.config.virtual_services) {
    if (vs.tcp.empty()) continue;
    auto gateways = normalizeGateways(vs.gateways, vs.meta.ns);
    if (!contains(gateways, "mesh")) {
      diag(
          fmt::format("{}VirtualService {}: tcp routes are only enforced by sidecars (gateway "
                      "TCP servers are not implemented); not applied",
                      where(vs.meta.pos), vsName(vs)));
      continue;
    }
    std::vector<TcpRoute> routes;
    for (size_t i = 0; i < vs.tcp.size(); ++i) {
      const auto& tr = vs.tcp[i];
      TcpRoute r;
      r.source = fmt::format("VirtualService {} tcp[{}]", vsName(vs), i);
      for (const auto& m : tr.match) {
        if (!fromThisWorkload(m.source_labels, m.source_namespace)) continue;
        TcpRoute::Match match;
        match.port = m.port;
        for (const auto& text : m.destination_subnets) {
          if (auto c = net::Cidr::parse(text)) match.destination_subnets.push_back(*c);
        }
        if (!m.gateways.empty()) {
          unenforced_.insert(r.source + ".match.gateways (tcp routes apply to sidecars only)");
        }
        r.matches.push_back(std::move(match));
      }
      if (!tr.match.empty() && r.matches.empty()) continue;  // for other workloads
      for (const auto& rd : tr.route) {
        WeightedCluster d;
        d.host = rd.destination.host_fqdn.empty() ? rd.destination.host : rd.destination.host_fqdn;
        d.subset = rd.destination.subset;
        d.weight = tr.route.size() == 1 && rd.weight == 0 ? 100 : static_cast<uint32_t>(rd.weight);
        d.cluster = clusterFor(d.host, d.subset, rd.destination.port.value_or(0), d.missing);
        if (d.cluster < 0) diag(fmt::format("{}: {}", r.source, d.missing));
        r.total_weight += d.weight;
        r.destinations.push_back(std::move(d));
      }
      routes.push_back(std::move(r));
    }
    for (const auto& h : vs.hosts_fqdn) {
      int sidx = serviceIndex(toLower(h));
      if (sidx < 0) continue;  // wildcards and hosts without a service: nothing dials them
      auto [it, inserted] = claimed.emplace(sidx, vsName(vs));
      if (!inserted) {
        diag(
            fmt::format("{}VirtualService {}: tcp routes for '{}' are already given by "
                        "VirtualService {}; the first wins",
                        where(vs.meta.pos), vsName(vs), h, it->second));
        continue;
      }
      snap_->services[sidx].tcp_routes = routes;
    }
  }
}

}  // namespace sluice::control::snapshot
