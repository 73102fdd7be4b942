#include "registry/zookeeper/plugin.h"

#include "registry/zookeeper/watcher.h"
#include "registry/zookeeper/wire_rewriter.h"

namespace sluice::registry::zookeeper {

const Plugin& plugin() {
  static const Plugin kPlugin{
      .name = "zookeeper",
      .url_syntax =
          "zookeeper://HOST[:PORT][,HOST[:PORT]...][/ROOT][?sessionTimeoutMs=N] (port 2181, root "
          "/services)",
      .make_watcher = makeWatcher,
      .server = std::nullopt,  // none: run the real ZooKeeper
      .rewriter = nullptr,     // not HTTP: method 2 is on the ZooKeeper wire protocol
      .stream_rewriter = streamInterception(),
      .grpc_rewriter = nullptr,
  };
  return kPlugin;
}

}  // namespace sluice::registry::zookeeper
