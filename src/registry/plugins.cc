#include "registry/plugins.h"

#include <vector>

#include "core/strings.h"

// One include and one table line per registry (see README.md, "Adding a registry").
#include "registry/consul/plugin.h"
#include "registry/eureka/plugin.h"
#include "registry/nacos/plugin.h"
#include "registry/zookeeper/plugin.h"

namespace sluice::registry {

std::span<const Plugin* const> plugins() {
  static const std::vector<const Plugin*> table = {
      // name     plug-in (src/registry/<name>/plugin.h)
      &nacos::plugin(),      // nacos://      Nacos v1 HTTP naming API; embedded server; method 2
      &eureka::plugin(),     // eureka://     Eureka REST /eureka/apps (+ delta); embedded server;
                             // method 2
      &zookeeper::plugin(),  // zookeeper://  Curator service discovery under /services
      &consul::plugin(),  // consul://     Consul HTTP API, blocking queries; embedded agent; method
                          // 2
  };
  return table;
}

const Plugin* findPlugin(std::string_view name) {
  std::string wanted = toLower(name);
  for (const Plugin* p : plugins()) {
    if (p->name == wanted) return p;
  }
  return nullptr;
}

std::string supportedUrls() {
  std::string out;
  for (const Plugin* p : plugins()) {
    if (!out.empty()) out += "; ";
    out += p->url_syntax;
  }
  return out;
}

}  // namespace sluice::registry
