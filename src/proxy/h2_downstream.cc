#include "proxy/h2_downstream.h"

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
#include "proxy/connection_manager.h"
#include "proxy/downstream_io.h"
#include "proxy/downstream_stream.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
namespace h2 = http::h2;

// A request body that arrived whole with its head up to this size is framed with
// Content-Length, so it is replayable (the connection manager keeps bodies up to 64 KiB).
constexpr size_t kMaxWholeBody = 64 * 1024;
// Response bytes queued in the session per stream before the request path waits for the client.
constexpr size_t kMaxQueuedResponse = 64 * 1024;

class Connection;

// One stream: the request path's downstream (proxy/downstream_stream.h), fed by the session's
// callbacks and answering through the session.
class Stream final : public DownstreamStream, public DecodedBodySource {
 public:
  Stream(Connection& c, asio::io_context& io, int32_t stream_id)
      : id(stream_id), conn(c), more_request(io), room(io) {}

  bool isHttp2() const override { return true; }
  awaitable<PumpResult> readRequestBody(const http::BodyFraming& framing, BodySink sink) override {
    return pumpDecodedBody(*this, framing, sink);
  }
  awaitable<bool> sendContinue() override { co_return !closed; }
  awaitable<bool> sendLocalReply(const LocalReply& reply, bool close) override;
  awaitable<bool> sendResponse(http::ResponseHead& head, std::string_view body) override;
  awaitable<bool> sendHead(http::ResponseHead& head, bool end) override;
  awaitable<bool> write(std::string_view data) override;
  bool finish(const http::Headers* trailers) override;
  void reset() override;
  bool submitHead(const http::ResponseHead& head, bool end);

  // The request body as it comes (DecodedBodySource).
  std::string& receivedData() override { return body; }
  bool receivedEnd() const override { return ended; }
  bool gone() const override { return closed; }
  const http::Headers* receivedTrailers() const override {
    return has_trailers ? &trailers : nullptr;
  }
  void forwarded(size_t n) override;
  asio::steady_timer& progress() override { return more_request; }

  int32_t id;
  Connection& conn;
  http::RequestHead head;
  http::HeadResult parsed;  // the body framing the request path sees
  ExchangeBuffers buffers;
  std::string body;  // request bytes received, not yet taken by the request path
  http::Headers trailers;
  bool has_trailers = false;
  bool ended = false;     // the client ended its side
  bool closed = false;    // the stream is gone (finished or reset)
  bool answered = false;  // the response went out whole (or the stream was reset)
  asio::steady_timer more_request;
  asio::steady_timer room;
};

class Connection final : public h2::SessionCallbacks {
 public:
  Connection(Worker& w, Downstream& d, const ListenerContext& listener)
      : w_(w), d_(d), listener_(listener), writer_done_(w.io()), all_done_(w.io()) {
    h2::Settings s;
    s.max_header_list_size = static_cast<uint32_t>(w.options().limits.max_head_bytes);
    session_ = h2::Session::server(s, *this);
  }

  // The HTTP/1.1 request that upgraded is stream 1, its client side ended (RFC 7540 §3.2). The
  // 101 goes out ahead of the session's first frame (its SETTINGS).
  bool upgrade(const http::RequestHead& request, std::string_view settings_payload) {
    if (!session_->upgrade(settings_payload, request.method == "HEAD")) return false;
    http::RequestHead head = request;
    http::removeHopByHop(head.headers);
    head.headers.remove("http2-settings");
    pending_ = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    onRequestHead(1, head, true);
    fresh_.clear();
    start(streams_[1]);
    flush();
    return true;
  }

  awaitable<void> run() {
    // The HTTP/1.1 drain closer must not cut this connection: GOAWAY does it (below).
    d_.in_request = true;
    auto handle = w_.addConnection([this](bool force) {
      if (force) {
        asio::error_code ignored;
        d_.socket.close(ignored);
        for (auto& [id, s] : streams_) closeStream(*s);
        return;
      }
      session_->goAway();
      flush();
    });
    if (w_.draining()) session_->goAway();
    feed();
    while (!failed_ && !session_->done()) {
      asio::error_code ec;
      size_t n = co_await readMore(d_.socket, d_.in, ec);
      if (ec || n == 0) break;
      feed();
    }
    finishing_ = true;
    for (auto& [id, s] : streams_) closeStream(*s);
    while (active_ > 0) co_await waitOn(all_done_);
    while (writing_) co_await waitOn(writer_done_);
    w_.removeConnection(handle);
  }

  h2::Session& session() { return *session_; }
  const http::Limits& limits() const { return w_.options().limits; }

  // Writes what the session has to say; one writer coroutine at a time.
  void flush() {
    session_->takeOutput(pending_);
    if (writing_ || pending_.empty()) {
      stopIfDone();
      return;
    }
    writing_ = true;
    asio::co_spawn(w_.io(), writeLoop(), asio::detached);
  }

  // --- codec callbacks ---
  void onRequestHead(int32_t id, http::RequestHead& head, bool end) override {
    auto s = std::make_shared<Stream>(*this, w_.io(), id);
    s->head = std::move(head);
    s->ended = end;
    streams_[id] = s;
    fresh_.push_back(id);
  }
  void onData(int32_t id, std::string_view data) override {
    if (Stream* s = find(id)) {
      s->body.append(data);
      wake(s->more_request);
    } else {
      session_->consume(id, data.size());  // nobody will hand it on; the window must reopen
    }
  }
  void onTrailers(int32_t id, http::Headers& trailers) override {
    if (Stream* s = find(id)) {
      s->trailers = std::move(trailers);
      s->has_trailers = true;
    }
  }
  void onEnd(int32_t id) override {
    if (Stream* s = find(id)) {
      s->ended = true;
      wake(s->more_request);
    }
  }
  void onClose(int32_t id, h2::ErrorCode) override {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    // Reset by the client (or by the codec), or done: the request path sees its downstream gone
    // at its next read or write (DC when the response was not complete).
    closeStream(*it->second);
    streams_.erase(it);
    if (streams_.empty()) d_.watch.enter(DownstreamWatch::Phase::kIdle);
  }
  void onSendProgress(int32_t id) override {
    if (Stream* s = find(id)) wake(s->room);
  }

 private:
  Stream* find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  static void closeStream(Stream& s) {
    s.closed = true;
    wake(s.more_request);
    wake(s.room);
  }

  void feed() {
    if (d_.in.empty()) return;
    auto r = session_->receive(d_.in.view());
    d_.in.clear();
    if (!r) {
      SLUICE_LOG_DEBUG("HTTP/2 connection from {}: {}", d_.peer_ip, r.error().message);
      failed_ = true;
    }
    std::vector<int32_t> ids;
    ids.swap(fresh_);
    for (int32_t id : ids) {
      if (auto it = streams_.find(id); it != streams_.end()) start(it->second);
    }
    flush();
  }

  awaitable<void> writeLoop() {
    std::string buf;
    while (!pending_.empty()) {
      buf.clear();
      buf.swap(pending_);
      asio::error_code ec;
      co_await asio::async_write(d_.socket, asio::buffer(buf), withEc(ec));
      if (ec) {
        pending_.clear();
        failed_ = true;
        asio::error_code ignored;
        d_.socket.cancel(ignored);
        break;
      }
      session_->takeOutput(pending_);
    }
    writing_ = false;
    wake(writer_done_);
    stopIfDone();
  }

  // The session has nothing more to read or write (GOAWAY exchanged, streams done): end the
  // read loop.
  void stopIfDone() {
    if (!writing_ && session_->done() && !finishing_) {
      asio::error_code ignored;
      d_.socket.cancel(ignored);
    }
  }

  // The request path's view of the stream's body: none (END_STREAM on HEADERS), the client's
  // Content-Length, the whole body when it came with the head (replayable), else chunked
  // (streams, with the request trailers).
  static void frame(Stream& s) {
    http::RequestHead& h = s.head;
    http::BodyFraming& f = s.parsed.framing;
    s.parsed.status = http::ParseStatus::kComplete;
    s.parsed.keep_alive = true;
    h.headers.set("host", h.authority);  // :authority wins over a Host field (RFC 9113 §8.3.1)
    h.headers.remove("expect");
    if (s.ended && s.body.empty() && !s.has_trailers) {
      f.kind = http::BodyKind::kNone;
      return;
    }
    if (auto cl = h.headers.get("content-length")) {
      if (auto n = parseUint(*cl)) {  // nghttp2 checks it against the DATA received
        f.kind = http::BodyKind::kContentLength;
        f.length = *n;
        return;
      }
    }
    if (s.ended && !s.has_trailers && s.body.size() <= kMaxWholeBody) {
      f.kind = http::BodyKind::kContentLength;
      f.length = s.body.size();
      h.headers.set("content-length", std::to_string(s.body.size()));
      return;
    }
    f.kind = http::BodyKind::kChunked;
  }

  void start(const std::shared_ptr<Stream>& s) {
    d_.watch.enter(DownstreamWatch::Phase::kBusy);
    frame(*s);
    ++active_;
    asio::co_spawn(w_.io(), serveStream(s), asio::detached);
  }

  awaitable<void> serveStream(std::shared_ptr<Stream> s) {
    co_await serveStreamRequest(w_, d_, listener_, *s, s->buffers, s->head, s->parsed);
    // Body bytes the request path never took (it answered without them) still count against
    // the connection's window.
    if (!s->body.empty()) {
      session_->consume(s->id, s->body.size());
      s->body.clear();
    }
    flush();
    if (!s->closed && !s->answered) {
      // The request path ended without a complete answer (it gave up on the upstream's body).
      session_->resetStream(s->id, h2::ErrorCode::kInternalError);
      flush();
    } else if (!s->closed && !s->ended && session_->queuedBytes(s->id) == 0) {
      // Answered before the client finished its body (a local reply, say): the rest is not
      // wanted (RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response). Only once the
      // response went out whole: RST_STREAM would overtake queued DATA.
      session_->resetStream(s->id, h2::ErrorCode::kNoError);
      flush();
    }
    if (--active_ == 0) wake(all_done_);
  }

  Worker& w_;
  Downstream& d_;
  const ListenerContext& listener_;
  std::unique_ptr<h2::Session> session_;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> streams_;
  std::vector<int32_t> fresh_;  // streams whose head arrived in the current receive()
  std::string pending_;         // output not yet handed to the writer
  bool writing_ = false;
  bool failed_ = false;
  bool finishing_ = false;
  int active_ = 0;  // stream coroutines running (they use this object)
  asio::steady_timer writer_done_;
  asio::steady_timer all_done_;
};

void Stream::forwarded(size_t n) {
  conn.session().consume(id, n);
  conn.flush();
}

awaitable<bool> Stream::sendLocalReply(const LocalReply& reply, bool close) {
  (void)close;  // per connection: nothing to close for one stream
  http::ResponseHead h;
  h.status = reply.status;
  h.headers = reply.headers;
  if (!reply.body.empty()) h.headers.set("content-type", "text/plain");
  h.headers.set("content-length", std::to_string(reply.body.size()));
  h.headers.set("server", "sluice");
  // (Inline rather than through sendResponse(): GCC 12 loses `this` when a coroutine member
  // co_awaits another one that co_awaits a third.)
  if (!submitHead(h, reply.body.empty())) co_return false;
  if (reply.body.empty()) co_return true;
  if (!co_await write(reply.body)) co_return false;
  co_return finish(nullptr);
}

awaitable<bool> Stream::sendResponse(http::ResponseHead& h, std::string_view data) {
  if (!submitHead(h, data.empty())) co_return false;
  if (data.empty()) co_return true;
  if (!co_await write(data)) co_return false;
  co_return finish(nullptr);
}

awaitable<bool> Stream::sendHead(http::ResponseHead& h, bool end) { co_return submitHead(h, end); }

bool Stream::submitHead(const http::ResponseHead& h, bool end) {
  if (closed || !conn.session().submitResponse(id, h, end)) return false;
  if (end) answered = true;
  conn.flush();
  return true;
}

awaitable<bool> Stream::write(std::string_view data) {
  if (closed) co_return false;
  conn.session().sendData(id, data, false);
  conn.flush();
  // The client's window decides: the request path waits while too much is queued.
  while (!closed && conn.session().queuedBytes(id) > kMaxQueuedResponse) co_await waitOn(room);
  co_return !closed;
}

bool Stream::finish(const http::Headers* t) {
  if (closed) return false;
  if (t != nullptr) {
    conn.session().submitTrailers(id, *t);
  } else {
    conn.session().sendData(id, {}, true);
  }
  answered = true;
  conn.flush();
  return true;
}

void Stream::reset() {
  if (closed) return;
  conn.session().resetStream(id, h2::ErrorCode::kInternalError);
  answered = true;
  conn.flush();
}

}  // namespace

PrefaceMatch matchHttp2Preface(std::string_view b) {
  std::string_view p = h2::kClientPreface;
  size_t n = std::min(b.size(), p.size());
  if (b.substr(0, n) != p.substr(0, n)) return PrefaceMatch::kNo;
  return n == p.size() ? PrefaceMatch::kYes : PrefaceMatch::kMaybe;
}

awaitable<bool> awaitHttp2Preface(Downstream& d) {
  for (;;) {
    PrefaceMatch m = d.in.empty() ? PrefaceMatch::kMaybe : matchHttp2Preface(d.in.view());
    if (m != PrefaceMatch::kMaybe) co_return m == PrefaceMatch::kYes;
    asio::error_code ec;
    size_t n = co_await readMore(d.socket, d.in, ec);
    if (ec || n == 0) co_return false;
  }
}

awaitable<void> serveHttp2(Worker& w, Downstream& d, const ListenerContext& listener) {
  Connection c(w, d, listener);
  co_await c.run();
}

awaitable<bool> serveHttp2Upgrade(Worker& w, Downstream& d, const ListenerContext& listener,
                                  const http::RequestHead& request,
                                  std::string_view settings_payload) {
  Connection c(w, d, listener);
  if (!c.upgrade(request, settings_payload)) co_return false;
  co_await c.run();
  co_return true;
}

}  // namespace sluice::proxy
