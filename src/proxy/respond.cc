#include "proxy/respond.h"

#include <array>
#include <asio/write.hpp>
#include <string>

#include "http/codec.h"
#include "proxy/body_pump.h"
#include "proxy/grpc.h"
#include "proxy/tcp_relay.h"

namespace sluice::proxy {

using asio::awaitable;
using std::chrono::steady_clock;

namespace {

// Response filters, backwards. Which filters asked for the body (bit per chain index), the
// strictest limit asked, and what to answer when the body cannot be had.
struct ResponseFilterOutcome {
  uint32_t want_body = 0;
  size_t body_limit = 0;
  std::optional<LocalReply> reply;  // a filter stopped the response, or the body's fallback
  bool stopped = false;
};

ResponseFilterOutcome runResponseFilters(FilterContext& fc, http::ResponseHead& resp) {
  ResponseFilterOutcome out;
  auto chain = httpFilterChain();
  for (size_t i = chain.size(); i-- > 0;) {
    FilterResult r = chain[i]->onResponseHead(fc, resp);
    if (r.status == FilterStatus::kStopWithLocalReply) {
      out.stopped = true;
      out.reply = std::move(r.reply);
      return out;
    }
    if (r.status == FilterStatus::kBufferBody) {
      out.want_body |= 1u << i;
      out.body_limit =
          out.want_body == (1u << i) ? r.body_limit : std::min(out.body_limit, r.body_limit);
      if (!out.reply) out.reply = std::move(r.reply);
    }
  }
  return out;
}

// Connection handling of the response head sent downstream (HTTP/1.1: an HTTP/2 stream has no
// connection of its own to keep or close).
void finishHead(RequestContext& rc, http::ResponseHead& resp) {
  if (rc.stream.isHttp2()) return;
  // Heap overload: Envoy's disable_http_keepalive, so connections go away after their response.
  if (rc.d.close_after || rc.w.draining() || rc.w.overloaded()) rc.keep_alive = false;
  if (!rc.keep_alive) {
    resp.headers.set("connection", "close");
  } else if (rc.head.version == http::Version::kHttp10) {
    resp.headers.set("connection", "keep-alive");
  }
  resp.version = http::Version::kHttp11;
}

awaitable<void> relayUpgrade(RequestContext& rc, FilterContext& fc, UpstreamExchange& ex,
                             std::string_view upgrade, SocketTimer& timer) {
  timer.disarm();  // a tunnel lives as long as its ends want; no route timeout applies
  ClusterState& cs = *ex.lease.cluster();
  EndpointState& ep = *ex.lease.endpoint();
  http::ResponseHead& resp = rc.x.response;
  std::string agreed(resp.headers.get("upgrade").value_or(""));
  ByteStream* up = ex.connection->byteStream();
  // The byte relay is between two TCP sockets; an HTTP/2 stream on either side never upgrades
  // (RFC 9113 §8.6: no 101 and no Upgrade in HTTP/2).
  bool relayable =
      !rc.stream.isHttp2() && rc.d.socket.isSocket() && up != nullptr && up->isSocket();
  if (upgrade.empty() || agreed.empty() || !relayable) {
    rc.w.upstreamPool().release(cs, ep, std::move(ex.connection), false);
    co_await sendReply(rc, LocalReply::unrequestedUpgrade());
    co_return;
  }
  http::removeHopByHop(resp.headers);
  runResponseFilters(fc, resp);  // header operations; nothing buffers or stops a 101
  resp.headers.set("connection", "upgrade");
  resp.headers.set("upgrade", agreed);
  rc.x.out.clear();
  http::serializeResponseHead(resp, rc.x.out);
  rc.keep_alive = false;
  // Bytes that came early, on either side, already belong to the new protocol.
  Buffer& ubuf = rc.x.upstream_in;
  asio::error_code ec;
  std::array<asio::const_buffer, 2> out = {asio::buffer(rc.x.out), asio::buffer(ubuf.view())};
  co_await asio::async_write(rc.d.socket, out, withEc(ec));
  ubuf.clear();
  if (!ec && !rc.d.in.empty()) {
    co_await asio::async_write(*up, asio::buffer(rc.d.in.view()), withEc(ec));
    rc.d.in.clear();
  }
  cs.recordResult(ep, 101, false, steady_clock::now());
  if (!ec) co_await relayBothWays(rc.d.socket.socket(), up->socket());
  rc.w.upstreamPool().release(cs, ep, std::move(ex.connection), false);
}

awaitable<void> respondBuffered(RequestContext& rc, FilterContext& fc, UpstreamExchange& ex,
                                ResponseFilterOutcome& filtered, SocketTimer& timer) {
  ClusterState& cs = *ex.lease.cluster();
  EndpointState& ep = *ex.lease.endpoint();
  http::ResponseHead& resp = rc.x.response;
  Buffer& ubuf = rc.x.upstream_in;
  std::string body;
  PumpResult p =
      co_await ex.connection->readResponseBody(ex.head.framing, rc.w.options().limits, ubuf,
                                               BodySink::intoString(body, filtered.body_limit));
  timer.disarm();
  if (!p.ok() || timer.fired()) {
    cs.recordResult(ep, 502, true, steady_clock::now());
    rc.w.upstreamPool().release(cs, ep, std::move(ex.connection), false);
    co_await sendReply(rc, *filtered.reply);
    co_return;
  }
  bool reusable =
      ex.head.framing.kind != http::BodyKind::kUntilClose && ex.head.keep_alive && ubuf.empty();
  auto chain = httpFilterChain();
  for (size_t i = chain.size(); i-- > 0;) {
    if ((filtered.want_body & (1u << i)) != 0) chain[i]->onResponseBody(fc, resp, body);
  }
  resp.headers.set("content-length", std::to_string(body.size()));
  finishHead(rc, resp);
  if (!co_await rc.stream.sendResponse(resp, body)) {
    rc.keep_alive = false;
    rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
  }
  if (rc.outcome.grpc) rc.outcome.grpc_status = grpc::statusOf(resp.headers);
  rc.outcome.bytes_sent += body.size();
  cs.recordResult(ep, resp.status, false, steady_clock::now());
  rc.w.upstreamPool().release(cs, ep, std::move(ex.connection), reusable);
}

// The end of a streamed response, to either protocol: gRPC's status from the head when no
// trailers gave one, the endpoint's result, and the upstream connection back to the pool, kept
// only when its body ended cleanly and framed with nothing after it. False when the response
// did not end cleanly or the attempt's timer fired meanwhile.
bool finishStreamed(RequestContext& rc, UpstreamExchange& ex, SocketTimer& timer, bool ok) {
  ClusterState& cs = *ex.lease.cluster();
  EndpointState& ep = *ex.lease.endpoint();
  const http::HeadResult& rh = ex.head;
  const http::ResponseHead& resp = rc.x.response;
  if (rc.outcome.grpc && rc.outcome.grpc_status < 0) {
    rc.outcome.grpc_status = grpc::statusOf(resp.headers);
  }
  bool reusable = ok && rh.framing.kind != http::BodyKind::kUntilClose && rh.keep_alive &&
                  rc.x.upstream_in.empty();
  timer.disarm();
  if (timer.fired()) ok = false;
  cs.recordResult(ep, resp.status, false, steady_clock::now());
  rc.w.upstreamPool().release(cs, ep, std::move(ex.connection), reusable && ok);
  return ok;
}

// Streamed to an HTTP/2 stream: HEADERS, the decoded body as DATA (the stream waits for the
// client's window), then the upstream's trailers or END_STREAM. A response that fails midway
// resets the stream, as an HTTP/1.1 client sees its connection close.
awaitable<void> streamToHttp2(RequestContext& rc, UpstreamExchange& ex, SocketTimer& timer) {
  http::ResponseHead& resp = rc.x.response;
  const http::HeadResult& rh = ex.head;
  Buffer& ubuf = rc.x.upstream_in;
  DownstreamStream& ds = rc.stream;
  bool no_body = rh.framing.kind == http::BodyKind::kNone ||
                 (rh.framing.kind == http::BodyKind::kContentLength && rh.framing.length == 0);
  bool ok = co_await ds.sendHead(resp, no_body);
  bool downstream_gone = !ok;
  if (ok && !no_body) {
    PumpResult p = co_await ex.connection->readResponseBody(rh.framing, rc.w.options().limits, ubuf,
                                                            BodySink::toData(ds));
    rc.outcome.bytes_sent += p.body_bytes;
    ok = p.ok();
    if (p.status == PumpResult::Status::kSinkFailed) {
      downstream_gone = true;
    } else if (!ok) {
      ds.reset();
    } else {
      const http::Headers* trailers = p.trailers.empty() ? nullptr : &p.trailers;
      downstream_gone = !ds.finish(trailers);
      if (rc.outcome.grpc && trailers != nullptr)
        rc.outcome.grpc_status = grpc::statusOf(*trailers);
    }
  }
  if (downstream_gone) rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
  finishStreamed(rc, ex, timer, ok);
}

}  // namespace

awaitable<void> respond(RequestContext& rc, FilterContext& fc, UpstreamExchange& ex,
                        std::string_view upgrade, SocketTimer& timer) {
  http::ResponseHead& resp = rc.x.response;
  rc.outcome.status = resp.status;
  if (resp.status == 101) {
    co_await relayUpgrade(rc, fc, ex, upgrade, timer);
    co_return;
  }
  http::removeHopByHop(resp.headers);
  ResponseFilterOutcome filtered = runResponseFilters(fc, resp);
  if (filtered.stopped) {
    timer.disarm();
    rc.w.upstreamPool().release(*ex.lease.cluster(), *ex.lease.endpoint(), std::move(ex.connection),
                                false);
    co_await sendReply(rc, *filtered.reply);
    co_return;
  }
  if (filtered.want_body != 0) {
    co_await respondBuffered(rc, fc, ex, filtered, timer);
    co_return;
  }
  if (rc.stream.isHttp2()) {
    co_await streamToHttp2(rc, ex, timer);
    co_return;
  }
  // Streamed to HTTP/1.1 (inline rather than a coroutine of its own: this is the hot path).
  const http::HeadResult& rh = ex.head;
  Buffer& ubuf = rc.x.upstream_in;
  bool http10 = rc.head.version == http::Version::kHttp10;
  bool chunked = rh.framing.kind == http::BodyKind::kChunked;
  if (chunked && !http10) resp.headers.add("transfer-encoding", "chunked");
  if (rh.framing.kind == http::BodyKind::kUntilClose || (chunked && http10)) {
    rc.keep_alive = false;
  }
  finishHead(rc, resp);
  rc.x.out.clear();
  http::serializeResponseHead(resp, rc.x.out);
  asio::error_code ec;
  bool ok = true;
  UpstreamStream& up = *ex.connection;
  std::string_view received = up.receivedBody(ubuf);
  if (rh.framing.kind == http::BodyKind::kContentLength && received.size() >= rh.framing.length) {
    // The whole body is already here (the common small response): one gathered write.
    size_t n = static_cast<size_t>(rh.framing.length);
    std::array<asio::const_buffer, 2> out = {asio::buffer(rc.x.out),
                                             asio::buffer(received.data(), n)};
    co_await asio::async_write(rc.d.socket, out, withEc(ec));
    ok = !ec;
    if (!ok) rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
    rc.outcome.bytes_sent += n;
    up.consumeBody(ubuf, n);
  } else {
    co_await asio::async_write(rc.d.socket, asio::buffer(rc.x.out), withEc(ec));
    ok = !ec;
    if (!ok) rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
    if (ok) {
      auto form = chunked && http10 ? BodySink::Form::kDecoded : BodySink::Form::kAsFramed;
      PumpResult p = co_await up.readResponseBody(rh.framing, rc.w.options().limits, ubuf,
                                                  BodySink::toSocket(rc.d.socket, form));
      rc.outcome.bytes_sent += p.body_bytes;
      ok = p.ok();
      if (p.status == PumpResult::Status::kSinkFailed) {
        rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
      }
      // A gRPC answer's status is in its trailers (or, trailers-only, in the head).
      if (rc.outcome.grpc && !p.trailers.empty())
        rc.outcome.grpc_status = grpc::statusOf(p.trailers);
    }
  }
  if (!finishStreamed(rc, ex, timer, ok)) rc.keep_alive = false;
}

}  // namespace sluice::proxy
