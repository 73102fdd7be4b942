#pragma once
// What every registry adapter (Nacos, Eureka, Consul, ZooKeeper, ...) hands to the mesh: the
// instances of each service it knows, as full lists. The mesh never sees wire formats. How an
// adapter is found (URL scheme, embedded server, method-2 rewriter) is registry/plugin.h.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
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
  std::string name;  // registry service name without group, e.g. "service-provider"
  // Where in the registry the service lives, as the adapter names it (Nacos: namespace "public",
  // group "DEFAULT_GROUP"; Consul: datacenter). The adapter fills in its own defaults: the mesh
  // only shows these (describeScope) and never assumes a registry's defaults.
  std::string namespace_id;
  std::string group;
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

// "namespace public, group DEFAULT_GROUP" (empty parts left out; "" when both are empty), for
// messages and /config_dump.
inline std::string describeScope(const Service& s) {
  std::string out;
  if (!s.namespace_id.empty()) out = "namespace " + s.namespace_id;
  if (!s.group.empty()) out += (out.empty() ? "group " : ", group ") + s.group;
  return out;
}

// Which services of a registry the mesh needs (the Istio Sidecar resource of this proxy limits its
// egress hosts): `all`, or only the services whose lower-cased name is in `names`. A watcher
// subscribes to / fetches / keeps only the wanted services where its protocol allows and never
// reports others.
struct Interest {
  bool all = true;
  std::set<std::string> names;  // lower-cased
  bool wants(std::string_view name) const;
  bool operator==(const Interest&) const = default;
};

// Drops the services `interest` does not want.
void keepWanted(std::vector<Service>& services, const Interest& interest);

// A watcher keeps the service list of one registry current. `on_change` receives the full set of
// services every time anything changes; on an outage the last known set stays (no callback).
// Threads: start/stop/refreshNow/status may be called from any thread; on_change and the
// refreshNow callback run on a thread of the watcher's choosing (the caller hops if it must).
class Watcher {
 public:
  using OnChange = std::function<void(const std::vector<Service>&)>;
  using OnRefreshed = std::function<void()>;
  virtual ~Watcher() = default;
  // Starts watching. Call once.
  virtual void start(OnChange on_change) = 0;
  // No on_change or refresh callback starts after stop() returns.
  virtual void stop() = 0;
  virtual SourceStatus status() const = 0;
  // Asks for the registry's current state now instead of at the next poll (a request to an
  // address inside pod_cidrs that no known instance has: maybe an instance registered since).
  // `done` runs once that read has finished, after on_change if something changed; also when the
  // read failed (status() says why). After stop() it may never run: a caller bounds its own wait.
  // Several requests while one read is pending share the next read. Push-based watchers that are
  // always current keep this default.
  virtual void refreshNow(OnRefreshed done) {
    if (done) done();
  }
  // Limits the services the watcher subscribes to and reports (default: every one). May be called
  // from any thread, before or after start(); a change is read and reported (on_change) as soon
  // as the watcher can, services no longer wanted leave the next report.
  virtual void setInterest(Interest interest) = 0;
};

}  // namespace sluice::registry
