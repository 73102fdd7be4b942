#include "control/registry_factory.h"

#include "core/strings.h"
#include "registry/plugins.h"

namespace sluice::control {

Result<std::string> registryScheme(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return makeError(
        ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
        fmt::format("--registry {}: not a URL (supported: {})", url, registry::supportedUrls()));
  }
  return toLower(url.substr(0, sep));
}

Result<std::unique_ptr<registry::Watcher>> makeRegistryWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(std::string scheme, registryScheme(url));
  const registry::Plugin* plugin = registry::findPlugin(scheme);
  if (plugin == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     fmt::format("--registry {}: unknown registry scheme '{}' (supported: {})", url,
                                 scheme, registry::supportedUrls()));
  }
  return plugin->make_watcher(url);
}

}  // namespace sluice::control
