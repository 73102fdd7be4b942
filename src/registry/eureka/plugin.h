#pragma once
// The Eureka registry plug-in (registry/plugin.h): the `eureka://` watcher (full fetch, then
// deltas checked against the apps hash code) and the embedded server of
// `sluice registry --protocol eureka`. Eureka's defaults (port 8761, API root /eureka, lease
// 90 s) live in this folder, nowhere else.

#include "registry/plugin.h"

namespace sluice::registry::eureka {

const Plugin& plugin();

}  // namespace sluice::registry::eureka
