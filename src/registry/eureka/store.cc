#include "registry/eureka/store.h"

#include <algorithm>
#include <chrono>

#include "core/strings.h"

namespace sluice::registry::eureka {

namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  }
  return out;
}

int64_t systemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool vipListContains(const std::string& list, const std::string& vip) {
  for (std::string_view entry : split(list, ',')) {
    if (equalsIgnoreCase(trim(entry), vip)) return true;
  }
  return false;
}

}  // namespace

EurekaStore::EurekaStore(StoreOptions options, std::function<int64_t()> now_ms)
    : options_(options), now_ms_(now_ms ? std::move(now_ms) : systemNowMs) {}

EurekaStore::Lease* EurekaStore::find(const std::string& app, const std::string& id) {
  auto a = apps_.find(upper(app));
  if (a == apps_.end()) return nullptr;
  auto l = a->second.find(id);
  return l == a->second.end() ? nullptr : &l->second;
}

const EurekaStore::Lease* EurekaStore::find(const std::string& app, const std::string& id) const {
  return const_cast<EurekaStore*>(this)->find(app, id);
}

void EurekaStore::touch(EurekaInstance& info) {
  int64_t now = now_ms_();
  info.last_updated_timestamp = now;
  info.last_dirty_timestamp = std::max(info.last_dirty_timestamp, now);
}

void EurekaStore::recordChange(const EurekaInstance& info, ActionType action) {
  int64_t now = now_ms_();
  Change change{now, info};
  change.info.action_type = action;
  change.info.last_updated_timestamp = now;
  changes_.push_back(std::move(change));
  ++version_;
}

int64_t EurekaStore::durationMs(const EurekaInstance& info) const {
  return info.lease.duration_secs > 0 ? int64_t{info.lease.duration_secs} * 1000
                                      : options_.lease_duration_ms;
}

void EurekaStore::rollRenewalMinute(int64_t now) {
  int64_t minute = now / 60'000;
  if (minute != renewal_minute_) {
    renewals_last_minute_ = minute == renewal_minute_ + 1 ? renewals_this_minute_ : 0;
    renewals_this_minute_ = 0;
    renewal_minute_ = minute;
  }
}

void EurekaStore::registerInstance(EurekaInstance info) {
  int64_t now = now_ms_();
  info.app = upper(info.app);
  info.action_type.reset();
  if (info.lease.renewal_interval_secs <= 0) {
    info.lease.renewal_interval_secs = static_cast<int>(options_.renewal_interval_ms / 1000);
  }
  if (info.lease.duration_secs <= 0) {
    info.lease.duration_secs =
        static_cast<int>(std::max<int64_t>(1, options_.lease_duration_ms / 1000));
    // Keep a sub-second server default exact: durationMs() reads the option when this is unset.
    if (options_.lease_duration_ms % 1000 != 0) info.lease.duration_secs = 0;
  }
  Lease* existing = find(info.app, info.instance_id);
  info.lease.registration_timestamp = existing ? existing->info.lease.registration_timestamp : now;
  info.lease.last_renewal_timestamp = now;
  info.lease.eviction_timestamp = 0;
  if (auto o = overrides_.find(info.instance_id); o != overrides_.end()) {
    info.status = o->second;
    info.overridden_status = o->second;
  } else {
    info.overridden_status = InstanceStatus::kUnknown;
  }
  if (info.status == InstanceStatus::kUp) {
    info.lease.service_up_timestamp = existing && existing->info.lease.service_up_timestamp
                                          ? existing->info.lease.service_up_timestamp
                                          : now;
  }
  touch(info);
  Lease& lease = apps_[info.app][info.instance_id];
  lease.info = std::move(info);
  lease.last_renewal_ms = now;
  recordChange(lease.info, ActionType::kAdded);
}

EurekaStore::Outcome EurekaStore::renew(const std::string& app, const std::string& id,
                                        std::optional<int64_t> client_last_dirty) {
  Lease* lease = find(app, id);
  if (lease == nullptr) return Outcome::kNotFound;
  if (lease->info.status == InstanceStatus::kUnknown) return Outcome::kNotFound;
  if (client_last_dirty && *client_last_dirty > lease->info.last_dirty_timestamp) {
    return Outcome::kNotFound;
  }
  int64_t now = now_ms_();
  lease->last_renewal_ms = now;
  lease->info.lease.last_renewal_timestamp = now;
  rollRenewalMinute(now);
  ++renewals_this_minute_;
  return Outcome::kOk;
}

EurekaStore::Outcome EurekaStore::cancel(const std::string& app, const std::string& id) {
  auto a = apps_.find(upper(app));
  if (a == apps_.end()) return Outcome::kNotFound;
  auto l = a->second.find(id);
  if (l == a->second.end()) return Outcome::kNotFound;
  EurekaInstance info = std::move(l->second.info);
  info.lease.eviction_timestamp = now_ms_();
  a->second.erase(l);
  if (a->second.empty()) apps_.erase(a);
  overrides_.erase(id);
  recordChange(info, ActionType::kDeleted);
  return Outcome::kOk;
}

EurekaStore::Outcome EurekaStore::overrideStatus(const std::string& app, const std::string& id,
                                                 InstanceStatus status) {
  Lease* lease = find(app, id);
  if (lease == nullptr) return Outcome::kNotFound;
  overrides_[id] = status;
  lease->info.status = status;
  lease->info.overridden_status = status;
  touch(lease->info);
  recordChange(lease->info, ActionType::kModified);
  return Outcome::kOk;
}

EurekaStore::Outcome EurekaStore::deleteStatusOverride(const std::string& app,
                                                       const std::string& id,
                                                       std::optional<InstanceStatus> status) {
  Lease* lease = find(app, id);
  if (lease == nullptr) return Outcome::kNotFound;
  overrides_.erase(id);
  lease->info.overridden_status = InstanceStatus::kUnknown;
  lease->info.status = status.value_or(InstanceStatus::kUnknown);
  touch(lease->info);
  recordChange(lease->info, ActionType::kModified);
  return Outcome::kOk;
}

EurekaStore::Outcome EurekaStore::updateMetadata(
    const std::string& app, const std::string& id,
    const std::map<std::string, std::string>& entries) {
  Lease* lease = find(app, id);
  if (lease == nullptr) return Outcome::kNotFound;
  for (const auto& [key, value] : entries) lease->info.metadata[key] = value;
  touch(lease->info);
  recordChange(lease->info, ActionType::kModified);
  return Outcome::kOk;
}

EurekaApplications EurekaStore::applications() const {
  EurekaApplications out;
  out.versions_delta = std::to_string(version_);
  for (const auto& [name, leases] : apps_) {
    EurekaApplication app{name, {}};
    for (const auto& [id, lease] : leases) app.instances.push_back(lease.info);
    out.applications.push_back(std::move(app));
  }
  out.apps_hashcode = appsHashCode(out.applications);
  return out;
}

EurekaApplications EurekaStore::delta() {
  int64_t oldest = now_ms_() - options_.delta_retention_ms;
  while (!changes_.empty() && changes_.front().at_ms < oldest) changes_.pop_front();
  std::map<std::string, std::map<std::string, EurekaInstance>> latest;
  for (const auto& change : changes_)
    latest[change.info.app][change.info.instance_id] = change.info;
  EurekaApplications out;
  out.versions_delta = std::to_string(version_);
  for (auto& [name, instances] : latest) {
    EurekaApplication app{name, {}};
    for (auto& [id, info] : instances) app.instances.push_back(std::move(info));
    out.applications.push_back(std::move(app));
  }
  std::vector<EurekaApplication> all = applications().applications;
  out.apps_hashcode = appsHashCode(all);
  return out;
}

std::optional<EurekaApplication> EurekaStore::application(const std::string& app) const {
  auto a = apps_.find(upper(app));
  if (a == apps_.end()) return std::nullopt;
  EurekaApplication out{a->first, {}};
  for (const auto& [id, lease] : a->second) out.instances.push_back(lease.info);
  return out;
}

std::optional<EurekaInstance> EurekaStore::instance(const std::string& app,
                                                    const std::string& id) const {
  const Lease* lease = find(app, id);
  if (lease == nullptr) return std::nullopt;
  return lease->info;
}

std::optional<EurekaInstance> EurekaStore::instanceById(const std::string& id) const {
  for (const auto& [name, leases] : apps_) {
    if (auto l = leases.find(id); l != leases.end()) return l->second.info;
  }
  return std::nullopt;
}

EurekaApplications EurekaStore::byVip(const std::string& vip, bool secure) const {
  EurekaApplications out;
  out.versions_delta = std::to_string(version_);
  for (const auto& [name, leases] : apps_) {
    EurekaApplication app{name, {}};
    for (const auto& [id, lease] : leases) {
      const std::string& list = secure ? lease.info.secure_vip_address : lease.info.vip_address;
      if (vipListContains(list, vip)) app.instances.push_back(lease.info);
    }
    if (!app.instances.empty()) out.applications.push_back(std::move(app));
  }
  out.apps_hashcode = appsHashCode(out.applications);
  return out;
}

bool EurekaStore::preservingSelf(int64_t now) {
  if (!options_.self_preservation) return false;
  rollRenewalMinute(now);
  double expected = 0;
  for (const auto& [name, leases] : apps_) {
    for (const auto& [id, lease] : leases) {
      int interval_s = std::max(1, lease.info.lease.renewal_interval_secs);
      expected += 60.0 / interval_s;
    }
  }
  return static_cast<double>(renewals_last_minute_) < expected * options_.renewal_percent_threshold;
}

size_t EurekaStore::evictExpired() {
  int64_t now = now_ms_();
  if (preservingSelf(now)) return 0;
  std::vector<std::pair<std::string, std::string>> expired;
  for (const auto& [name, leases] : apps_) {
    for (const auto& [id, lease] : leases) {
      if (now - lease.last_renewal_ms > durationMs(lease.info)) expired.emplace_back(name, id);
    }
  }
  for (const auto& [name, id] : expired) cancel(name, id);
  return expired.size();
}

size_t EurekaStore::size() const {
  size_t n = 0;
  for (const auto& [name, leases] : apps_) n += leases.size();
  return n;
}

}  // namespace sluice::registry::eureka
