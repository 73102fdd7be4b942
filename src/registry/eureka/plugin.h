#pragma once
// The eureka registry plug-in (registry/plugin.h): the Eureka REST watcher behind `eureka://` URLs.

#include "registry/plugin.h"

namespace sluice::registry::eureka {

const Plugin& plugin();

}  // namespace sluice::registry::eureka
