#pragma once
// What a VirtualService refers to, and whether it exists: the subsets (a DestinationRule for the
// host defines them), the gateways it binds to, and (when the caller knows them) the destination
// hosts. One walk shared by `sluice analyze` (validate/cross_resource.cc) and the control plane,
// which holds a VirtualService back while a reference does not resolve (control/config_store.h),
// so both report the same IST0101 findings with the same words.
//
// Contract: pure functions over a loaded ConfigSet; no state, any thread.

#include <functional>
#include <vector>

#include "config/model.h"

namespace sluice::config {

// Is the destination's host a service someone knows (a registry, a ServiceEntry)? Only the
// caller can tell: `sluice analyze` has no registry and does not check hosts.
using HostKnown = std::function<bool(const Destination&)>;

// Appends the reference findings of `vs` against the other resources of `set`:
// - IST0101 (error) for a subset no DestinationRule for its host defines, a gateway that does
//   not exist and, when `host_known` is given, a destination host it does not know;
// - IST0132 (warning) for a host of `vs` that the bound gateway's servers do not admit.
void checkVirtualServiceReferences(const ConfigSet& set, const VirtualService& vs,
                                   std::vector<Diagnostic>& out,
                                   const HostKnown& host_known = nullptr);

// The IST0101 errors among `findings` (the ones that hold a VirtualService back).
bool hasUnresolvedReference(const std::vector<Diagnostic>& findings);

}  // namespace sluice::config
