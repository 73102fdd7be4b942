#pragma once
// The embedded Eureka server's registry: leases by application and instance id, status overrides,
// the queue of recent changes delta fetches answer from, and eviction of expired leases.
//
// Semantics follow the Netflix server (AbstractInstanceRegistry) where clients can tell:
// - register replaces an instance with the same id (keeping its registration time) and records it
//   ADDED; application names are upper-cased;
// - renew answers kNotFound for an unknown instance, for one whose status is UNKNOWN (after its
//   override was deleted) and when the client's lastDirtyTimestamp is newer than the server's:
//   every client registers again on that answer;
// - a status override (PUT .../status?value=) wins over the instance's own status until deleted,
//   and also applies to a later registration of the same id;
// - a lease expires `duration` after its last renewal (the instance's leaseInfo.durationInSecs,
//   else the server default); Netflix's doubled expiry is not copied;
// - self-preservation (off by default) skips eviction while the renewals of the last minute are
//   below 85% of what the registered instances should send.
// Nothing is persisted: leases are ephemeral, and clients register again after a restart (their
// next renewal gets 404).
//
// Threading: not thread-safe; the server calls it from its one io_context thread.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "registry/eureka/model.h"

namespace sluice::registry::eureka {

struct StoreOptions {
  int64_t lease_duration_ms = 90'000;    // when the instance does not say
  int64_t renewal_interval_ms = 30'000;  // when the instance does not say
  int64_t delta_retention_ms = 180'000;  // how long a change stays in delta answers
  bool self_preservation = false;
  double renewal_percent_threshold = 0.85;
};

class EurekaStore {
 public:
  // `now_ms`: wall-clock milliseconds since the epoch (tests inject a fake clock).
  explicit EurekaStore(StoreOptions options = {}, std::function<int64_t()> now_ms = {});

  // `instance` is validated by the caller (ids, names present). Its app is upper-cased.
  void registerInstance(EurekaInstance instance);

  enum class Outcome { kOk, kNotFound };
  Outcome renew(const std::string& app, const std::string& id,
                std::optional<int64_t> client_last_dirty = std::nullopt);
  Outcome cancel(const std::string& app, const std::string& id);
  Outcome overrideStatus(const std::string& app, const std::string& id, InstanceStatus status);
  // Removes the override; the instance's status becomes `status` (UNKNOWN when not given, so its
  // next renewal re-registers it).
  Outcome deleteStatusOverride(const std::string& app, const std::string& id,
                               std::optional<InstanceStatus> status);
  Outcome updateMetadata(const std::string& app, const std::string& id,
                         const std::map<std::string, std::string>& entries);

  // Every application, sorted, with the apps hash code.
  EurekaApplications applications() const;
  // The changes of the retention window (each instance once, latest state, with its actionType);
  // the hash code is the full registry's, which is what the client checks against.
  EurekaApplications delta();
  std::optional<EurekaApplication> application(const std::string& app) const;
  std::optional<EurekaInstance> instance(const std::string& app, const std::string& id) const;
  // By id alone (GET /eureka/instances/{id}).
  std::optional<EurekaInstance> instanceById(const std::string& id) const;
  // Applications restricted to instances whose (secure) VIP address list contains `vip`.
  EurekaApplications byVip(const std::string& vip, bool secure) const;

  // Removes expired leases (recording them DELETED); returns how many.
  size_t evictExpired();
  size_t size() const;
  uint64_t version() const { return version_; }

 private:
  struct Lease {
    EurekaInstance info;
    int64_t last_renewal_ms = 0;
  };
  struct Change {
    int64_t at_ms;
    EurekaInstance info;  // with action_type set
  };

  Lease* find(const std::string& app, const std::string& id);
  const Lease* find(const std::string& app, const std::string& id) const;
  void recordChange(const EurekaInstance& info, ActionType action);
  void touch(EurekaInstance& info);
  int64_t durationMs(const EurekaInstance& info) const;
  bool preservingSelf(int64_t now);
  void rollRenewalMinute(int64_t now);

  StoreOptions options_;
  std::function<int64_t()> now_ms_;
  std::map<std::string, std::map<std::string, Lease>> apps_;  // app (upper case) -> id -> lease
  std::map<std::string, InstanceStatus> overrides_;           // instance id -> override
  std::deque<Change> changes_;
  uint64_t version_ = 1;
  // Renewals per wall-clock minute, for self-preservation.
  int64_t renewal_minute_ = 0;
  uint64_t renewals_this_minute_ = 0;
  uint64_t renewals_last_minute_ = 0;
};

}  // namespace sluice::registry::eureka
