#pragma once
// Method 2 for Nacos 2.x/3.x gRPC clients: what list_rewrite.h does for the v1 instance list,
// applied to the gRPC messages the Nacos server sends (real-peers.md §6). A sidecar relaying its
// application's connection to the Nacos gRPC port (HTTP port + 1000) hands each server message
// here; those that carry instance or server addresses come back rewritten:
//   - QueryServiceResponse, SubscribeServiceResponse (unary answers) and NotifySubscriberRequest
//     (pushed on the BiRequestStream): serviceInfo.hosts[].ip becomes the service's mesh host
//     (the ungrouped service name, as v1), and the address at the front of hosts[].instanceId
//     ("ip#port#cluster#group@@service") with it, so no pod address reaches the application;
//   - ConnectResetRequest: serverIp/serverPort are dropped, so the client reconnects through its
//     configured server list (through the sidecar) instead of to an address it was handed.
// Ports, health, weights, metadata, field order and every other message are kept. Responses to
// the client's own requests (InstanceRequest ...) carry no addresses; the client's messages are
// never touched (its registration must keep its pod address: that is what the mesh routes to).
// ServerCheckResponse.connectionId names the sidecar's address as the server saw it; it is an
// opaque id to the client and is kept.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/interception.h"

namespace sluice::registry::nacos {

// Nacos' client gRPC port offset (Constants.SDK_GRPC_PORT_DEFAULT_OFFSET).
inline constexpr uint16_t kGrpcPortOffset = 1000;

struct GrpcRewriteResult {
  std::string payload;  // the re-encoded Payload
  std::string type;     // Metadata.type
  std::string service;  // ungrouped service name (empty for ConnectResetRequest)
  int addresses_rewritten = 0;
};

// Rewrites one serialized Payload from the server. nullopt when the message carries no
// addresses (any other type, a push without hosts) and must pass unchanged; an error
// (kInvalidArgument, source kRegistry) when it is not a Payload or a rewritten type's body is
// not what it should be: the caller passes it unchanged too, and logs why.
Result<std::optional<GrpcRewriteResult>> rewriteServerPayload(std::string_view payload);

class GrpcPayloadRewriter : public http::GrpcInterceptionRewriter {
 public:
  std::string_view registry() const override { return "nacos"; }
  uint16_t grpcPort(std::optional<uint16_t> http_port) const override;
  // /Request/request and /BiRequestStream/requestBiStream (the proto has no package).
  bool appliesTo(std::string_view path) const override;
  std::optional<http::RewrittenBody> rewriteServerMessage(std::string_view message) const override;
};

}  // namespace sluice::registry::nacos
