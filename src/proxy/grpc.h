#pragma once
// What the request path reads and writes of gRPC (gRPC over HTTP/2, PROTOCOL-HTTP2.md), as Envoy
// does for Istio: a request is gRPC when its content-type is application/grpc*; its
// grpc-timeout bounds the route timeout; the grpc-status of a trailers-only answer (grpc-status
// in the response head) is what retryOn's gRPC policies look at; local replies to a gRPC request
// are trailers-only gRPC answers (HTTP 200, grpc-status mapped from the HTTP status as Envoy's
// Grpc::Utility::httpToGrpcStatus, grpc-message from the reply text) so clients see a status,
// not a transport error. Pure functions, any thread.

#include <chrono>
#include <optional>
#include <string_view>

#include "http/message.h"
#include "proxy/local_reply.h"

namespace sluice::proxy::grpc {

bool isGrpc(const http::Headers& headers);

// grpc-timeout: 1-8 digits and a unit (H M S m u n); nullopt when absent or malformed.
std::optional<std::chrono::milliseconds> timeoutOf(const http::Headers& headers);

// grpc-status in a response head, or -1 when there is none (or it is not a number).
int statusOf(const http::Headers& headers);

// gRPC status code for a canonical name ("UNAVAILABLE" -> 14), -1 when unknown.
int codeForName(std::string_view name);

// HTTP status -> gRPC status for local replies.
int codeForHttpStatus(int http_status);

// `reply` as a trailers-only gRPC answer (`grpc_code` < 0: DEADLINE_EXCEEDED for a timeout the
// proxy enforced, else mapped from reply.status).
LocalReply asGrpcReply(const LocalReply& reply, int grpc_code = -1);

}  // namespace sluice::proxy::grpc
