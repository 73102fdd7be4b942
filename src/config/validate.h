#pragma once
// Semantic validation of loaded resources, as Istio's validation webhook and `istioctl analyze`
// apply it. The loader (config/loader.h) already runs all of this; these entry points exist for
// tests and for callers that build resources in code.
//
// Checks that need the YAML (types, unknown fields, durations, regex compilation, value ranges)
// happen while decoding, in the loader. Everything here works on the typed model and reports with
// the positions stored in it.

#include "config/model.h"

namespace sluice::config {

// Per-resource rules for every resource in `set`; appends to set.diagnostics.
void validateResources(ConfigSet& set);

// Rules across resources: VirtualService subsets and gateways that do not exist (IST0101),
// duplicate resource names, several DestinationRules for one host, several mesh VirtualServices
// for one host (IST0109). Appends to set.diagnostics.
void validateCrossResource(ConfigSet& set);

}  // namespace sluice::config
