#include "registry/plugin.h"

#include <cstdint>

#include "core/strings.h"

namespace sluice::registry {

std::string ServerFlagValues::get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

Result<int64_t> ServerFlagValues::getInt(const std::string& name) const {
  std::string value = get(name);
  bool negative = !value.empty() && value[0] == '-';
  auto magnitude =
      parseUint(negative ? std::string_view(value).substr(1) : value, uint64_t{INT64_MAX});
  if (!magnitude) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                     fmt::format("{} {}: not an integer", name, value));
  }
  auto v = static_cast<int64_t>(*magnitude);
  return negative ? -v : v;
}

}  // namespace sluice::registry
