#pragma once
// The zookeeper registry plug-in (registry/plugin.h): the ZooKeeper (Curator layout) watcher behind
// `zookeeper://` URLs.

#include "registry/plugin.h"

namespace sluice::registry::zookeeper {

const Plugin& plugin();

}  // namespace sluice::registry::zookeeper
