// Config fields that are accepted but not enforced, listed on /config_dump and logged once.
#include <fmt/format.h>

#include "control/snapshot/builder.h"
#include "control/snapshot/sidecar_scope.h"

namespace sluice::control::snapshot {

void Builder::noteUnenforced() {
  for (const auto& vs : in_.config.virtual_services) {
    if (!vs.tcp.empty() || !vs.tls.empty()) {
      unenforced_.insert("VirtualService " + vsName(vs) + ": tcp/tls routes (HTTP only)");
    }
    if (!vs.export_to.empty()) unenforced_.insert("VirtualService " + vsName(vs) + ".exportTo");
  }
  for (const auto& dr : in_.config.destination_rules) {
    std::string n = "DestinationRule " + dr.meta.ns + "/" + dr.meta.name;
    auto note = [&](const config::TrafficPolicy& tp, const std::string& at) {
      if (tp.tls) unenforced_.insert(n + at + ".tls (plain HTTP upstreams only)");
      if (tp.load_balancer && tp.load_balancer->locality_lb_setting) {
        unenforced_.insert(n + at + ".loadBalancer.localityLbSetting");
      }
      if (tp.load_balancer && tp.load_balancer->warmup_duration_secs) {
        unenforced_.insert(n + at + ".loadBalancer.warmup");
      }
    };
    if (dr.traffic_policy) note(*dr.traffic_policy, ".trafficPolicy");
    for (const auto& s : dr.subsets) {
      if (s.traffic_policy) note(*s.traffic_policy, ".subsets[" + s.name + "].trafficPolicy");
    }
    if (!dr.export_to.empty()) unenforced_.insert(n + ".exportTo");
    if (!dr.workload_selector.empty()) unenforced_.insert(n + ".workloadSelector");
  }
  // The Sidecar of this proxy: its egress hosts are enforced (sidecar_scope.h), the rest not.
  auto scope = scopeOf(in_);
  if (scope && scope->on_demand) {
    snap_->loads_on_demand = true;
    snap_->loaded_on_demand.assign(in_.on_demand_hosts->begin(), in_.on_demand_hosts->end());
  }
  if (scope && !scope->on_demand) {
    snap_->sidecar_resource = scope->resource;
    snap_->sidecar_egress_hosts = scope->written;
    for (const auto& sc : in_.config.sidecars) {
      if (sc.meta.ns + "/" + sc.meta.name != scope->resource) continue;
      const std::string n = "Sidecar " + scope->resource;
      const auto& spec = sc.spec;
      if (spec.contains("ingress")) unenforced_.insert(n + ".ingress");
      if (spec.contains("inboundConnectionPool")) unenforced_.insert(n + ".inboundConnectionPool");
      if (sc.outbound_traffic_policy_mode == "REGISTRY_ONLY") {
        unenforced_.insert(n +
                           ".outboundTrafficPolicy.mode REGISTRY_ONLY (unknown destinations pass "
                           "through as with ALLOW_ANY)");
      }
      if (spec.contains("outboundTrafficPolicy") &&
          spec["outboundTrafficPolicy"].contains("egressProxy")) {
        unenforced_.insert(n + ".outboundTrafficPolicy.egressProxy");
      }
      if (spec.contains("egress") && spec["egress"].is_array()) {
        for (size_t i = 0; i < spec["egress"].size(); ++i) {
          const auto& e = spec["egress"][i];
          const std::string at = n + ".egress[" + std::to_string(i) + "]";
          if (e.contains("port")) unenforced_.insert(at + ".port (its hosts apply to every port)");
          if (e.contains("bind")) unenforced_.insert(at + ".bind");
          if (e.contains("captureMode")) unenforced_.insert(at + ".captureMode");
        }
      }
      for (const auto& h : scope->written) {
        if (!parseEgressHost(h, in_.proxyNamespace())) {
          diag(fmt::format("{}: egress host '{}' is not namespace/dnsName; it admits nothing", n,
                           h));
        }
      }
      break;
    }
  }
  snap_->unenforced.assign(unenforced_.begin(), unenforced_.end());
}

}  // namespace sluice::control::snapshot
