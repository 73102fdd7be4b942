#pragma once
// The state of one request as it moves through the phases of the connection manager
// (proxy/connection_manager.h): the downstream connection, the downstream stream the request is
// read from and answered on (proxy/downstream_stream.h: the HTTP/1.1 connection, or one HTTP/2
// stream), the parsed head (rewritten in place into the upstream head), the one snapshot
// reference the request holds, and its outcome for stats and the access log. Lives on the
// request coroutine's frame; worker thread only.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "http/codec.h"
#include "proxy/downstream_io.h"
#include "proxy/downstream_stream.h"
#include "proxy/local_reply.h"
#include "proxy/response_flags.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace sluice::proxy {

// What one request turned into.
struct RequestOutcome {
  int status = 0;
  ResponseFlags flags;
  bool grpc = false;     // the request is gRPC (request_protocol "grpc")
  bool http2 = false;    // the request came on an HTTP/2 stream (the access log says HTTP/2)
  int grpc_status = -1;  // the answer's grpc-status (head or trailers); -1: none
  std::string upstream_host;
  std::string_view service;  // destination FQDN for stats; "" = unknown
  std::string_view subset;
  std::string_view route_name;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint32_t attempts = 0;
};

struct RequestContext {
  Worker& w;
  Downstream& d;  // the connection (HTTP/2: shared by its streams; read and write `stream`)
  const ListenerContext& listener;
  http::RequestHead& head;
  http::HeadResult& parsed;
  DownstreamStream& stream;
  ExchangeBuffers& x;                        // this request's upstream buffers
  std::shared_ptr<const MeshSnapshot> snap;  // the one snapshot reference of this request
  RequestOutcome outcome;
  std::string original_target;  // the target as received, when it was rewritten (access log)
  bool keep_alive = true;
  bool body_consumed = false;  // the request body was read (or there was none)

  bool hasBody() const {
    return parsed.framing.kind != http::BodyKind::kNone &&
           !(parsed.framing.kind == http::BodyKind::kContentLength && parsed.framing.length == 0);
  }
};

// Answers the request locally and records the reply in the outcome. When the request body was
// not read the connection closes after the reply (its bytes would be taken for a next request).
asio::awaitable<void> sendReply(RequestContext& rc, const LocalReply& reply);

}  // namespace sluice::proxy
