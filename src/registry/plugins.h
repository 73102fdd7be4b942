#pragma once
// The table of registry plug-ins (one line per registry in plugins.cc) and its lookups. This is
// the only place control and the CLI learn which registries exist.

#include <span>
#include <string>
#include <string_view>

#include "registry/plugin.h"

namespace sluice::registry {

// Every plug-in, in table order (the first is the default protocol of `sluice registry`).
std::span<const Plugin* const> plugins();

// The plug-in named `name` (URL scheme or protocol, case-insensitive), or nullptr.
const Plugin* findPlugin(std::string_view name);

// "nacos://HOST:PORT[...]; eureka://..." : the URL syntaxes of every plug-in, for messages.
std::string supportedUrls();

}  // namespace sluice::registry
