#pragma once
// Loading Istio YAML into a ConfigSet.
//
// Contract:
// - Never throws, never crashes or hangs on junk input: truncated YAML, wrong types, tabs, NUL
//   or binary bytes, very deep nesting (rejected by a pre-scan before yaml-cpp recurses), huge
//   documents (files above kMaxFileBytes are rejected), alias bombs (bounded node budget).
// - Every problem becomes a Diagnostic with file:line:column (1-based), the resource and the
//   field path. Unknown fields are errors (like Istio's strict decoding); unknown apiVersion or
//   kind is a warning and the document is skipped. A resource with errors is still kept in the
//   set (so cross-resource checks can see it); callers that apply config must check
//   `ConfigSet::ok()`, or accept resource by resource (control/config_store.h): a diagnostic
//   about a resource carries the position of its document (Diagnostic::resource_pos).
// - Each YAML document is parsed on its own (the stream is split at "---" / "..." lines, which
//   YAML forbids inside content), so a document that fails to parse is reported at its own lines
//   and the documents around it still load.
// - The returned set is fully validated: per-resource rules (config/validate.h), cross-resource
//   rules (IST0101 references, duplicate DestinationRules, IST0130 unreachable rules), the
//   EnvoyFilter recognisers (ConfigSet::reverse_dns / registry_interception) and the "parsed but
//   not enforced" warnings (config/unenforced.h) have run.
// - A path that is missing or unreadable is a usage problem, reported in ConfigSet::io_errors
//   (not as a Diagnostic), so `sluice analyze` can exit 2.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace sluice::config {

inline constexpr size_t kMaxFileBytes = 32 * 1024 * 1024;
inline constexpr int kMaxNestingDepth = 64;

// Loads files and directories. A directory contributes its *.yaml, *.yml and *.json files in
// sorted order (not recursive). Several documents per file ("---") and `kind: List` are fine.
ConfigSet loadPaths(const std::vector<std::string>& paths);

// Loads one YAML text as if it were the file `file_name`.
ConfigSet loadString(std::string_view yaml, std::string_view file_name);

}  // namespace sluice::config
