#include "proxy/upstream_attempt.h"

#include <string>

#include "proxy/body_pump.h"

namespace sluice::proxy {

using asio::awaitable;
using Kind = AttemptResult::Kind;

awaitable<AttemptResult> runAttempt(RequestContext& rc, ClusterState& cs, EndpointState& ep,
                                    const AttemptRequest& req, uint32_t attempt, SocketTimer& timer,
                                    std::optional<std::chrono::steady_clock::time_point> deadline) {
  AttemptResult r;
  UpstreamPool& pool = rc.w.upstreamPool();
  PooledConnection pooled = co_await pool.acquire(cs, ep);
  if (pooled.result != ConnectResult::kOk) {
    r.kind = pooled.result == ConnectResult::kOverflow ? Kind::kOverflow : Kind::kConnectFailure;
    co_return r;
  }
  std::unique_ptr<UpstreamStream> up = std::move(pooled.connection);
  if (deadline) timer.arm(*deadline, *up);

  // Head (+ buffered body), then a streamed body.
  if (attempt > 1) req.head.headers.set("x-envoy-attempt-count", std::to_string(attempt));
  bool ok = co_await up->sendRequest(req.head, req.body, req.replayable);
  bool downstream_error = false;
  if (ok && !req.replayable) {
    rc.body_consumed = true;
    PumpResult p = co_await rc.stream.readRequestBody(rc.parsed.framing, up->requestBodySink());
    rc.outcome.bytes_received += p.body_bytes;
    if (p.ok()) {
      up->finishRequestBody(p.trailers);
    } else {
      downstream_error = p.status != PumpResult::Status::kSinkFailed;
      if (p.status == PumpResult::Status::kMalformed) r.downstream_error = std::move(p.error);
      ok = false;
    }
  }
  // The response head.
  ResponseHeadRead head;
  if (ok) {
    head = co_await up->readResponseHead(rc.w.options().limits, req.is_head, rc.x.upstream_in,
                                         rc.x.response);
    r.head = std::move(head.head);
  }
  if (ok && r.head.status == http::ParseStatus::kComplete) {
    r.kind = Kind::kResponse;
    r.connection = std::move(up);
    co_return r;
  }
  timer.disarm();
  bool timed_out = timer.fired();
  pool.release(cs, ep, std::move(up), false);
  if (downstream_error) {
    r.kind = Kind::kDownstreamError;
  } else if (pooled.reused && !head.got_bytes && !timed_out) {
    r.kind = Kind::kStaleConnection;
  } else if (timed_out) {
    r.kind = Kind::kTimeout;
  } else if (ok && !head.ec && r.head.status == http::ParseStatus::kError) {
    r.kind = Kind::kProtocolError;
  } else {
    r.kind = Kind::kReset;
  }
  co_return r;
}

}  // namespace sluice::proxy
