#include "config/diagnostic_reporter.h"

namespace sluice::config {

void DiagnosticReporter::report(Severity severity, const Position& at, std::string field_path,
                                std::string message, std::string code) {
  Diagnostic d;
  d.severity = severity;
  d.pos = at;
  if (resource_ != nullptr) {
    if (d.pos.line == 0) d.pos = resource_->pos;
    d.kind = resource_->kind;
    d.ns = resource_->ns;
    d.name = resource_->name;
    if (!resource_->kind.empty()) d.resource_pos = resource_->pos;
  }
  d.field_path = std::move(field_path);
  d.message = std::move(message);
  d.code = std::move(code);
  out_.push_back(std::move(d));
}

std::string_view severityName(Severity severity) {
  return severity == Severity::kError ? "error" : "warning";
}

std::string formatDiagnosticLine(const Diagnostic& d) {
  std::string out(severityName(d.severity));
  if (!d.code.empty()) out += "[" + d.code + "]";
  out += ": " + d.format();
  return out;
}

}  // namespace sluice::config
