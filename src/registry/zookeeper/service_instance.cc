#include "registry/zookeeper/service_instance.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace sluice::registry::zookeeper {

namespace {

using nlohmann::json;

tl::unexpected<Error> badPayload(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry, std::move(message));
}

// A port field: a JSON integer in 1..65535; null or absent -> 0 ("not given").
Result<uint16_t> portField(const json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return uint16_t{0};
  if (!it->is_number_integer() && !it->is_number_unsigned()) {
    return badPayload(fmt::format("'{}' is not an integer", key));
  }
  int64_t value = it->get<int64_t>();
  if (value < 1 || value > 65535)
    return badPayload(fmt::format("'{}' {} out of range", key, value));
  return static_cast<uint16_t>(value);
}

void readMetadata(const json& payload, std::map<std::string, std::string>& out) {
  if (!payload.is_object()) return;
  auto it = payload.find("metadata");
  if (it == payload.end() || !it->is_object()) return;
  for (const auto& [key, value] : it->items()) {
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number() || value.is_boolean()) {
      out[key] = value.dump();
    }
  }
}

}  // namespace

Result<Instance> parseServiceInstance(std::string_view data) {
  json doc = json::parse(data.begin(), data.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return badPayload("payload is not JSON");
  if (!doc.is_object()) return badPayload("payload is not a JSON object");

  Instance instance;
  auto address = doc.find("address");
  if (address == doc.end() || !address->is_string() ||
      trim(address->get_ref<const std::string&>()).empty()) {
    return badPayload("no 'address'");
  }
  instance.ip = std::string(trim(address->get_ref<const std::string&>()));

  SLUICE_ASSIGN_OR_RETURN(uint16_t port, portField(doc, "port"));
  SLUICE_ASSIGN_OR_RETURN(uint16_t ssl_port, portField(doc, "sslPort"));
  instance.port = port != 0 ? port : ssl_port;
  if (instance.port == 0) return badPayload("no 'port' (nor 'sslPort')");

  if (auto enabled = doc.find("enabled"); enabled != doc.end() && enabled->is_boolean()) {
    instance.enabled = enabled->get<bool>();
  }
  if (auto payload = doc.find("payload"); payload != doc.end()) {
    readMetadata(*payload, instance.metadata);
  }
  if (auto status = instance.metadata.find("instance_status");
      status != instance.metadata.end() && !equalsIgnoreCase(status->second, "UP")) {
    instance.healthy = false;
  }
  return instance;
}

}  // namespace sluice::registry::zookeeper
