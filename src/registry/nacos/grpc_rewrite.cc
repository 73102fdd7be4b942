#include "registry/nacos/grpc_rewrite.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "registry/nacos/list_rewrite.h"
#include "registry/nacos/payload_wire.h"

namespace sluice::registry::nacos {
namespace {

using OrderedJson = nlohmann::ordered_json;

tl::unexpected<Error> unreadable(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                   "Nacos gRPC message: " + message);
}

// serviceInfo.hosts[] of an answer or push; returns the addresses rewritten, or an error when
// a host has no ip. `fallback_service` names the service when serviceInfo does not.
Result<int> rewriteServiceInfo(OrderedJson& info, std::string_view fallback_service,
                               std::string& service) {
  if (!info.is_object()) return unreadable("serviceInfo is not an object");
  if (auto name = info.find("name"); name != info.end() && name->is_string()) {
    service = std::string(ungroupedName(name->get<std::string>()));
  } else {
    service = std::string(ungroupedName(fallback_service));
  }
  auto hosts = info.find("hosts");
  // A push without hosts is dropped by the client (push-empty protection): nothing to hide.
  if (hosts == info.end() || hosts->is_null()) return 0;
  if (!hosts->is_array()) return unreadable("serviceInfo.hosts is not an array");
  if (hosts->empty()) return 0;
  if (service.empty()) return unreadable("serviceInfo has no service name");
  int rewritten = 0;
  for (auto& host : *hosts) {
    if (!host.is_object()) return unreadable("a serviceInfo.hosts[] entry is not an object");
    auto ip = host.find("ip");
    if (ip == host.end() || !ip->is_string()) {
      return unreadable("a serviceInfo.hosts[] entry has no \"ip\"");
    }
    std::string original = ip->get<std::string>();
    *ip = service;
    // "10.0.0.11#8070#DEFAULT#DEFAULT_GROUP@@service-provider": the address is its first part.
    if (auto id = host.find("instanceId"); id != host.end() && id->is_string()) {
      std::string value = id->get<std::string>();
      if (!original.empty() && value.size() > original.size() && value.starts_with(original) &&
          value[original.size()] == '#') {
        *id = service + value.substr(original.size());
      }
    }
    ++rewritten;
  }
  return rewritten;
}

}  // namespace

Result<std::optional<GrpcRewriteResult>> rewriteServerPayload(std::string_view payload) {
  auto message = parsePayloadWire(payload);
  if (!message) {
    return unreadable(fmt::format("{} byte(s) that do not decode as a Payload", payload.size()));
  }
  const std::string& type = message->type;
  bool service_info = type == "QueryServiceResponse" || type == "SubscribeServiceResponse" ||
                      type == "NotifySubscriberRequest";
  if (!service_info && type != "ConnectResetRequest") return std::nullopt;
  OrderedJson body = OrderedJson::parse(message->value, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return unreadable(fmt::format("{} body is not a JSON object", type));
  }
  GrpcRewriteResult result;
  result.type = type;
  if (service_info) {
    auto info = body.find("serviceInfo");
    if (info == body.end() || info->is_null()) return std::nullopt;  // e.g. a failed query
    std::string fallback;
    if (auto name = body.find("serviceName"); name != body.end() && name->is_string()) {
      fallback = name->get<std::string>();
    }
    SLUICE_ASSIGN_OR_RETURN(result.addresses_rewritten,
                            rewriteServiceInfo(*info, fallback, result.service));
  } else {
    // The client would connect straight to the named server, past the sidecar's rewrite.
    result.addresses_rewritten =
        static_cast<int>(body.erase("serverIp") + body.erase("serverPort"));
  }
  if (result.addresses_rewritten == 0) return std::nullopt;
  message->value = body.dump();
  result.payload = serializePayloadWire(*message);
  return result;
}

uint16_t GrpcPayloadRewriter::grpcPort(std::optional<uint16_t> http_port) const {
  constexpr uint16_t kDefaultHttpPort = 8848;
  return static_cast<uint16_t>(http_port.value_or(kDefaultHttpPort) + kGrpcPortOffset);
}

bool GrpcPayloadRewriter::appliesTo(std::string_view path) const {
  return path == "/Request/request" || path == "/BiRequestStream/requestBiStream";
}

std::optional<http::RewrittenBody> GrpcPayloadRewriter::rewriteServerMessage(
    std::string_view message) const {
  auto rewritten = rewriteServerPayload(message);
  if (!rewritten) {
    SLUICE_LOG_WARN("nacos grpc rewrite: {}; passed unchanged", rewritten.error().message);
    return std::nullopt;
  }
  if (!*rewritten) return std::nullopt;
  auto& r = **rewritten;
  SLUICE_LOG_DEBUG("nacos grpc rewrite: {} of {}: {} address(es)", r.type, r.service,
                   r.addresses_rewritten);
  return http::RewrittenBody{std::move(r.payload), std::move(r.service), r.addresses_rewritten};
}

}  // namespace sluice::registry::nacos
