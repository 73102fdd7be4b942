#include "control/registry_factory.h"

#include "core/strings.h"
#include "registry/eureka/watcher.h"
#include "registry/nacos/watcher.h"
#include "registry/zookeeper/watcher.h"

namespace sluice::control {

namespace {

constexpr const char* kSupported =
    "supported: nacos://HOST:PORT[?namespace=NS&group=GROUP], eureka://HOST:PORT[/PATH], "
    "zookeeper://HOST:PORT[,HOST:PORT...][/ROOT]";

}  // namespace

Result<std::string> registryScheme(std::string_view url) {
  auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     fmt::format("--registry {}: not a URL ({})", url, kSupported));
  }
  return toLower(url.substr(0, sep));
}

Result<std::unique_ptr<registry::Watcher>> makeRegistryWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(std::string scheme, registryScheme(url));
  if (scheme == "nacos") {
    return registry::nacos::makeWatcher(url);
  }
  if (scheme == "eureka") return registry::eureka::makeWatcher(url);
  if (scheme == "zookeeper") return registry::zookeeper::makeWatcher(url);
  return makeError(
      ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
      fmt::format("--registry {}: unknown registry scheme '{}' ({})", url, scheme, kSupported));
}

}  // namespace sluice::control
