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

#include "core/log.h"
#include "core/strings.h"
#include "http/codec.h"
#include "http/h2/session.h"
#include "net/outbound_connect.h"
#include "proxy/downstream_io.h"
#include "proxy/grpc.h"
#include "proxy/load_balancer.h"
#include "proxy/socket_timer.h"
#include "proxy/stats.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;
namespace h2 = http::h2;
using std::chrono::steady_clock;

// Request body bytes queued in the session per stream before the downstream is read again.
constexpr size_t kMaxQueuedRequest = 64 * 1024;

}  // namespace

class Http2Upstream;

// One request's stream: the request path's upstream (proxy/upstream_stream.h), fed by the
// connection's session callbacks. Owned by the request (through the pool's PooledConnection);
// it keeps its connection alive, and leaving resets the stream if it had not finished.
// cancel() and close() both abort every pending and later operation (a deadline on an HTTP/2
// stream always ends it; close() also resets it).
class Http2UpstreamStream final : public UpstreamStream, public DataSink, public DecodedBodySource {
 public:
  Http2UpstreamStream(std::shared_ptr<Http2Upstream> conn, asio::io_context& io);
  ~Http2UpstreamStream() override;
  Http2UpstreamStream(const Http2UpstreamStream&) = delete;
  Http2UpstreamStream& operator=(const Http2UpstreamStream&) = delete;

  bool isHttp2() const override { return true; }
  awaitable<bool> sendRequest(http::RequestHead& head, std::string_view body, bool end) override;
  BodySink requestBodySink() override { return BodySink::toData(*this); }
  void finishRequestBody(const http::Headers& trailers) override;
  awaitable<ResponseHeadRead> readResponseHead(const http::Limits& limits, bool is_head, Buffer& in,
                                               http::ResponseHead& out) override;
  awaitable<PumpResult> readResponseBody(const http::BodyFraming& framing, const http::Limits&,
                                         Buffer&, BodySink sink) override {
    return pumpDecodedBody(*this, framing, sink);
  }
  std::string_view receivedBody(Buffer&) override { return body_; }
  void consumeBody(Buffer&, size_t n) override {
    body_.erase(0, n);
    forwarded(n);
  }
  ByteStream* byteStream() override { return nullptr; }
  void cancel(asio::error_code&) override;
  void close(asio::error_code& ec) override;
  bool is_open() const override { return !gone(); }

  // The streamed request body (DataSink).
  awaitable<bool> write(std::string_view data) override;

  // The response body as it comes (DecodedBodySource).
  std::string& receivedData() override { return body_; }
  bool receivedEnd() const override { return ended_; }
  bool gone() const override { return closed_ || aborted_; }
  const http::Headers* receivedTrailers() const override {
    return has_trailers_ ? &trailers_ : nullptr;
  }
  void forwarded(size_t n) override;
  asio::steady_timer& progress() override { return more_; }

  // From the session's callbacks.
  void onHead(http::ResponseHead& head, bool end) {
    response_ = std::move(head);
    head_arrived_ = true;
    if (end) ended_ = true;
    wake(more_);
  }
  void onData(std::string_view data) {
    body_.append(data);
    wake(more_);
  }
  void onTrailers(http::Headers& trailers) {
    trailers_ = std::move(trailers);
    has_trailers_ = true;
  }
  void onEnd() {
    ended_ = true;
    wake(more_);
  }
  void onClosed() {
    closed_ = true;
    wake(more_);
    wake(room_);
  }
  void onSendProgress() { wake(room_); }

 private:
  std::shared_ptr<Http2Upstream> conn_;
  int32_t id_ = 0;  // 0 until the request went out
  bool head_arrived_ = false;
  http::ResponseHead response_;
  std::string body_;  // response DATA received, not yet handed on
  http::Headers trailers_;
  bool has_trailers_ = false;
  bool ended_ = false;       // END_STREAM from the upstream
  bool closed_ = false;      // the session closed the stream (finished, reset or refused)
  bool aborted_ = false;     // cancel() / close(): the request gave up on it
  asio::steady_timer more_;  // response progress
  asio::steady_timer room_;  // request DATA may be queued again
};

// One HTTP/2 connection to an endpoint, shared by the worker's requests to it.
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
  bool dead() const { return dead_; }
  h2::Session& session() { return *session_; }

  void close() {
    dead_ = true;
    asio::error_code ignored;
    socket_.close(ignored);
  }

  // No new streams come here; the connection closes once its streams are done.
  void retire() {
    retired_ = true;
    maybeClose();
  }

  // A stream object joins (its constructor); detach() when it leaves.
  void attach() { ++alive_; }
  uint32_t streams() const { return static_cast<uint32_t>(alive_); }
  // Opens the stream of `s` (an attached stream).
  Result<int32_t> open(Http2UpstreamStream& s, const http::RequestHead& head, bool end) {
    if (dead_) {
      return makeError(ErrorCode::kUnavailable, ErrorSource::kUpstream,
                       "the HTTP/2 connection is closed", true);
    }
    auto id = session_->submitRequest(head, end);
    if (id) streams_[*id] = &s;
    flush();
    return id;
  }
  // `s` is leaving: its stream is reset unless it finished, DATA it never handed on is credited
  // back (the connection's window must not shrink for good).
  void detach(int32_t id, bool finished, size_t unread) {
    if (id != 0) {
      streams_.erase(id);
      if (unread > 0) session_->consume(id, unread);
      if (!finished) session_->resetStream(id, h2::ErrorCode::kCancel);
      flush();
    }
    --alive_;
    maybeClose();
  }

  // Writes what the session has to say; one writer coroutine at a time.
  void flush() {
    session_->takeOutput(pending_);
    if (writing_ || pending_.empty() || dead_) return;
    writing_ = true;
    asio::co_spawn(io_, writeLoop(shared_from_this()), asio::detached);
  }

  // --- session callbacks ---
  void onResponseHead(int32_t id, http::ResponseHead& head, bool end) override {
    if (auto* s = find(id)) s->onHead(head, end);
  }
  void onData(int32_t id, std::string_view data) override {
    if (auto* s = find(id)) {
      s->onData(data);
    } else {
      session_->consume(id, data.size());  // its request left: nobody will hand it on
    }
  }
  void onTrailers(int32_t id, http::Headers& trailers) override {
    if (auto* s = find(id)) s->onTrailers(trailers);
  }
  void onEnd(int32_t id) override {
    if (auto* s = find(id)) s->onEnd();
  }
  void onClose(int32_t id, h2::ErrorCode code) override {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    if (code != h2::ErrorCode::kNoError) {
      SLUICE_LOG_DEBUG("HTTP/2 upstream {}: stream {} closed with {}", address_, id,
                       h2::errorCodeName(code));
    }
    Http2UpstreamStream* s = it->second;
    streams_.erase(it);
    s->onClosed();
  }
  void onSendProgress(int32_t id) override {
    if (auto* s = find(id)) s->onSendProgress();
  }
  void onGoAway(int32_t, h2::ErrorCode code) override {
    if (code != h2::ErrorCode::kNoError) {
      SLUICE_LOG_DEBUG("HTTP/2 upstream {}: GOAWAY {}", address_, h2::errorCodeName(code));
    }
  }

 private:
  Http2UpstreamStream* find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second;
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
    // Every stream still open ends without the rest of its response.
    auto open = std::move(streams_);
    streams_.clear();
    for (auto& [id, s] : open) s->onClosed();
    while (writing_) co_await waitOn(writer_idle_);
    asio::error_code ignored;
    socket_.close(ignored);
  }

  void maybeClose() {
    if (retired_ && alive_ == 0 && !dead_) {
      session_->goAway();
      flush();
      dead_ = true;
      asio::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_receive, ignored);
      socket_.cancel(ignored);
    }
  }

  asio::io_context& io_;
  tcp::socket socket_;
  std::string address_;
  std::unique_ptr<h2::Session> session_;
  std::unordered_map<int32_t, Http2UpstreamStream*> streams_;  // open streams, by id
  std::string pending_;
  bool writing_ = false;
  bool dead_ = false;
  bool retired_ = false;
  int alive_ = 0;  // Http2UpstreamStream objects on this connection
  asio::steady_timer writer_idle_;
};

Http2UpstreamStream::Http2UpstreamStream(std::shared_ptr<Http2Upstream> conn, asio::io_context& io)
    : conn_(std::move(conn)), more_(io), room_(io) {
  conn_->attach();
}

Http2UpstreamStream::~Http2UpstreamStream() {
  conn_->detach(id_, closed_ || conn_->dead(), body_.size());
}

awaitable<bool> Http2UpstreamStream::sendRequest(http::RequestHead& head, std::string_view body,
                                                 bool end) {
  if (gone() || id_ != 0) co_return false;
  // What the HTTP/1.1 head says is what HTTP/2 carries: the (rewritten) target as :path, Host as
  // :authority; connection-specific fields are the session's to drop.
  head.path = head.target;
  if (auto host = head.headers.get("host")) head.authority.assign(*host);
  head.scheme = "http";
  // gRPC servers expect "te: trailers", the only TE value HTTP/2 allows (RFC 9113 §8.2.2; the
  // session drops any other).
  if (grpc::isGrpc(head.headers)) head.headers.set("te", "trailers");
  auto id = conn_->open(*this, head, end && body.empty());
  if (!id) {
    aborted_ = true;
    co_return false;
  }
  id_ = *id;
  if (!body.empty()) {
    conn_->session().sendData(id_, body, end);
    conn_->flush();
  }
  co_return true;
}

awaitable<bool> Http2UpstreamStream::write(std::string_view data) {
  // An upstream that answered and closed its side early no longer reads: the rest of the body is
  // dropped so the answer can still be read.
  if (gone()) co_return head_arrived_ && !aborted_;
  conn_->session().sendData(id_, data, false);
  conn_->flush();
  while (!gone() && conn_->session().queuedBytes(id_) > kMaxQueuedRequest) co_await waitOn(room_);
  co_return !gone() || (head_arrived_ && !aborted_);
}

void Http2UpstreamStream::finishRequestBody(const http::Headers& trailers) {
  if (gone()) return;
  if (!trailers.empty()) {
    conn_->session().submitTrailers(id_, trailers);
  } else {
    conn_->session().sendData(id_, {}, true);
  }
  conn_->flush();
}

awaitable<ResponseHeadRead> Http2UpstreamStream::readResponseHead(const http::Limits&, bool is_head,
                                                                  Buffer&,
                                                                  http::ResponseHead& out) {
  ResponseHeadRead r;
  while (!head_arrived_ && !gone()) co_await waitOn(more_);
  if (!head_arrived_ || aborted_) {
    // Reset, refused (REFUSED_STREAM, GOAWAY) or the connection lost: as a TCP reset to the
    // attempt. An abort is the attempt's own deadline.
    r.ec = aborted_ ? asio::error_code(asio::error::operation_aborted)
                    : asio::error_code(asio::error::connection_reset);
    co_return r;
  }
  r.got_bytes = true;
  out = std::move(response_);
  http::HeadResult& h = r.head;
  h.status = http::ParseStatus::kComplete;
  h.keep_alive = false;  // a stream is never reused
  http::BodyFraming& f = h.framing;
  bool never_a_body = http::responseHasNoBody(out.status, is_head);
  if (never_a_body || (ended_ && body_.empty() && !has_trailers_)) {
    f.kind = http::BodyKind::kNone;
    // An HTTP/1.1 client must not wait for a body that is not coming.
    if (!never_a_body && !out.headers.has("content-length")) {
      out.headers.set("content-length", "0");
    }
    co_return r;
  }
  if (!grpc::isGrpc(out.headers)) {  // (a gRPC answer's trailers need chunks for HTTP/1.1)
    if (auto cl = out.headers.get("content-length")) {
      if (auto n = parseUint(*cl)) {  // nghttp2 checked it against the DATA
        f.kind = http::BodyKind::kContentLength;
        f.length = *n;
        co_return r;
      }
    }
  }
  out.headers.remove("content-length");
  f.kind = http::BodyKind::kChunked;
  co_return r;
}

void Http2UpstreamStream::forwarded(size_t n) {
  // Also after the stream closed: the connection's window counts these bytes too.
  if (n == 0 || id_ == 0 || conn_->dead()) return;
  conn_->session().consume(id_, n);
  conn_->flush();
}

void Http2UpstreamStream::cancel(asio::error_code&) {
  aborted_ = true;
  wake(more_);
  wake(room_);
}

void Http2UpstreamStream::close(asio::error_code& ec) {
  bool finished = closed_;
  cancel(ec);
  if (!finished && id_ != 0 && !conn_->dead()) {
    conn_->session().resetStream(id_, h2::ErrorCode::kCancel);
    conn_->flush();
    closed_ = true;
  }
}

awaitable<PooledConnection> openHttp2Stream(asio::io_context& io, WorkerStats& stats,
                                            EndpointState& ep, steady_clock::time_point deadline,
                                            uint32_t max_streams) {
  PooledConnection out;
  // Connections that take no new stream (dead, GOAWAY) leave the list; they close once their
  // streams are done.
  std::erase_if(ep.http2, [](const std::shared_ptr<Http2Upstream>& c) {
    if (c->usable()) return false;
    c->retire();
    return true;
  });
  std::shared_ptr<Http2Upstream> conn;
  for (const auto& c : ep.http2) {
    if (c->streams() < max_streams) {
      conn = c;
      break;
    }
  }
  if (!conn) {
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
    conn = std::make_shared<Http2Upstream>(io, std::move(socket), ep.address);
    conn->start();
    ep.http2.push_back(conn);
  }
  out.result = ConnectResult::kOk;
  out.connection = std::make_unique<Http2UpstreamStream>(std::move(conn), io);
  co_return out;
}

void closeHttp2Connections(EndpointState& ep) {
  for (const auto& c : ep.http2) c->close();
  ep.http2.clear();
}

}  // namespace sluice::proxy
