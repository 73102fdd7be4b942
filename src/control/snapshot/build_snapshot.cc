// The order of assembly: services first (everything else refers to them), then clusters (routes
// point at them), routes, interception rules, and last the list of unenforced fields.
#include "control/snapshot/build_snapshot.h"

#include "control/snapshot/builder.h"
#include "control/snapshot/sidecar_scope.h"
#include "control/snapshot/visibility.h"

namespace sluice::control {

namespace snapshot {

Builder::Builder(const SnapshotInputs& in)
    : in_(in), snap_(std::make_shared<proxy::MeshSnapshot>()) {}

std::shared_ptr<const proxy::MeshSnapshot> Builder::build() {
  snap_->version = in_.version;
  snap_->default_namespace = in_.default_namespace;
  snap_->domain_suffix = in_.domain_suffix;
  snap_->registry_status = in_.registry_status;
  snap_->config_held_back = in_.held_back;
  addRegistryServices();
  addServiceEntries();
  assignVips();
  indexDestinationRules();
  // The default cluster of every service (its default route, and what /clusters lists).
  for (size_t i = 0; i < snap_->services.size(); ++i) {
    std::string missing;
    default_cluster_.push_back(clusterFor(snap_->services[i].fqdn, "", 0, missing));
  }
  buildMeshRoutes();
  buildTcpRoutes();
  buildGatewayListeners();
  buildReverseDns();
  buildInterceptionRules();
  noteUnenforced();
  return snap_;
}

}  // namespace snapshot

std::shared_ptr<const proxy::MeshSnapshot> buildSnapshot(const SnapshotInputs& inputs) {
  // Objects not exported to this proxy's namespace do not exist for it, nor, for a sidecar with a
  // Sidecar resource, what its egress hosts leave out.
  const SnapshotInputs* in = &inputs;
  auto visible = snapshot::withoutInvisible(*in);
  if (visible) in = &*visible;
  auto scoped = snapshot::withinEgress(*in);
  if (scoped) {
    visible.reset();
    in = &*scoped;
  }
  return snapshot::Builder(*in).build();
}

}  // namespace sluice::control
