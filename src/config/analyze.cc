#include "config/analyze.h"

#include "config/diagnostic_reporter.h"
#include "config/loader.h"

namespace sluice::config {

namespace {
std::string plural(size_t n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}
}  // namespace

std::string summaryLine(const ConfigSet& set) {
  return fmt::format("{}, {} in {} from {}", plural(set.errorCount(), "error"),
                     plural(set.warningCount(), "warning"), plural(set.resourceCount(), "resource"),
                     plural(set.files_read, "file"));
}

std::string formatText(const ConfigSet& set) {
  std::string out;
  for (const auto& d : set.diagnostics) {
    out += formatDiagnosticLine(d) + "\n";
  }
  out += summaryLine(set) + "\n";
  return out;
}

nlohmann::json toJson(const ConfigSet& set) {
  nlohmann::json diags = nlohmann::json::array();
  for (const auto& d : set.diagnostics) {
    diags.push_back({{"severity", severityName(d.severity)},
                     {"file", d.pos.file},
                     {"line", d.pos.line},
                     {"column", d.pos.column},
                     {"kind", d.kind},
                     {"namespace", d.ns},
                     {"name", d.name},
                     {"field", d.field_path},
                     {"message", d.message},
                     {"code", d.code}});
  }
  nlohmann::json out = {{"diagnostics", diags},
                        {"summary",
                         {{"errors", set.errorCount()},
                          {"warnings", set.warningCount()},
                          {"resources", set.resourceCount()},
                          {"files", set.files_read},
                          {"text", summaryLine(set)}}}};
  if (!set.io_errors.empty()) out["ioErrors"] = set.io_errors;
  return out;
}

int analyzeExitCode(const ConfigSet& set) {
  if (!set.io_errors.empty()) return 2;
  return set.errorCount() > 0 ? 1 : 0;
}

int runAnalyze(const std::vector<std::string>& paths, AnalyzeOutput output, std::ostream& out,
               std::ostream& err) {
  ConfigSet set = loadPaths(paths);
  for (const auto& e : set.io_errors) err << "error: " << e << "\n";
  if (output == AnalyzeOutput::kJson) {
    out << toJson(set).dump(2) << "\n";
  } else {
    out << formatText(set);
  }
  return analyzeExitCode(set);
}

}  // namespace sluice::config
