#pragma once
// The one way a problem becomes a Diagnostic, shared by every stage that finds problems: the
// file checks (size, prescan, YAML syntax) and the decoders in the loader, the validator
// (config/validate.h) and the EnvoyFilter recognisers (config/envoy_filter.h).
//
// Contract:
// - A reporter appends to a diagnostics list it does not own (usually ConfigSet::diagnostics),
//   which must outlive it. Not thread-safe; make one per resource (or per file) walk.
// - A reporter about a resource reads the resource's Meta at every report, not once: the loader
//   fills the Meta while it decodes `metadata`, and early reports carry what is known so far.
// - A position with line 0 (unknown) is replaced by the resource's own position, so every
//   diagnostic about a resource points into its document.

#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace sluice::config {

class DiagnosticReporter {
 public:
  // Problems about `resource` (kind, namespace and name are copied from it at each report).
  DiagnosticReporter(std::vector<Diagnostic>& out, const Meta& resource)
      : out_(out), resource_(&resource) {}

  // Problems about a whole file (no resource; the position is used as given).
  static DiagnosticReporter forFile(std::vector<Diagnostic>& out) {
    return DiagnosticReporter(out, nullptr);
  }

  void report(Severity severity, const Position& at, std::string field_path, std::string message,
              std::string code = "");
  void error(const Position& at, std::string field_path, std::string message,
             std::string code = "") {
    report(Severity::kError, at, std::move(field_path), std::move(message), std::move(code));
  }
  void warn(const Position& at, std::string field_path, std::string message,
            std::string code = "") {
    report(Severity::kWarning, at, std::move(field_path), std::move(message), std::move(code));
  }

  // The resource being reported on; only for reporters made with a Meta.
  const Meta& resource() const { return *resource_; }

 private:
  DiagnosticReporter(std::vector<Diagnostic>& out, std::nullptr_t) : out_(out) {}

  std::vector<Diagnostic>& out_;
  const Meta* resource_ = nullptr;
};

// "error" or "warning".
std::string_view severityName(Severity severity);

// One line as `sluice analyze` and the logs print it:
// "error[IST0101]: file:line:col: Kind/ns/name: field.path: message" (code part when set).
std::string formatDiagnosticLine(const Diagnostic& d);

}  // namespace sluice::config
