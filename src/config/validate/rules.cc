// Rules several kinds share.

#include "config/validate/rules.h"

#include <set>

#include "config/names.h"

namespace sluice::config::validation {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

bool isMeshBound(const std::vector<std::string>& gateways) {
  if (gateways.empty()) return true;
  for (auto& g : gateways) {
    if (g == "mesh") return true;
  }
  return false;
}

void checkExportTo(DiagnosticReporter& r, const std::vector<std::string>& export_to,
                   bool allow_none) {
  std::set<std::string> seen;
  bool has_public = false;
  bool has_other = false;
  bool has_none = false;
  for (size_t i = 0; i < export_to.size(); ++i) {
    const auto& e = export_to[i];
    const std::string path = fmt::format("spec.exportTo[{}]", i);
    if (!seen.insert(e).second) {
      r.error({}, path, fmt::format("duplicate entries in exportTo for entry {}", e));
      continue;
    }
    if (e == "*") {
      has_public = true;
    } else if (e == "~") {
      if (!allow_none) {
        r.error({}, path, "exportTo ~ (none) is not allowed for Istio configuration objects");
      }
      has_none = true;
    } else if (e == "." || isDns1123Label(e)) {
      has_other = true;
      if (e == r.resource().ns && seen.count(".")) {
        r.error({}, path,
                fmt::format("duplicate entries in exportTo: . and current namespace {}", e));
      }
    } else {
      r.error({}, path, "only .,*, or a valid DNS 1123 label is allowed as exportTo entry");
    }
  }
  if (has_public && (has_other || has_none)) {
    r.error({}, "spec.exportTo",
            "cannot have both public (*) and non-public exportTo values for a resource");
  }
  if (has_none && has_other) {
    r.error({}, "spec.exportTo", "cannot export service entry to no one (~) and someone");
  }
}

void checkLabels(DiagnosticReporter& r, const StringMap& labels, const Position& at,
                 const std::string& path) {
  for (auto& [k, v] : labels) {
    std::string_view name = k;
    auto slash = name.find('/');
    bool ok = true;
    if (slash != std::string_view::npos) {
      ok = isDns1123Subdomain(name.substr(0, slash));
      name = name.substr(slash + 1);
    }
    auto labelChars = [](std::string_view s) {
      if (s.size() > 63) return false;
      if (s.empty()) return true;
      auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      };
      if (!alnum(s.front()) || !alnum(s.back())) return false;
      for (char c : s) {
        if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
      }
      return true;
    };
    if (!ok || name.empty() || !labelChars(name)) {
      r.error(at, path + "." + k, fmt::format("invalid tag key: \"{}\"", k));
    }
    if (!labelChars(v)) r.error(at, path + "." + k, fmt::format("invalid tag value: \"{}\"", v));
  }
}

}  // namespace sluice::config::validation
