#pragma once
// In-memory state of the embedded Nacos naming server:
//   namespace -> grouped service name ("DEFAULT_GROUP@@svc") -> instances keyed by
//   (cluster, ip, port), ordered, so answers are stable.
// Ephemeral instances live by heartbeats: unhealthy after the beat timeout, removed after the
// delete timeout (per instance overridable with the preserved.* metadata keys). Persistent
// instances (ephemeral=false) are written to a SnapshotStorage before a change is acknowledged;
// when that write fails the change is rolled back, so memory and disk never disagree.
//
// Threading: not thread-safe; the server uses it from its io_context thread only.
// Time: the injected clock returns wall-clock milliseconds (tests drive it by hand).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "registry/nacos/naming_model.h"
#include "registry/nacos/snapshot_storage.h"

namespace sluice::registry::nacos {

struct StoreOptions {
  int64_t beat_timeout_ms = 15'000;         // healthy -> unhealthy without a beat
  int64_t delete_timeout_ms = 30'000;       // removed without a beat
  int64_t client_beat_interval_ms = 5'000;  // what the beat answer tells clients
};

using Clock = std::function<int64_t()>;  // wall clock, unix milliseconds
int64_t systemClockMs();

// Identifies one instance inside a service.
struct InstanceKey {
  std::string cluster;
  std::string ip;
  uint16_t port = 0;
  auto operator<=>(const InstanceKey&) const = default;
};

struct ServiceRecord {
  std::string grouped_name;
  std::map<InstanceKey, NamingInstance> instances;
  int64_t last_modified_ms = 0;
};

// What PATCH may change; unset fields keep their value.
struct InstancePatch {
  std::optional<double> weight;
  std::optional<bool> enabled;
  std::optional<bool> healthy;
  std::optional<Metadata> metadata;
  std::optional<std::string> app;
};

// The instance description a beat carries (Nacos RsInfo); found instances only get their beat
// time refreshed, unknown ones are registered from it ("data compensation").
struct BeatInfo {
  std::string ip;
  uint16_t port = 0;
  std::string cluster;
  double weight = 1.0;
  bool ephemeral = true;
  Metadata metadata;
};

struct BeatResult {
  bool found = false;  // false: unknown instance and no beat body (20404)
  int64_t client_beat_interval_ms = 0;
};

class NamingStore {
 public:
  // Told (namespace, grouped service name) after every change of a service's instances, on the
  // thread that made the change; the gRPC server pushes to subscribers from it.
  using ChangeListener = std::function<void(const std::string& ns, const std::string& service)>;

  NamingStore(StoreOptions options, std::unique_ptr<SnapshotStorage> storage,
              Clock clock = systemClockMs);

  // One listener; a second call replaces the first.
  void setChangeListener(ChangeListener listener) { listener_ = std::move(listener); }

  // Loads the persistent instances saved earlier. Errors name the file and the bad entry.
  Status load();

  // POST /instance: creates or replaces the instance (a registration counts as a beat).
  Status registerInstance(const std::string& ns, const std::string& service, NamingInstance inst);
  // PUT /instance: replaces weight/enabled/metadata/app of an existing instance; keeps its
  // health and beat time. kNotFound when the instance does not exist.
  Status updateInstance(const std::string& ns, const std::string& service,
                        const NamingInstance& inst);
  // PATCH /instance: changes only the given fields. kNotFound when absent.
  Status patchInstance(const std::string& ns, const std::string& service, const InstanceKey& key,
                       const InstancePatch& patch);
  // DELETE /instance: removes the instance when it exists with that ephemeral flag (the real
  // server keeps ephemeral and persistent instances apart); a no-op otherwise.
  Status deregisterInstance(const std::string& ns, const std::string& service,
                            const InstanceKey& key, bool ephemeral);
  // PUT /instance/beat.
  Result<BeatResult> beat(const std::string& ns, const std::string& service, const InstanceKey& key,
                          const BeatInfo* info);

  const ServiceRecord* findService(const std::string& ns, const std::string& service) const;
  const NamingInstance* findInstance(const std::string& ns, const std::string& service,
                                     const InstanceKey& key) const;
  // Grouped names of the services of `ns` in `group` ("*" = every group), sorted.
  std::vector<std::string> serviceNames(const std::string& ns, const std::string& group) const;

  // Applies heartbeat expiry at the clock's current time: marks late ephemeral instances
  // unhealthy and removes dead ones (a service without instances disappears). Instances owned by
  // a gRPC connection are left alone: they go when their connection does.
  void sweep();

  size_t serviceCount() const;
  size_t instanceCount(bool ephemeral) const;
  int64_t now() const { return clock_(); }
  const StoreOptions& options() const { return options_; }
  // The beat interval clients are told for `inst` (preserved metadata or the default).
  int64_t beatIntervalFor(const NamingInstance& inst) const;

 private:
  using Namespace = std::map<std::string, ServiceRecord>;

  // Runs `mutate` on the service (created when missing); when the change touches a persistent
  // instance, saves the snapshot and rolls the service back if that fails.
  Status mutateService(const std::string& ns, const std::string& service, bool persistent,
                       const std::function<void(ServiceRecord&)>& mutate);
  Status persist() const;
  void dropIfEmpty(const std::string& ns, const std::string& service);
  int64_t timeoutFor(const NamingInstance& inst, std::string_view key, int64_t fallback) const;
  void notify(const std::string& ns, const std::string& service) const;

  StoreOptions options_;
  ChangeListener listener_;
  std::unique_ptr<SnapshotStorage> storage_;
  Clock clock_;
  std::map<std::string, Namespace> namespaces_;
};

// Serialises / parses the persistent snapshot document (exposed for tests).
std::string encodePersistentSnapshot(
    const std::vector<std::tuple<std::string, std::string, NamingInstance>>& entries);
Result<std::vector<std::tuple<std::string, std::string, NamingInstance>>> decodePersistentSnapshot(
    const std::string& content, const std::string& where);

}  // namespace sluice::registry::nacos
