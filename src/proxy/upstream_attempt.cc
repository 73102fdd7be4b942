#include "proxy/upstream_attempt.h"

#include <array>
#include <asio/write.hpp>
#include <string>

#include "proxy/body_pump.h"

namespace sluice::proxy {

using asio::awaitable;
using Kind = AttemptResult::Kind;

namespace {

// Parses the response head from what the buffer holds, dropping interim 1xx responses (except
// 101). kIncomplete: read more and call again.
http::HeadResult parseFinalHead(RequestContext& rc, http::ResponseHeadParser& parser,
                                bool is_head) {
  Buffer& buf = rc.x.upstream_in;
  for (;;) {
    http::HeadResult head = parser.parse(buf.view(), rc.x.response, is_head);
    if (head.status != http::ParseStatus::kComplete) return head;
    buf.consume(head.consumed);
    int status = rc.x.response.status;
    if (status < 100 || status >= 200 || status == 101) return head;
  }
}

}  // namespace

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
  std::unique_ptr<UpstreamConnection> conn = std::move(pooled.connection);
  ++conn->requests;
  if (deadline) timer.arm(*deadline, conn->socket);

  // Head (+ buffered body) in one gathered write, then a streamed body.
  if (attempt > 1) req.head.headers.set("x-envoy-attempt-count", std::to_string(attempt));
  rc.x.out.clear();
  http::serializeRequestHead(req.head, rc.x.out);
  asio::error_code ec;
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(rc.x.out), asio::buffer(req.body)};
  co_await asio::async_write(conn->socket, bufs, withEc(ec));
  bool downstream_error = false;
  if (!ec && !req.replayable) {
    rc.body_consumed = true;
    PumpResult p =
        co_await rc.stream.readRequestBody(rc.parsed.framing, BodySink::toSocket(conn->socket));
    rc.outcome.bytes_received += p.body_bytes;
    if (!p.ok()) {
      downstream_error = p.status != PumpResult::Status::kSinkFailed;
      if (p.status == PumpResult::Status::kMalformed) r.downstream_error = std::move(p.error);
      ec = asio::error::broken_pipe;
    }
  }
  // The response head (no coroutine of its own: this is the hot path).
  bool got_bytes = false;
  if (!ec) {
    rc.x.upstream_in.clear();
    http::ResponseHeadParser parser(rc.w.options().limits);
    for (;;) {
      r.head = parseFinalHead(rc, parser, req.is_head);
      if (r.head.status != http::ParseStatus::kIncomplete) break;
      size_t n = co_await readMore(conn->socket, rc.x.upstream_in, ec);
      if (ec || n == 0) {
        if (!ec) ec = asio::error::eof;
        break;
      }
      got_bytes = true;
    }
  }
  if (!downstream_error && !ec && r.head.status == http::ParseStatus::kComplete) {
    r.kind = Kind::kResponse;
    r.connection = std::move(conn);
    co_return r;
  }
  timer.disarm();
  bool timed_out = timer.fired();
  pool.release(cs, ep, std::move(conn), false);
  if (downstream_error) {
    r.kind = Kind::kDownstreamError;
  } else if (pooled.reused && !got_bytes && !timed_out) {
    r.kind = Kind::kStaleConnection;
  } else if (timed_out) {
    r.kind = Kind::kTimeout;
  } else if (!ec && r.head.status == http::ParseStatus::kError) {
    r.kind = Kind::kProtocolError;
  } else {
    r.kind = Kind::kReset;
  }
  co_return r;
}

}  // namespace sluice::proxy
