#pragma once
// Visibility (Istio's exportTo): which VirtualServices, DestinationRules and ServiceEntries exist
// for the proxy a snapshot is built for.

#include <optional>
#include <string>
#include <vector>

#include "control/snapshot/inputs.h"

namespace sluice::control::snapshot {

// exportTo: "*" or absent = every namespace, "." = the object's own, "~" = none, else namespace
// names.
bool visibleTo(const std::vector<std::string>& export_to, const std::string& object_ns,
               const std::string& proxy_ns);

// A copy of `inputs` without the objects that are not exported to inputs.proxyNamespace(), or
// nullopt when every object is visible (the common case: no copy is made).
std::optional<SnapshotInputs> withoutInvisible(const SnapshotInputs& inputs);

}  // namespace sluice::control::snapshot
