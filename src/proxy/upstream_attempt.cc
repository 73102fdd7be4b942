#include "proxy/upstream_attempt.h"

#include <array>
#include <asio/write.hpp>
#include <string>

#include "proxy/body_pump.h"

namespace sluice::proxy {

using asio::awaitable;
using Kind = AttemptResult::Kind;

namespace {

// Reads the final response head into rc.d.response. `got_bytes`: some read succeeded.
struct HeadRead {
  http::HeadResult head;
  asio::error_code ec;
  bool got_bytes = false;
};

awaitable<HeadRead> readResponseHead(RequestContext& rc, asio::ip::tcp::socket& up, bool is_head) {
  HeadRead r;
  Buffer& buf = rc.d.upstream_in;
  buf.clear();
  http::ResponseHeadParser parser(rc.w.options().limits);
  for (;;) {
    r.head = parser.parse(buf.view(), rc.d.response, is_head);
    if (r.head.status == http::ParseStatus::kComplete) {
      buf.consume(r.head.consumed);
      int status = rc.d.response.status;
      if (status >= 100 && status < 200 && status != 101) continue;  // interim
      co_return r;
    }
    if (r.head.status == http::ParseStatus::kError) co_return r;
    size_t n = co_await readMore(up, buf, r.ec);
    if (r.ec || n == 0) {
      if (!r.ec) r.ec = asio::error::eof;
      co_return r;
    }
    r.got_bytes = true;
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
  rc.d.out.clear();
  http::serializeRequestHead(req.head, rc.d.out);
  asio::error_code ec;
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(rc.d.out), asio::buffer(req.body)};
  co_await asio::async_write(conn->socket, bufs, withEc(ec));
  bool downstream_error = false;
  if (!ec && !req.replayable) {
    rc.body_consumed = true;
    PumpResult p = co_await pumpBody(rc.parsed.framing, rc.w.options().limits, rc.d.socket, rc.d.in,
                                     BodySink::toSocket(conn->socket));
    rc.outcome.bytes_received += p.body_bytes;
    if (!p.ok()) {
      downstream_error = p.status != PumpResult::Status::kSinkFailed;
      ec = asio::error::broken_pipe;
    }
  }
  HeadRead head;
  if (!ec) head = co_await readResponseHead(rc, conn->socket, req.is_head);
  if (!ec) ec = head.ec;
  r.head = std::move(head.head);
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
  } else if (pooled.reused && !head.got_bytes && !timed_out) {
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
