#pragma once
// What every registry adapter (Nacos, later Eureka, Consul, ZooKeeper) hands to the mesh: the
// instances of each service it knows, as full lists. The mesh never sees wire formats.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sluice::registry {

struct Instance {
  std::string ip;
  uint16_t port = 0;
  double weight = 1.0;
  bool healthy = true;
  bool enabled = true;
  std::string cluster = "DEFAULT";
  // Registry metadata; becomes the endpoint's labels (DestinationRule subsets select on them).
  std::map<std::string, std::string> metadata;
  bool operator==(const Instance&) const = default;
};

struct Service {
  std::string name;          // registry service name without group, e.g. "service-provider"
  std::string namespace_id;  // Nacos namespace ("public"), Consul datacenter...
  std::string group;         // Nacos group ("DEFAULT_GROUP")
  std::vector<Instance> instances;
  bool operator==(const Service&) const = default;
};

// State of one registry source, as /clusters and metrics report it.
struct SourceStatus {
  std::string source;  // e.g. "nacos://127.0.0.1:8848"
  bool reachable = false;
  std::string last_error;
  int64_t last_success_unix_ms = 0;
};

// A watcher keeps the service list of one registry current. `on_change` receives the full set of
// services every time anything changes; on an outage the last known set stays (no callback).
class Watcher {
 public:
  using OnChange = std::function<void(const std::vector<Service>&)>;
  virtual ~Watcher() = default;
  virtual void start(OnChange on_change) = 0;
  virtual void stop() = 0;
  virtual SourceStatus status() const = 0;
};

}  // namespace sluice::registry
