#pragma once
// The Nacos naming data model shared by the embedded server, the client and the watcher: names,
// defaults and the rules the real server applies before a controller runs (group prefixing,
// instance ids, metadata parsing).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::registry::nacos {

inline constexpr std::string_view kDefaultNamespace = "public";
inline constexpr std::string_view kDefaultGroup = "DEFAULT_GROUP";
inline constexpr std::string_view kDefaultCluster = "DEFAULT";
inline constexpr std::string_view kGroupSeparator = "@@";

// Preserved metadata keys that tune one instance's heartbeat (PreservedMetadataKeys).
inline constexpr std::string_view kMetaBeatInterval = "preserved.heart.beat.interval";
inline constexpr std::string_view kMetaBeatTimeout = "preserved.heart.beat.timeout";
inline constexpr std::string_view kMetaDeleteTimeout = "preserved.ip.delete.timeout";

inline constexpr double kMaxWeight = 10000.0;

using Metadata = std::map<std::string, std::string>;

// One registered instance as the store keeps it.
struct NamingInstance {
  std::string ip;
  uint16_t port = 0;
  std::string cluster{kDefaultCluster};
  double weight = 1.0;
  bool healthy = true;
  bool enabled = true;
  bool ephemeral = true;
  Metadata metadata;
  std::string app = "DEFAULT";
  std::string instance_id;   // ip#port#cluster#group@@name unless the client chose one
  int64_t last_beat_ms = 0;  // wall clock of the last beat or registration (ephemeral only)
  // The gRPC connection that registered this ephemeral instance: it lives as long as that
  // connection (no beats, no expiry). Empty for instances registered over HTTP.
  std::string connection_id;
  bool operator==(const NamingInstance&) const = default;
};

// Applies the server-side filter: a serviceName without "@@" becomes
// "<groupName or DEFAULT_GROUP>@@serviceName"; then checks the format like
// NamingUtils.checkServiceNameFormat (exactly one "@@", non-empty group and name).
Result<std::string> groupedServiceName(std::string_view service_name, std::string_view group_name);
// "DEFAULT_GROUP@@svc" -> {"DEFAULT_GROUP", "svc"}; an ungrouped name gets DEFAULT_GROUP.
std::pair<std::string, std::string> splitGroupedName(std::string_view grouped);

// The default ("simple") instance id: ip#port#cluster#grouped-service-name.
std::string makeInstanceId(std::string_view ip, uint16_t port, std::string_view cluster,
                           std::string_view grouped_service);

// Parses the `metadata` parameter: a JSON object whose values are strings, numbers or booleans
// (kept as their text), or the legacy "k1=v1,k2=v2" form. Blank means empty.
Result<Metadata> parseMetadata(std::string_view text);

// "true"/"false" in any case; anything else is an error naming `param`.
Result<bool> parseBoolParam(std::string_view param, std::string_view text);
// A weight in [0, 10000].
Result<double> parseWeightParam(std::string_view text);
// A port in [1, 65535].
Result<uint16_t> parsePortParam(std::string_view text);
// An IPv4/IPv6 literal or a host name made of letters, digits, '.', '-', '_' (no '#', ',', ' ').
Status checkIp(std::string_view ip);
// A cluster name: letters, digits, '-', '_', '.' (Nacos forbids the rest).
Status checkClusterName(std::string_view cluster);

// True when the User-Agent is a Java client >= 1.0.0, which the real server answers with grouped
// `dom` / `serviceName` fields; other agents (curl, old clients) get the ungrouped name.
bool wantsGroupedNames(std::string_view user_agent);

}  // namespace sluice::registry::nacos
