#include "proxy/grpc_interception.h"

#include <fmt/format.h>

#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <unordered_map>

#include "core/log.h"
#include "http/h2/session.h"
#include "net/outbound_connect.h"
#include "proxy/downstream_io.h"
#include "proxy/socket_timer.h"
#include "proxy/transparent.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
namespace h2 = http::h2;

// Bytes queued towards one side of a stream before the other side's window stops reopening.
constexpr size_t kMaxQueuedBytes = 256 * 1024;
// A server message larger than this is not reassembled: the stream passes unchanged from there
// on (a naming answer is far smaller; rewriting must not become a way to pin memory).
constexpr size_t kMaxMessageBytes = 16 * 1024 * 1024;
constexpr size_t kGrpcPrefix = 5;

struct Stream {
  int32_t down_id = 0;
  int32_t up_id = -1;
  bool rewrite = false;         // server messages go through the rewriter
  std::string partial;          // an incomplete server message (prefix included)
  size_t down_unconsumed = 0;   // received from the application, credit not given back yet
  size_t up_unconsumed = 0;     // received from the registry, ditto
  bool request_ended = false;   // END_STREAM forwarded upstream
  bool response_ended = false;  // END_STREAM (or trailers) forwarded downstream
  bool down_closed = false;
  bool up_closed = false;
};

class Relay {
 public:
  Relay(Worker& w, tcp::socket down, tcp::socket up,
        std::shared_ptr<const http::GrpcInterceptionRewriter> rewriter)
      : w_(w),
        down_(std::move(down)),
        up_(std::move(up)),
        rewriter_(std::move(rewriter)),
        down_cb_(*this),
        up_cb_(*this),
        down_wake_(w.io()),
        up_wake_(w.io()) {
    h2::Settings settings;
    down_s_ = h2::Session::server(settings, down_cb_);
    up_s_ = h2::Session::client(settings, up_cb_);
  }

  awaitable<void> run(std::string received) {
    auto handle = w_.addConnection([this](bool force) {
      if (force) {
        close();
        return;
      }
      // Drain: both sides learn no new streams will be taken; the client reconnects (and the
      // registry's redo brings its registrations and subscriptions back).
      down_s_->goAway();
      up_s_->goAway();
      wake(down_wake_);
      wake(up_wake_);
    });
    if (!received.empty()) feed(*down_s_, received, "application");
    co_await ((read(down_, *down_s_, "application") && read(up_, *up_s_, "registry")) &&
              (write(down_, *down_s_, down_wake_) && write(up_, *up_s_, up_wake_)));
    w_.removeConnection(handle);
    close();
  }

 private:
  // Callbacks of the session facing the application (server role).
  struct DownCallbacks final : h2::SessionCallbacks {
    explicit DownCallbacks(Relay& r) : r(r) {}
    Relay& r;
    void onRequestHead(int32_t id, http::RequestHead& head, bool end) override {
      r.onRequestHead(id, head, end);
    }
    void onData(int32_t id, std::string_view data) override { r.onRequestData(id, data); }
    void onTrailers(int32_t id, http::Headers& trailers) override {
      if (Stream* st = r.byDown(id); st != nullptr && st->up_id > 0 && !st->request_ended) {
        st->request_ended = true;
        r.up_s_->submitTrailers(st->up_id, trailers);
      }
    }
    void onEnd(int32_t id) override {
      if (Stream* st = r.byDown(id); st != nullptr && st->up_id > 0 && !st->request_ended) {
        st->request_ended = true;
        r.up_s_->sendData(st->up_id, {}, true);
      }
    }
    void onClose(int32_t id, h2::ErrorCode code) override { r.onDownClose(id, code); }
    void onGoAway(int32_t, h2::ErrorCode) override { r.up_s_->goAway(); }
    void onSendProgress(int32_t id) override {
      if (Stream* st = r.byDown(id)) r.creditUp(*st);
    }
  };
  // Callbacks of the session facing the registry (client role).
  struct UpCallbacks final : h2::SessionCallbacks {
    explicit UpCallbacks(Relay& r) : r(r) {}
    Relay& r;
    void onResponseHead(int32_t id, http::ResponseHead& head, bool end) override {
      Stream* st = r.byUp(id);
      if (st == nullptr || st->down_closed) return;
      if (end) st->response_ended = true;
      if (!r.down_s_->submitResponse(st->down_id, head, end)) {
        r.down_s_->resetStream(st->down_id, h2::ErrorCode::kInternalError);
      }
    }
    void onData(int32_t id, std::string_view data) override { r.onResponseData(id, data); }
    void onTrailers(int32_t id, http::Headers& trailers) override {
      Stream* st = r.byUp(id);
      if (st == nullptr || st->down_closed || st->response_ended) return;
      r.flushPartial(*st);
      st->response_ended = true;
      r.down_s_->submitTrailers(st->down_id, trailers);
    }
    void onEnd(int32_t id) override {
      Stream* st = r.byUp(id);
      if (st == nullptr || st->down_closed || st->response_ended) return;
      r.flushPartial(*st);
      st->response_ended = true;
      r.down_s_->sendData(st->down_id, {}, true);
    }
    void onClose(int32_t id, h2::ErrorCode code) override { r.onUpClose(id, code); }
    void onGoAway(int32_t, h2::ErrorCode) override { r.down_s_->goAway(); }
    void onSendProgress(int32_t id) override {
      if (Stream* st = r.byUp(id)) r.creditDown(*st);
    }
  };

  Stream* byDown(int32_t id) {
    auto it = by_down_.find(id);
    return it == by_down_.end() ? nullptr : it->second.get();
  }
  Stream* byUp(int32_t id) {
    auto it = by_up_.find(id);
    return it == by_up_.end() ? nullptr : it->second.get();
  }

  void onRequestHead(int32_t id, http::RequestHead& head, bool end) {
    auto st = std::make_shared<Stream>();
    st->down_id = id;
    st->rewrite = rewriter_->appliesTo(head.path);
    st->request_ended = end;
    Result<int32_t> up_id = 0;
    if (up_s_->canOpenStream()) up_id = up_s_->submitRequest(head, end);
    if (!up_id || *up_id <= 0) {
      // The registry will not take another stream now; the client retries it.
      down_s_->resetStream(id, h2::ErrorCode::kRefusedStream);
      return;
    }
    st->up_id = *up_id;
    by_down_[id] = st;
    by_up_[*up_id] = std::move(st);
  }

  void onRequestData(int32_t id, std::string_view data) {
    Stream* st = byDown(id);
    if (st == nullptr || st->up_closed || st->request_ended) {
      down_s_->consume(id, data.size());
      return;
    }
    up_s_->sendData(st->up_id, data, false);
    st->down_unconsumed += data.size();
    creditDown(*st);
  }

  void onResponseData(int32_t id, std::string_view data) {
    Stream* st = byUp(id);
    if (st == nullptr || st->down_closed || st->response_ended) {
      up_s_->consume(id, data.size());
      return;
    }
    st->up_unconsumed += data.size();
    if (!st->rewrite) {
      down_s_->sendData(st->down_id, data, false);
    } else {
      st->partial.append(data);
      std::string out = takeMessages(*st);
      if (!out.empty()) down_s_->sendData(st->down_id, out, false);
    }
    creditUp(*st);
  }

  // The complete messages at the front of st.partial, rewritten where the rewriter wants to.
  std::string takeMessages(Stream& st) {
    std::string out;
    size_t off = 0;
    while (st.partial.size() - off >= kGrpcPrefix) {
      const auto* p = reinterpret_cast<const unsigned char*>(st.partial.data() + off);
      size_t len = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
      if (len > kMaxMessageBytes) {
        SLUICE_LOG_WARN("{} grpc rewrite: a {}-byte message; the stream passes unchanged",
                        rewriter_->registry(), len);
        st.rewrite = false;
        out.append(st.partial, off);
        st.partial.clear();
        return out;
      }
      if (st.partial.size() - off < kGrpcPrefix + len) break;
      std::string_view message(st.partial.data() + off + kGrpcPrefix, len);
      std::optional<http::RewrittenBody> rewritten;
      if (p[0] == 0) rewritten = rewriter_->rewriteServerMessage(message);  // 1 = compressed
      if (rewritten) {
        size_t n = rewritten->body.size();
        out.push_back('\0');
        for (int shift = 24; shift >= 0; shift -= 8) {
          out.push_back(static_cast<char>((n >> shift) & 0xff));
        }
        out.append(rewritten->body);
      } else {
        out.append(st.partial, off, kGrpcPrefix + len);
      }
      off += kGrpcPrefix + len;
    }
    st.partial.erase(0, off);
    return out;
  }

  // A stream that ends mid-message: what arrived goes on as it is (the client reports it).
  void flushPartial(Stream& st) {
    if (st.partial.empty()) return;
    down_s_->sendData(st.down_id, st.partial, false);
    st.partial.clear();
  }

  // Window credit back to the application for bytes the registry side has taken.
  void creditDown(Stream& st) {
    if (st.down_unconsumed == 0 || st.up_closed) return;
    if (up_s_->queuedBytes(st.up_id) >= kMaxQueuedBytes) return;
    down_s_->consume(st.down_id, st.down_unconsumed);
    st.down_unconsumed = 0;
    wake(down_wake_);
  }
  // Window credit back to the registry for bytes the application side has taken.
  void creditUp(Stream& st) {
    if (st.up_unconsumed == 0 || st.down_closed) return;
    if (down_s_->queuedBytes(st.down_id) >= kMaxQueuedBytes) return;
    up_s_->consume(st.up_id, st.up_unconsumed);
    st.up_unconsumed = 0;
    wake(up_wake_);
  }

  void onDownClose(int32_t id, h2::ErrorCode code) {
    auto it = by_down_.find(id);
    if (it == by_down_.end()) return;
    auto st = it->second;
    by_down_.erase(it);
    st->down_closed = true;
    if (!st->up_closed) {
      // Closed early (reset by the application, or our own reset): the registry's stream too.
      if (code != h2::ErrorCode::kNoError || !st->response_ended) {
        up_s_->resetStream(st->up_id,
                           code == h2::ErrorCode::kNoError ? h2::ErrorCode::kCancel : code);
      }
      // Whatever the registry still sends for it is dropped; its window must stay open.
      up_s_->consume(st->up_id, st->up_unconsumed);
      st->up_unconsumed = 0;
    }
    wake(up_wake_);
  }

  void onUpClose(int32_t id, h2::ErrorCode code) {
    auto it = by_up_.find(id);
    if (it == by_up_.end()) return;
    auto st = it->second;
    by_up_.erase(it);
    st->up_closed = true;
    if (!st->down_closed) {
      if (code != h2::ErrorCode::kNoError || !st->response_ended) {
        down_s_->resetStream(
            st->down_id, code == h2::ErrorCode::kNoError ? h2::ErrorCode::kInternalError : code);
      }
      down_s_->consume(st->down_id, st->down_unconsumed);
      st->down_unconsumed = 0;
    }
    wake(down_wake_);
  }

  void feed(h2::Session& s, std::string_view bytes, const char* side) {
    if (auto r = s.receive(bytes); !r) {
      SLUICE_LOG_WARN("{} grpc interception: {}: {}", rewriter_->registry(), side,
                      r.error().message);
      ending_ = true;
    }
    // Callbacks may have queued frames for either side.
    wake(down_wake_);
    wake(up_wake_);
  }

  awaitable<void> read(tcp::socket& s, h2::Session& session, const char* side) {
    std::array<char, kReadChunk> buf;
    while (!ending_) {
      asio::error_code ec;
      size_t n = co_await s.async_read_some(asio::buffer(buf), withEc(ec));
      if (n > 0) feed(session, std::string_view(buf.data(), n), side);
      if (ec) break;
    }
    ending_ = true;
    wake(down_wake_);
    wake(up_wake_);
  }

  awaitable<void> write(tcp::socket& s, h2::Session& session, asio::steady_timer& wake_me) {
    std::string out;
    for (;;) {
      out.clear();
      session.takeOutput(out);
      if (out.empty()) {
        if (ending_ || session.done()) break;
        co_await waitOn(wake_me);
        continue;
      }
      asio::error_code ec;
      co_await asio::async_write(s, asio::buffer(out), withEc(ec));
      if (ec) break;
    }
    ending_ = true;
    // The first writer to finish lets the other flush what it has; the second ends the readers.
    if (++writers_done_ == 2) {
      close();
    } else {
      wake(down_wake_);
      wake(up_wake_);
    }
  }

  void close() {
    ending_ = true;
    asio::error_code ignored;
    down_.close(ignored);
    up_.close(ignored);
    wake(down_wake_);
    wake(up_wake_);
  }

  Worker& w_;
  tcp::socket down_;
  tcp::socket up_;
  std::shared_ptr<const http::GrpcInterceptionRewriter> rewriter_;
  DownCallbacks down_cb_;
  UpCallbacks up_cb_;
  std::unique_ptr<h2::Session> down_s_;
  std::unique_ptr<h2::Session> up_s_;
  asio::steady_timer down_wake_;
  asio::steady_timer up_wake_;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> by_down_;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> by_up_;
  bool ending_ = false;
  int writers_done_ = 0;
};

}  // namespace

awaitable<void> serveGrpcInterception(
    Worker& w, tcp::socket down, std::string received, tcp::endpoint destination,
    std::shared_ptr<const http::GrpcInterceptionRewriter> rewriter) {
  tcp::socket up(w.io());
  asio::error_code ec;
  {
    SocketTimer timer(w.io().get_executor());
    timer.arm(std::chrono::steady_clock::now() + kTcpConnectTimeout, up);
    ec = co_await net::connectOutbound(up, destination);
    timer.disarm();
    if (timer.fired()) ec = asio::error::timed_out;
  }
  if (ec) {
    // The client reconnects (to the next server of its list): nothing to answer here.
    ++w.stats().tcp_connect_failures_total;
    SLUICE_LOG_WARN("{} grpc to {}:{}: {}", rewriter->registry(), destination.address().to_string(),
                    destination.port(), ec.message());
    down.close(ec);
    co_return;
  }
  Relay relay(w, std::move(down), std::move(up), std::move(rewriter));
  co_await relay.run(std::move(received));
}

}  // namespace sluice::proxy
