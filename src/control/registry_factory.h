#pragma once
// Creates the registry::Watcher for one `--registry URL`, chosen by the URL's scheme from the
// plug-in table (registry/plugins.h); which schemes exist is the table's business, not control's.
//
// Errors: kInvalidArgument naming the URL for an unknown scheme or a malformed URL, listing the
// supported URL forms (the CLI turns it into a usage error, exit 2).

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
