#pragma once
// One upstream attempt: an upstream stream from the worker's pool to one endpoint (a pooled
// HTTP/1.1 connection or a stream of an HTTP/2 connection, proxy/upstream_stream.h), the request
// head (and the buffered body, in one gathered write; or the body streamed from the downstream
// when it is not replayable), then the response head (1xx interim responses dropped; 100
// Continue was answered locally). The result says what happened; deciding whether to try again is
// the retry loop's (proxy/retry_loop.h), streaming the response back the connection manager's.
//
// Worker thread only. The endpoint must be acquired by the caller (EndpointLease) and its
// cluster state pinned. `timer` is armed here for the attempt's deadline; on kResponse it is
// still armed (it bounds the response body too) and the caller disarms it.

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

#include "http/codec.h"
#include "proxy/load_balancer.h"
#include "proxy/request_context.h"
#include "proxy/socket_timer.h"
#include "proxy/upstream_stream.h"

namespace sluice::proxy {

// What every attempt of one request sends.
struct AttemptRequest {
  http::RequestHead& head;  // the upstream head; x-envoy-attempt-count is set from attempt 2 on
  std::string_view body;    // the buffered body when replayable, sent with the head
  bool replayable = true;   // false: the body streams from the downstream (one attempt only)
  bool is_head = false;     // HEAD request: the response has no body whatever it says
};

struct AttemptResult {
  enum class Kind : uint8_t {
    kResponse,         // a response head arrived (in ExchangeBuffers::response; framing in `head`)
    kOverflow,         // pool limits refused a connection
    kConnectFailure,   // connecting failed or timed out
    kStaleConnection,  // a pooled connection the upstream had closed while idle: no byte came
    kTimeout,          // the attempt's deadline passed before the response head
    kReset,            // the upstream closed or failed before a response head
    kProtocolError,    // the response head was malformed (`head.error.reason`)
    kDownstreamError,  // the request body, streaming, was malformed or the downstream went away
  };
  Kind kind = Kind::kReset;
  std::unique_ptr<UpstreamStream> connection;  // kResponse: the body follows on it
  http::HeadResult head;
  // kDownstreamError: what to answer (no response has started): the chunked decoder's
  // 400 / 413 / 431 and reason, or status 0 when the downstream closed mid-body. The upstream
  // connection, which got part of a request, is closed.
  http::ParseError downstream_error{0, {}};
};

asio::awaitable<AttemptResult> runAttempt(
    RequestContext& rc, ClusterState& cluster, EndpointState& endpoint,
    const AttemptRequest& request, uint32_t attempt, SocketTimer& timer,
    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace sluice::proxy
