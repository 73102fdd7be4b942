#pragma once
// The Nacos gRPC message layer, shared by the embedded server and the watcher's client: one
// Payload (protobuf, nacos_grpc_service.proto) <-> GrpcMessage (the Java class name, the
// headers, and the JSON body), plus the JSON shapes of the naming objects (Instance,
// ServiceInfo) and of the common Response fields.
//
// Wire facts (research/registries.md §2, real-peers.md §6): Metadata.type is the Java simple
// class name; body.value is the object's JSON (Jackson, nulls omitted, unknown fields ignored);
// body.type_url is empty; request headers travel in Metadata.headers.
//
// Threading: pure functions, no state.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "registry/nacos/naming_model.h"

namespace sluice::registry::nacos {

using Json = nlohmann::ordered_json;

struct GrpcMessage {
  std::string type;  // "ServerCheckRequest", "InstanceResponse", ...
  std::map<std::string, std::string> headers;
  std::string client_ip;
  Json body = Json::object();
};

// Nacos error codes a client acts on (NacosException).
inline constexpr int kGrpcCodeInvalidParam = 400;
inline constexpr int kGrpcCodeServerError = 500;
inline constexpr int kGrpcCodeUnregistered = 301;  // the client reconnects
inline constexpr int kGrpcCodeNoHandler = 302;     // unknown request type

// Parses one Payload. Errors (kInvalidArgument, source kDownstream) say which layer is broken:
// not a protobuf Payload, no Metadata.type, a body that is not a JSON object.
Result<GrpcMessage> decodePayload(std::string_view bytes);
std::string encodePayload(const GrpcMessage& message);

// A response of `type` with the common fields: resultCode 200, errorCode 0, success, and the
// request's requestId.
GrpcMessage makeResponse(std::string type, const GrpcMessage& request);
// ErrorResponse{resultCode 500, errorCode, message} for `request` (may be null: no requestId).
GrpcMessage makeErrorResponse(int error_code, std::string message, const GrpcMessage* request);
// True when a response reports success (resultCode 200).
bool responseSucceeded(const GrpcMessage& response);
// "ErrorResponse 302: Unknown payload type", for messages.
std::string describeResponseError(const GrpcMessage& response);

// api Instance JSON <-> NamingInstance. parseInstanceJson validates like the HTTP API (ip, port,
// cluster, weight, metadata values) and names the bad field, e.g. "instance.port: ...".
Result<NamingInstance> parseInstanceJson(const Json& doc, std::string_view where);
Json instanceJson(const NamingInstance& inst, const std::string& grouped_service);

// The ServiceInfo of a gRPC answer or push: `name` ungrouped plus `groupName`, `clusters`
// echoed (clients key their caches on group@@name@@clusters), disabled instances left out.
struct ServiceInfoView {
  std::string grouped_service;
  std::string clusters;  // as the client asked, comma-separated; empty = all
  bool healthy_only = false;
  int64_t cache_millis = 10'000;
  int64_t now_ms = 0;
};
Json serviceInfoJson(const ServiceInfoView& view, const std::vector<const NamingInstance*>& all);

}  // namespace sluice::registry::nacos
