#include "proxy/h2_upstream.h"

// GCC 12 at -O2 reports asio's awaitable frame operator new/delete pair as mismatched (a false
// positive, see connection_manager.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/log.h"
#include "core/strings.h"
#include "http/codec.h"
#include "http/h2/session.h"
#include "net/outbound_connect.h"
#include "proxy/downstream_io.h"
#include "proxy/load_balancer.h"
#include "proxy/socket_timer.h"
#include "proxy/stats.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;
namespace h2 = http::h2;
using std::chrono::steady_clock;

constexpr size_t kMaxQueuedRequest = 64 * 1024;

bool isGrpc(const http::Headers& headers) {
  auto ct = headers.get("content-type");
  constexpr std::string_view kGrpc = "application/grpc";
  return ct && ct->size() >= kGrpc.size() && equalsIgnoreCase(ct->substr(0, kGrpc.size()), kGrpc);
}

// One request's stream, between its bridge socket and the session.
struct UpStream {
  UpStream(asio::io_context& io, ByteStream bridge)
      : outer(std::move(bridge)), more(io), room(io), written(io) {}
  int32_t id = 0;
  ByteStream outer;  // our end of the bridge (worker-local, no fd)
  bool is_head = false;
  // Response side, filled by the session callbacks.
  bool head_arrived = false;
  http::ResponseHead response;
  std::string body;
  http::Headers trailers;
  bool ended = false;   // END_STREAM from the upstream
  bool closed = false;  // the stream is gone
  h2::ErrorCode close_code = h2::ErrorCode::kNoError;
  asio::steady_timer more;  // response progress
  asio::steady_timer room;  // request body may be queued again
  bool response_written = false;
  asio::steady_timer written;  // the response writer finished
};

}  // namespace

class Http2Upstream final : public h2::SessionCallbacks,
                            public std::enable_shared_from_this<Http2Upstream> {
 public:
  Http2Upstream(asio::io_context& io, tcp::socket socket, std::string address)
      : io_(io), socket_(std::move(socket)), address_(std::move(address)), writer_idle_(io) {
    session_ = h2::Session::client(h2::Settings{}, *this);
  }

  void start() {
    flush();
    asio::co_spawn(io_, readLoop(shared_from_this()), asio::detached);
  }

  bool usable() const { return !dead_ && session_->canOpenStream(); }

  void close() {
    dead_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
  }

  // Starts one bridged request; `outer` is the bridge's far end.
  void addStream(ByteStream outer) {
    auto s = std::make_shared<UpStream>(io_, std::move(outer));
    ++bridges_;
    asio::co_spawn(io_, serveStream(shared_from_this(), s), asio::detached);
  }

  void retire() {
    retired_ = true;
    maybeClose();
  }

  // --- session callbacks ---
  void onResponseHead(int32_t id, http::ResponseHead& head, bool end) override {
    if (UpStream* s = find(id)) {
      s->response = std::move(head);
      s->head_arrived = true;
      if (end) s->ended = true;
      wake(s->more);
    }
  }
  void onData(int32_t id, std::string_view data) override {
    if (UpStream* s = find(id)) {
      s->body.append(data);
      wake(s->more);
    }
  }
  void onTrailers(int32_t id, http::Headers& trailers) override {
    if (UpStream* s = find(id)) s->trailers = std::move(trailers);
  }
  void onEnd(int32_t id) override {
    if (UpStream* s = find(id)) {
      s->ended = true;
      wake(s->more);
    }
  }
  void onClose(int32_t id, h2::ErrorCode code) override {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    UpStream& s = *it->second;
    s.closed = true;
    s.close_code = code;
    wake(s.more);
    wake(s.room);
    streams_.erase(it);
  }
  void onSendProgress(int32_t id) override {
    if (UpStream* s = find(id)) wake(s->room);
  }
  void onGoAway(int32_t, h2::ErrorCode code) override {
    if (code != h2::ErrorCode::kNoError) {
      SLUICE_LOG_DEBUG("HTTP/2 upstream {}: GOAWAY {}", address_, h2::errorCodeName(code));
    }
  }

 private:
  UpStream* find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  void flush() {
    session_->takeOutput(pending_);
    if (writing_ || pending_.empty()) return;
    writing_ = true;
    asio::co_spawn(io_, writeLoop(shared_from_this()), asio::detached);
  }

  awaitable<void> writeLoop(std::shared_ptr<Http2Upstream> /*keeps this alive*/) {
    std::string buf;
    while (!pending_.empty()) {
      buf.clear();
      buf.swap(pending_);
      asio::error_code ec;
      co_await asio::async_write(socket_, asio::buffer(buf), withEc(ec));
      if (ec) {
        pending_.clear();
        close();
        break;
      }
      session_->takeOutput(pending_);
    }
    writing_ = false;
    wake(writer_idle_);
  }

  awaitable<void> readLoop(std::shared_ptr<Http2Upstream> /*keeps this alive*/) {
    Buffer in;
    while (!dead_ && !session_->done()) {
      asio::error_code ec;
      size_t n = co_await readMore(socket_, in, ec);
      if (ec || n == 0) break;
      auto r = session_->receive(in.view());
      in.clear();
      flush();
      if (!r) {
        SLUICE_LOG_WARN("HTTP/2 upstream {}: {}", address_, r.error().message);
        break;
      }
    }
    dead_ = true;
    // Every stream still open ends without its response: the attempts see a reset.
    for (auto& [id, s] : streams_) {
      s->closed = true;
      s->close_code = h2::ErrorCode::kCancel;
      wake(s->more);
      wake(s->room);
    }
    streams_.clear();
    while (writing_) co_await waitOn(writer_idle_);
    asio::error_code ignored;
    socket_.close(ignored);
  }

  void maybeClose() {
    if (retired_ && bridges_ == 0 && !dead_) {
      session_->goAway();
      flush();
      dead_ = true;
      asio::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_receive, ignored);
      socket_.cancel(ignored);
    }
  }

  // One bridged request: read its HTTP/1.1 request from the bridge, open the stream, relay.
  awaitable<void> serveStream(std::shared_ptr<Http2Upstream> /*keeps this alive*/,
                              std::shared_ptr<UpStream> s) {
    co_await relay(s);
    asio::error_code ignored;
    s->outer.close(ignored);
    if (!s->closed && s->id != 0) {
      session_->resetStream(s->id, h2::ErrorCode::kCancel);
      flush();
    }
    --bridges_;
    maybeClose();
  }

  awaitable<void> relay(const std::shared_ptr<UpStream>& sp) {
    UpStream& s = *sp;
    Buffer in;
    http::RequestHead head;
    http::RequestHeadParser parser;  // our own serialised head: no tighter limits needed
    http::HeadResult r;
    for (;;) {
      r = parser.parse(in.view(), head);
      if (r.status == http::ParseStatus::kComplete) break;
      if (r.status == http::ParseStatus::kError) co_return;
      asio::error_code ec;
      size_t n = co_await readMore(s.outer, in, ec);
      if (ec || n == 0) co_return;
    }
    in.consume(r.consumed);
    s.is_head = head.method == "HEAD";
    http::removeHopByHop(head.headers);
    // gRPC servers expect "te: trailers" (RFC 9113 §8.2.2 allows only that value).
    if (isGrpc(head.headers)) head.headers.set("te", "trailers");
    head.scheme = "http";
    bool no_body = r.framing.kind == http::BodyKind::kNone ||
                   (r.framing.kind == http::BodyKind::kContentLength && r.framing.length == 0);
    if (dead_) co_return;
    auto id = session_->submitRequest(head, no_body);
    if (!id) co_return;
    s.id = *id;
    streams_[s.id] = sp;
    flush();
    // The response is written back by its own coroutine while the body is still going up
    // (server streaming answers before the client has finished).
    asio::co_spawn(io_, writeResponse(shared_from_this(), sp), asio::detached);
    if (!no_body) co_await sendBody(s, r.framing, in);
    while (!s.response_written) co_await waitOn(s.written);
  }

  awaitable<void> sendBody(UpStream& s, const http::BodyFraming& framing, Buffer& in) {
    http::LengthDecoder length(framing.length);
    http::ChunkedDecoder chunks;
    for (;;) {
      bool done = false;
      if (framing.kind == http::BodyKind::kContentLength) {
        std::string_view piece = length.take(in.view());
        session_->sendData(s.id, piece, length.done());
        in.consume(piece.size());
        done = length.done();
      } else {
        for (;;) {
          http::ChunkResult c = chunks.decode(in.view());
          if (c.status == http::ParseStatus::kError) {
            session_->resetStream(s.id, h2::ErrorCode::kInternalError);
            flush();
            co_return;
          }
          if (!c.data.empty()) session_->sendData(s.id, c.data, false);
          in.consume(c.consumed);
          if (c.status == http::ParseStatus::kComplete) {
            if (!chunks.trailers().empty()) {
              session_->submitTrailers(s.id, chunks.trailers());
            } else {
              session_->sendData(s.id, {}, true);
            }
            done = true;
            break;
          }
          if (c.consumed == 0) break;
        }
      }
      flush();
      if (done) co_return;
      while (!s.closed && session_->queuedBytes(s.id) > kMaxQueuedRequest) co_await waitOn(s.room);
      if (s.closed) co_return;
      asio::error_code ec;
      size_t n = co_await readMore(s.outer, in, ec);
      if (ec || n == 0) {
        if (!s.closed) session_->resetStream(s.id, h2::ErrorCode::kCancel);
        flush();
        co_return;
      }
    }
  }

  // The stream's response, as HTTP/1.1 into the bridge.
  awaitable<void> writeResponse(std::shared_ptr<Http2Upstream> /*keeps this alive*/,
                                std::shared_ptr<UpStream> sp) {
    UpStream& s = *sp;
    co_await writeResponseBody(s);
    s.response_written = true;
    wake(s.written);
  }

  awaitable<void> writeResponseBody(UpStream& s) {
    while (!s.head_arrived && !s.closed) co_await waitOn(s.more);
    if (!s.head_arrived) co_return;  // reset or refused: the attempt sees the bridge close
    http::ResponseHead& resp = s.response;
    // Content-Length is kept when the upstream gave one and no trailers can follow (not gRPC);
    // otherwise the body goes chunked, so trailers can be passed on.
    bool chunked = false;
    if (s.ended && s.body.empty()) {
      if (!resp.headers.has("content-length") && !s.is_head)
        resp.headers.set("content-length", "0");
    } else if (!resp.headers.has("content-length") || isGrpc(resp.headers)) {
      resp.headers.remove("content-length");
      resp.headers.set("transfer-encoding", "chunked");
      chunked = true;
    }
    resp.headers.set("connection", "close");
    std::string out;
    http::serializeResponseHead(resp, out);
    for (;;) {
      size_t taken = s.body.size();
      if (taken > 0) {
        if (chunked) {
          http::appendChunk(s.body, out);
        } else {
          out.append(s.body);
        }
        s.body.clear();
      }
      bool finished = s.ended;
      if (finished && chunked) {
        http::appendLastChunk(out, s.trailers.empty() ? nullptr : &s.trailers);
      }
      if (!out.empty()) {
        asio::error_code ec;
        co_await asio::async_write(s.outer, asio::buffer(out), withEc(ec));
        out.clear();
        if (ec) co_return;
        if (taken > 0 && !s.closed) {
          session_->consume(s.id, taken);
          flush();
        }
      }
      if (finished) co_return;
      // More may have come (even the end, and the stream's close) while we wrote: write it first.
      if (!s.body.empty() || s.ended) continue;
      if (s.closed) {
        // Reset mid-body: close the bridge so the attempt sees an incomplete response.
        asio::error_code ignored;
        s.outer.close(ignored);
        co_return;
      }
      co_await waitOn(s.more);
    }
  }

  asio::io_context& io_;
  tcp::socket socket_;
  std::string address_;
  std::unique_ptr<h2::Session> session_;
  std::unordered_map<int32_t, std::shared_ptr<UpStream>> streams_;
  std::string pending_;
  bool writing_ = false;
  bool dead_ = false;
  bool retired_ = false;
  int bridges_ = 0;
  asio::steady_timer writer_idle_;
};

awaitable<PooledConnection> openHttp2Stream(asio::io_context& io, WorkerStats& stats,
                                            EndpointState& ep, steady_clock::time_point deadline) {
  PooledConnection out;
  if (!ep.http2 || !ep.http2->usable()) {
    if (ep.http2) ep.http2->retire();
    ep.http2.reset();
    ++stats.upstream_connections_total;
    tcp::socket socket(io);
    SocketTimer timer(io.get_executor());
    timer.arm(deadline, socket);
    asio::error_code ec = co_await net::connectOutbound(socket, ep.endpoint.ip, ep.endpoint.port);
    timer.disarm();
    if (ec || timer.fired()) {
      out.result = timer.fired() ? ConnectResult::kTimeout : ConnectResult::kConnectFailure;
      co_return out;
    }
    socket.set_option(tcp::no_delay(true), ec);
    // Another request may have connected meanwhile: use the newer one, keep ours as spare.
    auto conn = std::make_shared<Http2Upstream>(io, std::move(socket), ep.address);
    conn->start();
    if (ep.http2 && ep.http2->usable()) {
      conn->retire();
    } else {
      ep.http2 = conn;
    }
  }
  // (No structured binding in a coroutine: GCC 12 mishandles them across suspension points.)
  std::pair<ByteStream, ByteStream> bridge = ByteStream::localPair(io.get_executor());
  ep.http2->addStream(std::move(bridge.second));
  out.result = ConnectResult::kOk;
  out.connection = std::make_unique<UpstreamConnection>(std::move(bridge.first));
  co_return out;
}

void closeHttp2Connections(EndpointState& ep) {
  if (ep.http2) ep.http2->close();
  ep.http2.reset();
}

}  // namespace sluice::proxy
