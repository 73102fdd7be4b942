#pragma once
// Internal to the validator (config/validate.h): one validate<Kind> per resource kind, each in
// its own file beside this one, and the rules several kinds share. All report through a
// DiagnosticReporter about the resource they check.

#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic_reporter.h"
#include "config/model.h"

namespace sluice::config::validation {

void validateVirtualService(ConfigSet& set, const VirtualService& vs);
void validateDestinationRule(ConfigSet& set, const DestinationRule& dr);
void validateGateway(ConfigSet& set, const Gateway& gw);
void validateServiceEntry(ConfigSet& set, const ServiceEntry& se);
void validateWorkloadEntry(ConfigSet& set, const WorkloadEntry& we);

// --- shared rules ----------------------------------------------------------------------------

std::string join(const std::vector<std::string>& items, std::string_view sep);

// A VirtualService bound to the mesh (no gateways, or "mesh" among them).
bool isMeshBound(const std::vector<std::string>& gateways);

// spec.exportTo: ".", "*", "~" (when allow_none) or namespaces, without contradictions.
void checkExportTo(DiagnosticReporter& r, const std::vector<std::string>& export_to,
                   bool allow_none);

// Kubernetes label keys ([prefix/]name) and values.
void checkLabels(DiagnosticReporter& r, const StringMap& labels, const Position& at,
                 const std::string& path);

}  // namespace sluice::config::validation
