#pragma once
// A response the proxy writes itself instead of an upstream's: the status, the flag that
// explains it (proxy/response_flags.h), a short text/plain body saying what and where, extra
// headers (Location, CORS), and whether another attempt could have gone differently. Every
// local answer on the request path is built by one of the named constructors below, so the
// wording of each error lives in one place (local_reply.cc). Pure data, any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "proxy/response_flags.h"

namespace sluice::proxy {

struct LocalReply {
  int status = 200;
  ResponseFlag flag = ResponseFlag::kNone;
  std::string body;
  bool retryable = false;  // the failure was the upstream's: a retry policy may try again
  http::Headers headers;   // besides content-type / content-length / server / connection

  // Downstream: the request itself is unusable.
  static LocalReply missingHost();
  static LocalReply unsupportedTarget(std::string_view target);
  // The request body broke after its head was forwarded: bad chunked framing (`status` 400,
  // 413 or 431 from the decoder), or the body ended before its declared end.
  static LocalReply malformedRequestBody(int status, std::string_view reason);
  // `declared`: the Content-Length, or nullopt for a chunked body. Flag DC: the client went.
  static LocalReply incompleteRequestBody(uint64_t received, std::optional<uint64_t> declared);
  // Resolve and route.
  static LocalReply noGatewayServer(uint32_t port);
  static LocalReply unknownService(std::string_view authority);
  static LocalReply noVirtualHost(std::string_view authority);
  static LocalReply noRoute(std::string_view authority, std::string_view path);
  static LocalReply noDestination();
  static LocalReply redirect(int status, std::string location);
  static LocalReply direct(int status, std::string body);
  static LocalReply faultAbort(int status);
  // Cluster and endpoint.
  static LocalReply noCluster(std::string_view host, std::string_view subset, std::string_view why);
  static LocalReply clusterGone();
  static LocalReply originalDestinationNotIp(std::string_view host, std::string_view name);
  static LocalReply noHealthyUpstream(std::string_view host, std::string_view subset);
  // Upstream attempt.
  static LocalReply poolOverflow(std::string_view host, std::string_view subset);
  static LocalReply connectFailure(std::string_view address, std::string_view host,
                                   std::string_view subset);
  static LocalReply upstreamTimeout();
  static LocalReply upstreamReset();
  static LocalReply malformedResponse(std::string_view reason);
  static LocalReply unrequestedUpgrade();
};

}  // namespace sluice::proxy
