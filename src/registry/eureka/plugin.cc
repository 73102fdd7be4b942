#include "registry/eureka/plugin.h"

#include "registry/eureka/watcher.h"

namespace sluice::registry::eureka {

const Plugin& plugin() {
  static const Plugin kPlugin{
      .name = "eureka",
      .url_syntax =
          "eureka://HOST[:PORT][/PATH][?poll_interval_ms=N&delta=BOOL] (port 8761, path /eureka)",
      .make_watcher = makeWatcher,
      .server = std::nullopt,  // none wired yet
      .rewriter = nullptr,     // none yet
  };
  return kPlugin;
}

}  // namespace sluice::registry::eureka
