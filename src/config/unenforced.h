#pragma once
// Fields that Sluice parses and validates but whose behaviour the data plane does not implement
// yet. The loader warns at every use of one of them ("parsed but not enforced"), so nobody
// believes a setting is active when it is not.
//
// HOW TO EDIT: the table lives in config/unenforced.cc, one line per field. When you implement a
// field in the proxy, delete its line there (and the loader stops warning). Entries are:
//   "<Kind>.<field path without list indices>"            e.g. "VirtualService.spec.http.mirror"
//   "<Kind>.<field path>=<VALUE>" for one value of an enum e.g. "ServiceEntry.spec.resolution=DNS"
// The path is the YAML path (lowerCamelCase keys); a nested field is only reported when its
// parent is not itself listed. Enum values are compared case-insensitively.

#include <span>
#include <string_view>

namespace sluice::config {

struct UnenforcedField {
  std::string_view path;
  std::string_view reason;
};

// The whole table.
std::span<const UnenforcedField> unenforcedFields();

// The entry for `path` (as described above), or nullptr.
const UnenforcedField* findUnenforced(std::string_view path);

}  // namespace sluice::config
