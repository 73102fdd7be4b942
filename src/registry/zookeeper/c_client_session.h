#pragma once
// The production ZkSession: one session of Debian's libzookeeper-mt (the official C client, the
// multi-threaded build: an I/O thread and a completion thread of its own per session).
//
// Why the C client and not our own codec: it already does what a session needs and is easy to
// get subtly wrong — server fail-over in the connect string, pings, re-sending watches on
// reconnect (SetWatches), session expiry. Only this file includes <zookeeper/zookeeper.h>.
//
// Its log lines go to our log at debug level (it logs every failed connect attempt); the watcher
// reports connection state itself.

#include "registry/zookeeper/session.h"
#include "registry/zookeeper/source.h"

namespace sluice::registry::zookeeper {

// A ZkSessionFactory. Never blocks on the network.
Result<std::unique_ptr<ZkSession>> openCClientSession(const ZooKeeperSource& source,
                                                      ZkEventSink sink);

}  // namespace sluice::registry::zookeeper
