// Config fields that are accepted but not enforced, listed on /config_dump and logged once.
#include "control/snapshot/builder.h"

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
  if (!in_.config.sidecars.empty()) unenforced_.insert("Sidecar resources");
  snap_->unenforced.assign(unenforced_.begin(), unenforced_.end());
}

}  // namespace sluice::control::snapshot
