#pragma once
// Creates the registry::Watcher for one `--registry URL`, chosen by the URL's scheme.
//
//   nacos://HOST:PORT[?namespace=NS&group=GROUP]   Nacos v1 HTTP naming API (1.x and 2.x servers)
//   eureka://HOST:PORT[/PATH][?poll_interval_ms=N&delta=BOOL]   Eureka REST (Spring Cloud Netflix)
//
// Errors: kInvalidArgument naming the URL for an unknown scheme or a malformed URL (the CLI turns
// it into a usage error, exit 2).

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "registry/registry.h"

namespace sluice::control {

// The scheme of a registry URL ("nacos" for "nacos://..."); kInvalidArgument without "://".
Result<std::string> registryScheme(std::string_view url);

Result<std::unique_ptr<registry::Watcher>> makeRegistryWatcher(const std::string& url);

}  // namespace sluice::control
