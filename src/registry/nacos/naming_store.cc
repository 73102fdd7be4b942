#include "registry/nacos/naming_store.h"

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/strings.h"

namespace sluice::registry::nacos {

using Entry = std::tuple<std::string, std::string, NamingInstance>;

int64_t systemClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

NamingStore::NamingStore(StoreOptions options, std::unique_ptr<SnapshotStorage> storage,
                         Clock clock)
    : options_(options), storage_(std::move(storage)), clock_(std::move(clock)) {}

Status NamingStore::load() {
  auto content = storage_->load();
  if (!content) return tl::unexpected(content.error());
  if (!*content) return ok();
  auto entries = decodePersistentSnapshot(**content, storage_->describe());
  if (!entries) return tl::unexpected(entries.error());
  int64_t now = clock_();
  for (auto& [ns, service, inst] : *entries) {
    ServiceRecord& record = namespaces_[ns][service];
    record.grouped_name = service;
    record.last_modified_ms = now;
    inst.last_beat_ms = now;
    InstanceKey key{inst.cluster, inst.ip, inst.port};
    record.instances[key] = std::move(inst);
  }
  return ok();
}

Status NamingStore::persist() const {
  std::vector<Entry> entries;
  for (const auto& [ns, services] : namespaces_) {
    for (const auto& [name, record] : services) {
      for (const auto& [key, inst] : record.instances) {
        if (!inst.ephemeral) entries.emplace_back(ns, name, inst);
      }
    }
  }
  return storage_->save(encodePersistentSnapshot(entries));
}

Status NamingStore::mutateService(const std::string& ns, const std::string& service,
                                  bool persistent,
                                  const std::function<void(ServiceRecord&)>& mutate) {
  Namespace& services = namespaces_[ns];
  auto it = services.find(service);
  std::optional<ServiceRecord> before;
  if (it != services.end()) {
    if (persistent) before = it->second;
  } else {
    it = services.emplace(service, ServiceRecord{service, {}, 0}).first;
  }
  mutate(it->second);
  it->second.last_modified_ms = clock_();
  if (persistent) {
    Status saved = persist();
    if (!saved) {
      if (before) {
        it->second = std::move(*before);
      } else {
        services.erase(it);
      }
      if (services.empty()) namespaces_.erase(ns);
      return saved;
    }
  }
  dropIfEmpty(ns, service);
  notify(ns, service);
  return ok();
}

void NamingStore::notify(const std::string& ns, const std::string& service) const {
  if (listener_) listener_(ns, service);
}

void NamingStore::dropIfEmpty(const std::string& ns, const std::string& service) {
  auto ns_it = namespaces_.find(ns);
  if (ns_it == namespaces_.end()) return;
  auto it = ns_it->second.find(service);
  if (it != ns_it->second.end() && it->second.instances.empty()) ns_it->second.erase(it);
  if (ns_it->second.empty()) namespaces_.erase(ns_it);
}

Status NamingStore::registerInstance(const std::string& ns, const std::string& service,
                                     NamingInstance inst) {
  InstanceKey key{inst.cluster, inst.ip, inst.port};
  if (inst.instance_id.empty())
    inst.instance_id = makeInstanceId(inst.ip, inst.port, inst.cluster, service);
  inst.last_beat_ms = clock_();
  const NamingInstance* old = findInstance(ns, service, key);
  bool persistent = !inst.ephemeral || (old != nullptr && !old->ephemeral);
  return mutateService(ns, service, persistent,
                       [&](ServiceRecord& record) { record.instances[key] = std::move(inst); });
}

Status NamingStore::updateInstance(const std::string& ns, const std::string& service,
                                   const NamingInstance& inst) {
  InstanceKey key{inst.cluster, inst.ip, inst.port};
  const NamingInstance* old = findInstance(ns, service, key);
  if (old == nullptr) {
    return makeError(ErrorCode::kNotFound, ErrorSource::kDownstream,
                     fmt::format("instance not exist: {}:{} in cluster {} of service {}", inst.ip,
                                 inst.port, inst.cluster, service));
  }
  bool persistent = !inst.ephemeral || !old->ephemeral;
  return mutateService(ns, service, persistent, [&](ServiceRecord& record) {
    NamingInstance& target = record.instances[key];
    target.weight = inst.weight;
    target.enabled = inst.enabled;
    target.metadata = inst.metadata;
    target.app = inst.app;
    target.ephemeral = inst.ephemeral;
  });
}

Status NamingStore::patchInstance(const std::string& ns, const std::string& service,
                                  const InstanceKey& key, const InstancePatch& patch) {
  const NamingInstance* old = findInstance(ns, service, key);
  if (old == nullptr) {
    return makeError(ErrorCode::kNotFound, ErrorSource::kDownstream,
                     fmt::format("instance not exist: {}:{} in cluster {} of service {}", key.ip,
                                 key.port, key.cluster, service));
  }
  return mutateService(ns, service, !old->ephemeral, [&](ServiceRecord& record) {
    NamingInstance& target = record.instances[key];
    if (patch.weight) target.weight = *patch.weight;
    if (patch.enabled) target.enabled = *patch.enabled;
    if (patch.healthy) target.healthy = *patch.healthy;
    if (patch.metadata) target.metadata = *patch.metadata;
    if (patch.app) target.app = *patch.app;
  });
}

Status NamingStore::deregisterInstance(const std::string& ns, const std::string& service,
                                       const InstanceKey& key, bool ephemeral) {
  const NamingInstance* old = findInstance(ns, service, key);
  if (old == nullptr || old->ephemeral != ephemeral) return ok();
  return mutateService(ns, service, !ephemeral,
                       [&](ServiceRecord& record) { record.instances.erase(key); });
}

Result<BeatResult> NamingStore::beat(const std::string& ns, const std::string& service,
                                     const InstanceKey& key, const BeatInfo* info) {
  BeatResult result;
  result.client_beat_interval_ms = options_.client_beat_interval_ms;
  const NamingInstance* found = findInstance(ns, service, key);
  if (found == nullptr) {
    if (info == nullptr) return result;  // 20404: the client must register again
    // Data compensation: the instance expired (or the registry restarted) while its client kept
    // beating; the beat carries enough to register it again. The Node SDK relies on this.
    NamingInstance inst;
    inst.ip = key.ip;
    inst.port = key.port;
    inst.cluster = key.cluster;
    inst.weight = info->weight;
    inst.ephemeral = info->ephemeral;
    inst.metadata = info->metadata;
    SLUICE_RETURN_IF_ERROR(registerInstance(ns, service, std::move(inst)));
    SLUICE_LOG_INFO("nacos: re-registered {}:{} of {} in namespace {} from its beat", key.ip,
                    key.port, service, ns);
    found = findInstance(ns, service, key);
  } else if (found->ephemeral) {
    ServiceRecord& record = namespaces_[ns][service];
    NamingInstance& target = record.instances[key];
    target.last_beat_ms = clock_();
    if (!target.healthy) {
      target.healthy = true;
      record.last_modified_ms = clock_();
      notify(ns, service);
    }
  }
  result.found = true;
  if (found != nullptr) result.client_beat_interval_ms = beatIntervalFor(*found);
  return result;
}

const ServiceRecord* NamingStore::findService(const std::string& ns,
                                              const std::string& service) const {
  auto ns_it = namespaces_.find(ns);
  if (ns_it == namespaces_.end()) return nullptr;
  auto it = ns_it->second.find(service);
  return it == ns_it->second.end() ? nullptr : &it->second;
}

const NamingInstance* NamingStore::findInstance(const std::string& ns, const std::string& service,
                                                const InstanceKey& key) const {
  const ServiceRecord* record = findService(ns, service);
  if (record == nullptr) return nullptr;
  auto it = record->instances.find(key);
  return it == record->instances.end() ? nullptr : &it->second;
}

std::vector<std::string> NamingStore::serviceNames(const std::string& ns,
                                                   const std::string& group) const {
  std::vector<std::string> out;
  auto ns_it = namespaces_.find(ns);
  if (ns_it == namespaces_.end()) return out;
  std::string prefix = group + std::string(kGroupSeparator);
  for (const auto& [name, record] : ns_it->second) {
    if (group == "*" || name.starts_with(prefix)) out.push_back(name);
  }
  return out;
}

int64_t NamingStore::timeoutFor(const NamingInstance& inst, std::string_view key,
                                int64_t fallback) const {
  auto it = inst.metadata.find(std::string(key));
  if (it == inst.metadata.end()) return fallback;
  auto value = parseUint(trim(it->second), INT64_MAX);
  return value ? static_cast<int64_t>(*value) : fallback;
}

int64_t NamingStore::beatIntervalFor(const NamingInstance& inst) const {
  return timeoutFor(inst, kMetaBeatInterval, options_.client_beat_interval_ms);
}

void NamingStore::sweep() {
  int64_t now = clock_();
  for (auto ns_it = namespaces_.begin(); ns_it != namespaces_.end();) {
    Namespace& services = ns_it->second;
    for (auto svc_it = services.begin(); svc_it != services.end();) {
      ServiceRecord& record = svc_it->second;
      bool changed = false;
      for (auto it = record.instances.begin(); it != record.instances.end();) {
        NamingInstance& inst = it->second;
        if (!inst.ephemeral || !inst.connection_id.empty()) {
          ++it;
          continue;
        }
        int64_t silent = now - inst.last_beat_ms;
        if (silent > timeoutFor(inst, kMetaDeleteTimeout, options_.delete_timeout_ms)) {
          SLUICE_LOG_INFO("nacos: removed {}:{} of {} in namespace {}: no beat for {} ms", inst.ip,
                          inst.port, svc_it->first, ns_it->first, silent);
          it = record.instances.erase(it);
          changed = true;
          continue;
        }
        if (inst.healthy && silent > timeoutFor(inst, kMetaBeatTimeout, options_.beat_timeout_ms)) {
          inst.healthy = false;
          changed = true;
          SLUICE_LOG_INFO("nacos: {}:{} of {} in namespace {} is unhealthy: no beat for {} ms",
                          inst.ip, inst.port, svc_it->first, ns_it->first, silent);
        }
        ++it;
      }
      if (changed) {
        record.last_modified_ms = now;
        notify(ns_it->first, svc_it->first);
      }
      svc_it = record.instances.empty() ? services.erase(svc_it) : std::next(svc_it);
    }
    ns_it = services.empty() ? namespaces_.erase(ns_it) : std::next(ns_it);
  }
}

size_t NamingStore::serviceCount() const {
  size_t n = 0;
  for (const auto& [ns, services] : namespaces_) n += services.size();
  return n;
}

size_t NamingStore::instanceCount(bool ephemeral) const {
  size_t n = 0;
  for (const auto& [ns, services] : namespaces_) {
    for (const auto& [name, record] : services) {
      for (const auto& [key, inst] : record.instances) n += inst.ephemeral == ephemeral ? 1 : 0;
    }
  }
  return n;
}

// --- persistent snapshot document ---------------------------------------------------------------

namespace {
constexpr const char* kSnapshotFormat = "sluice-nacos-persistent/1";
}

std::string encodePersistentSnapshot(const std::vector<Entry>& entries) {
  nlohmann::ordered_json doc;
  doc["format"] = kSnapshotFormat;
  auto& list = doc["instances"] = nlohmann::ordered_json::array();
  for (const auto& [ns, service, inst] : entries) {
    nlohmann::ordered_json item;
    item["namespaceId"] = ns;
    item["serviceName"] = service;
    item["clusterName"] = inst.cluster;
    item["ip"] = inst.ip;
    item["port"] = inst.port;
    item["weight"] = inst.weight;
    item["healthy"] = inst.healthy;
    item["enabled"] = inst.enabled;
    item["metadata"] = inst.metadata;
    item["app"] = inst.app;
    item["instanceId"] = inst.instance_id;
    list.push_back(std::move(item));
  }
  return doc.dump(2) + "\n";
}

Result<std::vector<Entry>> decodePersistentSnapshot(const std::string& content,
                                                    const std::string& where) {
  auto bad = [&](const std::string& what) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     fmt::format("{}: {}", where, what));
  };
  std::vector<Entry> out;
  try {
    auto doc = nlohmann::json::parse(content);
    if (!doc.is_object() || doc.value("format", "") != kSnapshotFormat) {
      return bad(fmt::format("not a persistent-instance snapshot (expected \"format\": \"{}\")",
                             kSnapshotFormat));
    }
    const auto& list = doc.at("instances");
    if (!list.is_array()) return bad("\"instances\" must be an array");
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& item = list[i];
      std::string path = fmt::format("instances[{}]", i);
      NamingInstance inst;
      inst.ephemeral = false;
      std::string ns = item.at("namespaceId").get<std::string>();
      auto service = groupedServiceName(item.at("serviceName").get<std::string>(), "");
      if (!service) return bad(path + ".serviceName: " + service.error().message);
      inst.cluster = item.at("clusterName").get<std::string>();
      if (auto s = checkClusterName(inst.cluster); !s) {
        return bad(path + ".clusterName: " + s.error().message);
      }
      inst.ip = item.at("ip").get<std::string>();
      if (auto s = checkIp(inst.ip); !s) return bad(path + ".ip: " + s.error().message);
      int port = item.at("port").get<int>();
      if (port < 1 || port > 65535) return bad(fmt::format("{}.port: {} out of range", path, port));
      inst.port = static_cast<uint16_t>(port);
      inst.weight = item.at("weight").get<double>();
      inst.healthy = item.at("healthy").get<bool>();
      inst.enabled = item.at("enabled").get<bool>();
      inst.metadata = item.at("metadata").get<Metadata>();
      inst.app = item.value("app", "DEFAULT");
      inst.instance_id = item.value("instanceId", "");
      if (inst.instance_id.empty()) {
        inst.instance_id = makeInstanceId(inst.ip, inst.port, inst.cluster, *service);
      }
      if (ns.empty()) return bad(path + ".namespaceId: must not be empty");
      out.emplace_back(std::move(ns), std::move(*service), std::move(inst));
    }
  } catch (const nlohmann::json::exception& e) {
    return bad(fmt::format("malformed snapshot: {}", e.what()));
  }
  return out;
}

}  // namespace sluice::registry::nacos
