#pragma once
// The Nacos registry plug-in (registry/plugin.h): `nacos://` watcher over the v1 HTTP naming API,
// the embedded naming server of `sluice registry --protocol nacos` (the default protocol), and the
// instance-list rewriter of method 2. Nacos' defaults (port 8848, namespace `public`, group
// `DEFAULT_GROUP`) live here and in naming_model.h, nowhere else.

#include "registry/plugin.h"

namespace sluice::registry::nacos {

const Plugin& plugin();

}  // namespace sluice::registry::nacos
