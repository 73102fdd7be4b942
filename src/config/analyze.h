#pragma once
// `sluice analyze`: load config paths, report diagnostics like `istioctl analyze`.
// The CLI only parses flags and calls runAnalyze.

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "config/model.h"

namespace sluice::config {

enum class AnalyzeOutput { kText, kJson };

// "N errors, M warnings in K resources from F files".
std::string summaryLine(const ConfigSet& set);

// One line per diagnostic ("error[IST0101]: file:line:col: Kind/ns/name: field: message"), then
// the summary line.
std::string formatText(const ConfigSet& set);

// {"diagnostics": [{severity, file, line, column, kind, namespace, name, field, message, code}],
//  "summary": {errors, warnings, resources, files}}; io_errors appear as "ioErrors".
nlohmann::json toJson(const ConfigSet& set);

// 2 when a path is missing or unreadable, 1 when there are errors, else 0.
int analyzeExitCode(const ConfigSet& set);

// Loads `paths`, writes the report to `out` (io errors go to `err`), returns the exit code.
int runAnalyze(const std::vector<std::string>& paths, AnalyzeOutput output, std::ostream& out,
               std::ostream& err);

}  // namespace sluice::config
