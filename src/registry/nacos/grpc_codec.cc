#include "registry/nacos/grpc_codec.h"

#include <cmath>
#include <set>

#include "core/strings.h"
#include "registry/nacos/payload_wire.h"

namespace sluice::registry::nacos {

namespace {

tl::unexpected<Error> badPayload(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kDownstream, std::move(message));
}

}  // namespace

Result<GrpcMessage> decodePayload(std::string_view bytes) {
  auto payload = parsePayloadWire(bytes);
  if (!payload) return tl::unexpected(payload.error());
  GrpcMessage message;
  message.type = std::move(payload->type);
  if (message.type.empty()) return badPayload("Payload without metadata.type (the request class)");
  message.headers = std::move(payload->headers);
  message.client_ip = std::move(payload->client_ip);
  const std::string& json = payload->value;
  if (json.empty()) return message;
  try {
    message.body = Json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return badPayload(fmt::format("{} body is not valid JSON: {}", message.type, e.what()));
  }
  if (!message.body.is_object()) {
    return badPayload(fmt::format("{} body must be a JSON object, got {}", message.type,
                                  message.body.type_name()));
  }
  return message;
}

std::string encodePayload(const GrpcMessage& message) {
  PayloadWire payload;
  payload.type = message.type;
  payload.client_ip = message.client_ip;
  payload.headers = message.headers;
  payload.value = message.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return serializePayloadWire(payload);
}

GrpcMessage makeResponse(std::string type, const GrpcMessage& request) {
  GrpcMessage response;
  response.type = std::move(type);
  response.body["resultCode"] = 200;
  response.body["errorCode"] = 0;
  response.body["success"] = true;
  if (auto it = request.body.find("requestId"); it != request.body.end() && it->is_string()) {
    response.body["requestId"] = *it;
  }
  return response;
}

GrpcMessage makeErrorResponse(int error_code, std::string message, const GrpcMessage* request) {
  GrpcMessage response;
  response.type = "ErrorResponse";
  response.body["resultCode"] = kGrpcCodeServerError;
  response.body["errorCode"] = error_code;
  response.body["message"] = std::move(message);
  response.body["success"] = false;
  if (request != nullptr) {
    if (auto it = request->body.find("requestId"); it != request->body.end() && it->is_string()) {
      response.body["requestId"] = *it;
    }
  }
  return response;
}

bool responseSucceeded(const GrpcMessage& response) {
  auto it = response.body.find("resultCode");
  return response.type != "ErrorResponse" && it != response.body.end() && it->is_number_integer() &&
         it->get<int>() == 200;
}

std::string describeResponseError(const GrpcMessage& response) {
  int code = 0;
  if (auto it = response.body.find("errorCode"); it != response.body.end() && it->is_number()) {
    code = it->get<int>();
  }
  std::string text;
  if (auto it = response.body.find("message"); it != response.body.end() && it->is_string()) {
    text = it->get<std::string>();
  }
  return fmt::format("{} {}: {}", response.type, code, text);
}

namespace {

// Field readers that name the field and accept what Jackson accepts (numbers as text too).
Result<std::string> stringField(const Json& doc, std::string_view where, const char* name,
                                std::string_view fallback) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return std::string(fallback);
  if (!it->is_string()) {
    return invalidArgument("{}.{}: must be a string, got {}", where, name, it->type_name());
  }
  return it->get<std::string>();
}

Result<bool> boolField(const Json& doc, std::string_view where, const char* name, bool fallback) {
  auto it = doc.find(name);
  if (it == doc.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string())
    return parseBoolParam(fmt::format("{}.{}", where, name), it->get<std::string>());
  return invalidArgument("{}.{}: must be true or false, got {}", where, name, it->type_name());
}

}  // namespace

Result<NamingInstance> parseInstanceJson(const Json& doc, std::string_view where) {
  if (!doc.is_object()) {
    return invalidArgument("{}: must be a JSON object, got {}", where, doc.type_name());
  }
  NamingInstance inst;
  SLUICE_ASSIGN_OR_RETURN(inst.ip, stringField(doc, where, "ip", ""));
  inst.ip = std::string(trim(inst.ip));
  if (auto s = checkIp(inst.ip); !s) {
    return invalidArgument("{}.ip: {}", where, s.error().message);
  }
  auto port = doc.find("port");
  if (port == doc.end() || !port->is_number_integer() || port->get<int64_t>() < 1 ||
      port->get<int64_t>() > 65535) {
    return invalidArgument("{}.port: must be an integer in [1, 65535], got {}", where,
                           port == doc.end() ? "nothing" : port->dump());
  }
  inst.port = static_cast<uint16_t>(port->get<int64_t>());
  SLUICE_ASSIGN_OR_RETURN(inst.cluster, stringField(doc, where, "clusterName", kDefaultCluster));
  if (inst.cluster.empty()) inst.cluster = std::string(kDefaultCluster);
  if (auto s = checkClusterName(inst.cluster); !s) {
    return invalidArgument("{}.clusterName: {}", where, s.error().message);
  }
  if (auto w = doc.find("weight"); w != doc.end() && !w->is_null()) {
    if (!w->is_number() || !std::isfinite(w->get<double>()) || w->get<double>() < 0 ||
        w->get<double>() > kMaxWeight) {
      return invalidArgument("{}.weight: must be a number in [0, 10000], got {}", where, w->dump());
    }
    inst.weight = w->get<double>();
  }
  SLUICE_ASSIGN_OR_RETURN(inst.healthy, boolField(doc, where, "healthy", true));
  SLUICE_ASSIGN_OR_RETURN(inst.enabled, boolField(doc, where, "enabled", true));
  SLUICE_ASSIGN_OR_RETURN(inst.ephemeral, boolField(doc, where, "ephemeral", true));
  if (auto m = doc.find("metadata"); m != doc.end() && !m->is_null()) {
    if (!m->is_object()) {
      return invalidArgument("{}.metadata: must be a JSON object, got {}", where, m->type_name());
    }
    for (const auto& [key, value] : m->items()) {
      if (value.is_string()) {
        inst.metadata[key] = value.get<std::string>();
      } else if (value.is_number() || value.is_boolean()) {
        inst.metadata[key] = value.dump();
      } else if (!value.is_null()) {
        return invalidArgument("{}.metadata.{}: must be a string, got {}", where, key,
                               value.type_name());
      }
    }
  }
  SLUICE_ASSIGN_OR_RETURN(inst.instance_id, stringField(doc, where, "instanceId", ""));
  return inst;
}

Json instanceJson(const NamingInstance& inst, const std::string& grouped_service) {
  Json host;
  host["instanceId"] = inst.instance_id.empty()
                           ? makeInstanceId(inst.ip, inst.port, inst.cluster, grouped_service)
                           : inst.instance_id;
  host["ip"] = inst.ip;
  host["port"] = inst.port;
  host["weight"] = inst.weight;
  host["healthy"] = inst.healthy;
  host["enabled"] = inst.enabled;
  host["ephemeral"] = inst.ephemeral;
  host["clusterName"] = inst.cluster;
  host["serviceName"] = grouped_service;
  host["metadata"] = inst.metadata;
  return host;
}

Json serviceInfoJson(const ServiceInfoView& view, const std::vector<const NamingInstance*>& all) {
  std::set<std::string, std::less<>> wanted;
  for (std::string_view c : split(view.clusters, ',')) {
    c = trim(c);
    if (!c.empty()) wanted.emplace(c);
  }
  Json hosts = Json::array();
  for (const NamingInstance* inst : all) {
    if (!inst->enabled) continue;
    if (!wanted.empty() && wanted.count(inst->cluster) == 0) continue;
    if (view.healthy_only && !inst->healthy) continue;
    hosts.push_back(instanceJson(*inst, view.grouped_service));
  }
  auto [group, bare] = splitGroupedName(view.grouped_service);
  Json doc;
  doc["name"] = bare;
  doc["groupName"] = group;
  doc["clusters"] = view.clusters;
  doc["cacheMillis"] = view.cache_millis;
  doc["hosts"] = std::move(hosts);
  doc["lastRefTime"] = view.now_ms;
  doc["checksum"] = "";
  doc["allIPs"] = false;
  doc["reachProtectionThreshold"] = false;
  doc["valid"] = true;
  return doc;
}

}  // namespace sluice::registry::nacos
