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
#include "http/codec.h"
#include "http/h2/session.h"
#include "proxy/connection_manager.h"
#include "proxy/downstream_io.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
namespace h2 = http::h2;

// A request body that arrived whole with its head up to this size goes over the bridge with
// Content-Length, so it is replayable (the connection manager keeps bodies up to 64 KiB).
constexpr size_t kMaxWholeBody = 64 * 1024;
// Response bytes queued in the session per stream before the bridge is no longer read.
constexpr size_t kMaxQueuedResponse = 64 * 1024;

struct Stream {
  Stream(asio::io_context& io, int32_t stream_id, ByteStream bridge)
      : id(stream_id), outer(std::move(bridge)), more_request(io), room(io) {}
  int32_t id;
  http::RequestHead head;
  std::string body;  // request bytes received, not yet written into the bridge
  http::Headers trailers;
  bool has_trailers = false;
  bool ended = false;   // the client ended its side
  bool closed = false;  // the stream is gone (finished or reset)
  ByteStream outer;     // our end of the bridge (worker-local, no fd)
  asio::steady_timer more_request;
  asio::steady_timer room;
  std::unique_ptr<ByteStream> inner;  // the request path's end, until start() hands it over
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
        for (auto& [id, s] : streams_) s->outer.close(ignored);
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
    for (auto& [id, s] : streams_) {
      asio::error_code ignored;
      s->closed = true;
      s->outer.close(ignored);
      wake(s->more_request);
      wake(s->room);
    }
    while (active_ > 0) co_await waitOn(all_done_);
    while (writing_) co_await waitOn(writer_done_);
    w_.removeConnection(handle);
  }

  // --- codec callbacks ---
  void onRequestHead(int32_t id, http::RequestHead& head, bool end) override {
    auto [outer, inner] = ByteStream::localPair(w_.io().get_executor());
    auto s = std::make_shared<Stream>(w_.io(), id, std::move(outer));
    s->inner = std::make_unique<ByteStream>(std::move(inner));
    s->head = std::move(head);
    s->ended = end;
    streams_[id] = s;
    fresh_.push_back(id);
  }
  void onData(int32_t id, std::string_view data) override {
    if (Stream* s = find(id)) {
      s->body.append(data);
      wake(s->more_request);
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
  void onClose(int32_t id, h2::ErrorCode code) override {
    auto it = streams_.find(id);
    if (it == streams_.end()) return;
    Stream& s = *it->second;
    s.closed = true;
    if (code != h2::ErrorCode::kNoError) {
      // Reset by the client (or by the codec): the request path sees its downstream go away.
      asio::error_code ignored;
      s.outer.close(ignored);
    }
    wake(s.more_request);
    wake(s.room);
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

  void start(const std::shared_ptr<Stream>& s) {
    d_.watch.enter(DownstreamWatch::Phase::kBusy);
    std::string received;
    std::string peer_ip = d_.peer_ip;
    asio::co_spawn(w_.io(),
                   serveConnection(w_, std::move(*s->inner), listener_, std::move(received),
                                   std::move(peer_ip)),
                   asio::detached);
    s->inner.reset();
    active_ += 2;
    asio::co_spawn(w_.io(), writeRequest(s), asio::detached);
    asio::co_spawn(w_.io(), readResponse(s), asio::detached);
  }

  void finished() {
    if (--active_ == 0) wake(all_done_);
  }

  // The stream's request into the bridge, as one HTTP/1.1 request.
  awaitable<void> writeRequest(std::shared_ptr<Stream> s) {
    http::RequestHead& h = s->head;
    bool chunked = false;
    if (!h.headers.has("content-length")) {
      if (s->ended && !s->has_trailers && s->body.size() <= kMaxWholeBody) {
        if (!s->body.empty()) h.headers.set("content-length", std::to_string(s->body.size()));
      } else {
        chunked = true;
        h.headers.set("transfer-encoding", "chunked");
      }
    }
    h.headers.set("host", h.authority);  // :authority wins over a Host field (RFC 9113 §8.3.1)
    h.headers.remove("expect");
    h.headers.set("connection", "close");
    h.target = h.path;
    std::string buf;
    http::serializeRequestHead(h, buf);
    for (;;) {
      size_t taken = s->body.size();
      if (taken > 0) {
        if (chunked) {
          http::appendChunk(s->body, buf);
        } else {
          buf.append(s->body);
        }
        s->body.clear();
      }
      bool done = s->ended;
      if (done && chunked) http::appendLastChunk(buf, s->has_trailers ? &s->trailers : nullptr);
      if (!buf.empty()) {
        asio::error_code ec;
        co_await asio::async_write(s->outer, asio::buffer(buf), withEc(ec));
        buf.clear();
        if (ec) break;
        if (taken > 0 && !s->closed) {
          session_->consume(s->id, taken);
          flush();
        }
      }
      if (done || s->closed) break;
      // Bytes (or the end) that came while we wrote are taken at once: a wake-up with nobody
      // waiting is not remembered.
      if (!s->body.empty() || s->ended) continue;
      co_await waitOn(s->more_request);
    }
    finished();
  }

  // The bridge's HTTP/1.1 response, back onto the stream.
  awaitable<void> readResponse(std::shared_ptr<Stream> s) {
    co_await relayResponse(*s);
    asio::error_code ignored;
    s->outer.close(ignored);
    // Answered before the client finished its body (a local reply, say): the rest is not
    // wanted (RFC 9113 §8.1: RST_STREAM NO_ERROR after a complete response).
    // Only once the response went out whole: RST_STREAM would overtake queued DATA.
    flush();
    if (!s->closed && !s->ended && session_->queuedBytes(s->id) == 0) {
      session_->resetStream(s->id, h2::ErrorCode::kNoError);
      flush();
    }
    finished();
  }

  awaitable<void> relayResponse(Stream& s) {
    const bool is_head = s.head.method == "HEAD";
    Buffer in;
    http::ResponseHead resp;
    http::ResponseHeadParser parser(w_.options().limits);
    http::HeadResult r;
    for (;;) {
      r = parser.parse(in.view(), resp, is_head);
      if (r.status == http::ParseStatus::kComplete) {
        in.consume(r.consumed);
        if (resp.status >= 100 && resp.status < 200) continue;  // interim: never forwarded
        break;
      }
      if (r.status == http::ParseStatus::kError) co_return abort(s);
      asio::error_code ec;
      size_t n = co_await readMore(s.outer, in, ec);
      if (ec || n == 0) co_return abort(s);
    }
    if (s.closed) co_return;
    http::removeHopByHop(resp.headers);
    const auto& framing = r.framing;
    bool no_body = framing.kind == http::BodyKind::kNone ||
                   (framing.kind == http::BodyKind::kContentLength && framing.length == 0);
    if (!session_->submitResponse(s.id, resp, no_body)) co_return;
    flush();
    if (no_body) co_return;
    http::LengthDecoder length(framing.length);
    http::ChunkedDecoder chunks(w_.options().limits);
    for (;;) {
      bool done = false;
      switch (framing.kind) {
        case http::BodyKind::kContentLength: {
          std::string_view piece = length.take(in.view());
          session_->sendData(s.id, piece, false);
          in.consume(piece.size());
          done = length.done();
          break;
        }
        case http::BodyKind::kChunked:
          for (;;) {
            http::ChunkResult c = chunks.decode(in.view());
            if (c.status == http::ParseStatus::kError) co_return abort(s);
            if (!c.data.empty()) session_->sendData(s.id, c.data, false);
            in.consume(c.consumed);
            if (c.status == http::ParseStatus::kComplete) {
              done = true;
              break;
            }
            if (c.consumed == 0) break;
          }
          break;
        case http::BodyKind::kUntilClose:
          session_->sendData(s.id, in.view(), false);
          in.clear();
          break;
        case http::BodyKind::kNone:
          done = true;
          break;
      }
      if (done) break;
      flush();
      while (!s.closed && session_->queuedBytes(s.id) > kMaxQueuedResponse) co_await waitOn(s.room);
      if (s.closed) co_return;
      asio::error_code ec;
      size_t n = co_await readMore(s.outer, in, ec);
      if (ec || n == 0) {
        if (framing.kind == http::BodyKind::kUntilClose && !s.closed) break;
        co_return abort(s);
      }
    }
    if (s.closed) co_return;
    if (framing.kind == http::BodyKind::kChunked && !chunks.trailers().empty()) {
      session_->submitTrailers(s.id, chunks.trailers());
    } else {
      session_->sendData(s.id, {}, true);
    }
    flush();
  }

  // The bridged request failed mid-response (upstream reset after the head, say): the client
  // sees the stream reset, as an HTTP/1.1 client sees the connection close.
  void abort(Stream& s) {
    if (s.closed) return;
    session_->resetStream(s.id, h2::ErrorCode::kInternalError);
    flush();
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
