#pragma once
// What every adapter's registry URL parser ("nacos://...", "eureka://...") starts from: the
// scheme check, the split at '?', the decoded query, and one wording for errors.

#include <optional>
#include <string_view>

#include "core/result.h"
#include "http/url.h"

namespace sluice::registry {

struct RegistryUrlParts {
  std::string_view rest;    // after "SCHEME://", before '?': authority and any path (a view of url)
  http::QueryParams query;  // decoded, in order
};

// Splits `url` if it starts with `scheme` (e.g. "nacos://", compared case-insensitively);
// nullopt otherwise.
std::optional<RegistryUrlParts> splitRegistryUrl(std::string_view url, std::string_view scheme);

// The invalid-argument config error the parsers return:
// "registry URL '<url>': <what> (expected <usage>)".
tl::unexpected<Error> registryUrlError(std::string_view url, std::string_view what,
                                       std::string_view usage);

}  // namespace sluice::registry
