#include "registry/registry_url.h"

#include "core/strings.h"

namespace sluice::registry {

std::optional<RegistryUrlParts> splitRegistryUrl(std::string_view url, std::string_view scheme) {
  if (url.size() < scheme.size() || !equalsIgnoreCase(url.substr(0, scheme.size()), scheme)) {
    return std::nullopt;
  }
  RegistryUrlParts parts;
  parts.rest = url.substr(scheme.size());
  if (size_t q = parts.rest.find('?'); q != std::string_view::npos) {
    parts.query = http::parseQuery(parts.rest.substr(q + 1));
    parts.rest = parts.rest.substr(0, q);
  }
  return parts;
}

tl::unexpected<Error> registryUrlError(std::string_view url, std::string_view what,
                                       std::string_view usage) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                   fmt::format("registry URL '{}': {} (expected {})", url, what, usage));
}

}  // namespace sluice::registry
