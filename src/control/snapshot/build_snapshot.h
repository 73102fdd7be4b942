#pragma once
// buildSnapshot(): folds SnapshotInputs (config + registry state) into the immutable
// proxy::MeshSnapshot the data plane reads. Pure function of its inputs, no I/O, no shared state:
// callable from any thread (MeshController calls it on the main thread). Never fails on a loaded
// config: problems become the snapshot's `diagnostics`, accepted-but-ignored fields its
// `unenforced`.
//
// The assembly is split by concern, one file each (src/control/README.md lists them):
// services_and_vips, clusters, http_routes, gateways, tcp_routes, interception, visibility,
// unenforced.

#include <memory>

#include "control/snapshot/inputs.h"
#include "proxy/snapshot.h"

namespace sluice::control {

std::shared_ptr<const proxy::MeshSnapshot> buildSnapshot(const SnapshotInputs& inputs);

}  // namespace sluice::control
