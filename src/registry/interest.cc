#include <algorithm>

#include "core/strings.h"
#include "registry/registry.h"

namespace sluice::registry {

bool Interest::wants(std::string_view name) const {
  if (all) return true;
  if (names.empty()) return false;
  return names.count(toLower(name)) != 0;
}

void keepWanted(std::vector<Service>& services, const Interest& interest) {
  if (interest.all) return;
  std::erase_if(services, [&](const Service& s) { return !interest.wants(s.name); });
}

}  // namespace sluice::registry
