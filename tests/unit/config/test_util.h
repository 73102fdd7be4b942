#pragma once
// Helpers for config tests: load inline YAML and look for diagnostics.

#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace sluice::config::testing {

inline std::vector<const Diagnostic*> find(const ConfigSet& set, Severity severity,
                                           std::string_view needle) {
  std::vector<const Diagnostic*> out;
  for (const auto& d : set.diagnostics) {
    if (d.severity == severity && d.format().find(needle) != std::string::npos) {
      out.push_back(&d);
    }
  }
  return out;
}

inline bool hasError(const ConfigSet& set, std::string_view needle) {
  return !find(set, Severity::kError, needle).empty();
}

inline bool hasWarning(const ConfigSet& set, std::string_view needle) {
  return !find(set, Severity::kWarning, needle).empty();
}

inline std::string dump(const ConfigSet& set) {
  std::string out;
  for (const auto& d : set.diagnostics) {
    out += (d.severity == Severity::kError ? "E " : "W ") + d.format() + "\n";
  }
  for (const auto& e : set.io_errors) out += "IO " + e + "\n";
  return out;
}

// Prefixes every line of `body` with `indent` spaces.
inline std::string indent(std::string_view body, int spaces) {
  std::string out;
  std::string pad(static_cast<size_t>(spaces), ' ');
  bool line_start = true;
  for (char c : body) {
    if (line_start && c != '\n') out += pad;
    out += c;
    line_start = c == '\n';
  }
  return out;
}

// A resource document with the given kind and spec body (YAML, unindented).
inline std::string doc(std::string_view kind, std::string_view name, std::string_view spec) {
  return "apiVersion: networking.istio.io/v1\nkind: " + std::string(kind) +
         "\nmetadata:\n  name: " + std::string(name) + "\n  namespace: default\nspec:\n" +
         indent(spec, 2) + "\n---\n";
}

}  // namespace sluice::config::testing
