#include "registry/nacos/naming_model.h"

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "net/address.h"

namespace sluice::registry::nacos {

Result<std::string> groupedServiceName(std::string_view service_name, std::string_view group_name) {
  std::string_view name = trim(service_name);
  if (name.empty()) return invalidArgument("Param 'serviceName' is required.");
  std::string grouped;
  if (name.find(kGroupSeparator) == std::string_view::npos) {
    std::string_view group = trim(group_name);
    grouped = fmt::format("{}{}{}", group.empty() ? kDefaultGroup : group, kGroupSeparator, name);
  } else {
    grouped = std::string(name);
  }
  size_t sep = grouped.find(kGroupSeparator);
  std::string_view group = std::string_view(grouped).substr(0, sep);
  std::string_view bare = std::string_view(grouped).substr(sep + kGroupSeparator.size());
  if (bare.empty() || bare.find(kGroupSeparator) != std::string_view::npos) {
    return invalidArgument(
        "Param 'serviceName' is illegal, it should be format as 'groupName@@serviceName', got '{}'",
        grouped);
  }
  if (group.empty()) {
    return invalidArgument("Param 'serviceName' is illegal, groupName can't be empty, got '{}'",
                           grouped);
  }
  return grouped;
}

std::pair<std::string, std::string> splitGroupedName(std::string_view grouped) {
  size_t sep = grouped.find(kGroupSeparator);
  if (sep == std::string_view::npos) return {std::string(kDefaultGroup), std::string(grouped)};
  return {std::string(grouped.substr(0, sep)),
          std::string(grouped.substr(sep + kGroupSeparator.size()))};
}

std::string makeInstanceId(std::string_view ip, uint16_t port, std::string_view cluster,
                           std::string_view grouped_service) {
  return fmt::format("{}#{}#{}#{}", ip, port, cluster, grouped_service);
}

namespace {

Result<Metadata> parseLegacyMetadata(std::string_view text) {
  Metadata out;
  for (std::string_view entry : split(text, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return invalidArgument("metadata format incorrect: '{}' is neither JSON nor k1=v1,k2=v2",
                             text);
    }
    out[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
  }
  return out;
}

}  // namespace

Result<Metadata> parseMetadata(std::string_view text) {
  std::string_view body = trim(text);
  if (body.empty()) return Metadata{};
  if (body.front() != '{') return parseLegacyMetadata(body);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return invalidArgument("Param 'metadata' is not valid JSON: {}", e.what());
  }
  if (!doc.is_object()) return invalidArgument("Param 'metadata' must be a JSON object");
  Metadata out;
  for (const auto& [key, value] : doc.items()) {
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      out[key] = value.dump();
    } else if (value.is_null()) {
      continue;
    } else {
      return invalidArgument("Param 'metadata' value of key '{}' must be a string, got {}", key,
                             value.type_name());
    }
  }
  return out;
}

Result<bool> parseBoolParam(std::string_view param, std::string_view text) {
  std::string_view v = trim(text);
  if (equalsIgnoreCase(v, "true")) return true;
  if (equalsIgnoreCase(v, "false")) return false;
  return invalidArgument("Param '{}' must be true or false, got '{}'", param, text);
}

Result<double> parseWeightParam(std::string_view text) {
  std::string_view v = trim(text);
  double weight = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), weight);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(weight) ||
      weight < 0 || weight > kMaxWeight) {
    return invalidArgument("Param 'weight' must be a number in [0, 10000], got '{}'", text);
  }
  return weight;
}

Result<uint16_t> parsePortParam(std::string_view text) {
  auto port = parseUint(trim(text), 65535);
  if (!port || *port == 0) {
    return invalidArgument("Param 'port' must be an integer in [1, 65535], got '{}'", text);
  }
  return static_cast<uint16_t>(*port);
}

Status checkIp(std::string_view ip) {
  if (ip.empty()) return invalidArgument("Param 'ip' is required.");
  if (net::IpAddress::parse(ip)) return ok();
  bool digits_and_dots = true;
  for (char c : ip) {
    bool ok_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
    if (!ok_char) return invalidArgument("Param 'ip' is not an IP address or host name: '{}'", ip);
    if (!(c == '.' || (c >= '0' && c <= '9'))) digits_and_dots = false;
  }
  // "10.0.0.300" looks like an address but is not one: Nacos rejects it too.
  if (digits_and_dots) return invalidArgument("Param 'ip' is not a valid IPv4 address: '{}'", ip);
  return ok();
}

Status checkClusterName(std::string_view cluster) {
  if (cluster.empty()) return invalidArgument("Param 'clusterName' must not be empty");
  for (char c : cluster) {
    bool ok_char = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '-' || c == '_';
    if (!ok_char) {
      return invalidArgument(
          "Param 'clusterName' may only contain letters, digits, '-', '_' and '.', got '{}'",
          cluster);
    }
  }
  return ok();
}

bool wantsGroupedNames(std::string_view user_agent) {
  constexpr std::string_view kJava = "Nacos-Java-Client:v";
  if (!user_agent.starts_with(kJava)) return false;
  std::string_view version = user_agent.substr(kJava.size());
  size_t dot = version.find('.');
  auto major = parseUint(version.substr(0, dot), 1000);
  return major.has_value() && *major >= 1;
}

}  // namespace sluice::registry::nacos
