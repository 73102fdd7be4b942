#pragma once
// The Consul registry plug-in (registry/plugin.h): the `consul://` watcher (blocking queries on
// /v1/catalog/services and /v1/health/service/<name>?passing) and the embedded agent of
// `sluice registry --protocol consul`. Consul's defaults (port 8500, datacenter dc1) live in this
// folder, nowhere else.

#include "registry/plugin.h"

namespace sluice::registry::consul {

const Plugin& plugin();

}  // namespace sluice::registry::consul
