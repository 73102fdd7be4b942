#pragma once
// The Eureka data model as the Netflix server and clients exchange it: instances grouped by
// application, each with a status, and the "apps hash code" both sides use to check that a delta
// fetch left the client with the same registry as the server.
//
// Plain values, no threads, no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::registry::eureka {

// com.netflix.appinfo.InstanceInfo.InstanceStatus. Only kUp receives traffic.
enum class InstanceStatus { kUp, kDown, kStarting, kOutOfService, kUnknown };

const char* toString(InstanceStatus status);
// Exact names as Eureka writes them ("UP", "OUT_OF_SERVICE"...); case-insensitive; nullopt else.
std::optional<InstanceStatus> parseInstanceStatus(std::string_view text);

// How a delta entry changed the registry.
enum class ActionType { kAdded, kModified, kDeleted };

const char* toString(ActionType action);
std::optional<ActionType> parseActionType(std::string_view text);

// 0 in renewal_interval_secs / duration_secs means "not given": the server applies its defaults
// (30 s and 90 s on a stock server).
struct LeaseInfo {
  int renewal_interval_secs = 0;
  int duration_secs = 0;
  int64_t registration_timestamp = 0;
  int64_t last_renewal_timestamp = 0;
  int64_t eviction_timestamp = 0;
  int64_t service_up_timestamp = 0;
  bool operator==(const LeaseInfo&) const = default;
};

inline constexpr const char* kDefaultDataCenterClass =
    "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo";
inline constexpr const char* kEmptyMapClass = "java.util.Collections$EmptyMap";

struct EurekaInstance {
  std::string instance_id;
  std::string app;  // upper-cased by the server
  std::string app_group_name;
  std::string host_name;
  std::string ip_addr;
  InstanceStatus status = InstanceStatus::kUp;
  InstanceStatus overridden_status = InstanceStatus::kUnknown;
  uint16_t port = 0;
  bool port_enabled = true;
  uint16_t secure_port = 443;
  bool secure_port_enabled = false;
  int country_id = 1;
  std::string data_center_class = kDefaultDataCenterClass;
  std::string data_center_name = "MyOwn";
  LeaseInfo lease;
  std::map<std::string, std::string> metadata;
  std::string home_page_url;
  std::string status_page_url;
  std::string health_check_url;
  std::string secure_health_check_url;
  std::string vip_address;
  std::string secure_vip_address;
  bool is_coordinating_discovery_server = false;
  int64_t last_updated_timestamp = 0;
  int64_t last_dirty_timestamp = 0;
  std::optional<ActionType> action_type;
  bool operator==(const EurekaInstance&) const = default;
};

struct EurekaApplication {
  std::string name;
  std::vector<EurekaInstance> instances;
  bool operator==(const EurekaApplication&) const = default;
};

struct EurekaApplications {
  std::string versions_delta = "1";
  std::string apps_hashcode;
  std::vector<EurekaApplication> applications;
  bool operator==(const EurekaApplications&) const = default;
};

// Eureka's reconcile hash code: "STATUS_count_" for every status present, statuses in name order
// (e.g. "DOWN_1_UP_2_"); empty for an empty registry.
std::string appsHashCode(const std::vector<EurekaApplication>& applications);

// Applies a delta the way the Netflix DiscoveryClient does: ADDED and MODIFIED replace (or add)
// the instance by id in its application, DELETED removes it; an application left without
// instances is dropped. An entry without actionType counts as MODIFIED.
void applyDelta(std::vector<EurekaApplication>& applications, const EurekaApplications& delta);

// Sorts applications by name and instances by id, so two views compare equal whatever order a
// server answered in.
void sortApplications(std::vector<EurekaApplication>& applications);

}  // namespace sluice::registry::eureka
