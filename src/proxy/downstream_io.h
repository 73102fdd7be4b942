#pragma once
// The downstream side of one connection: its byte stream (a TCP socket; in tests also a
// worker-local stream, proxy/byte_stream.h), read buffers, the idle / request-headers
// deadline watch, and writing a local reply. Everything here belongs to the connection's
// coroutine on its worker thread; nothing is shared or locked.

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"
#include "proxy/byte_stream.h"
#include "proxy/local_reply.h"
#include "proxy/overload.h"
#include "proxy/proxy_options.h"

namespace sluice::proxy {

inline constexpr size_t kReadChunk = 16 * 1024;
// Freed read chunks a worker thread keeps for reuse: two per request in flight (downstream and
// upstream buffer); fortio's 16 connections send their requests together. At most 512 KiB.
inline constexpr size_t kMaxCachedReadChunks = 32;

// Completion token that reports errors in `ec` instead of throwing.
inline auto withEc(asio::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// A timer used as a wake-up signal between coroutines of one worker (HTTP/2 streams):
// waitOn() sleeps until wake() cancels it. A wake() with nobody waiting is lost, so waiters
// re-check their condition in a loop.
inline void wake(asio::steady_timer& t) { t.cancel(); }
inline asio::awaitable<void> waitOn(asio::steady_timer& t) {
  t.expires_at(asio::steady_timer::time_point::max());
  asio::error_code ec;
  co_await t.async_wait(withEc(ec));
}

// A growable read buffer that never zero-fills: bytes [start, end) are unconsumed. Storage of
// exactly kReadChunk bytes comes from, and goes back to, a small per-thread cache (a connection
// releases its buffers at every idle wait and takes them again for its next request).
class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  std::string_view view() const { return {data_.get() + start_, end_ - start_}; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }
  void consume(size_t n) {
    start_ += n;
    if (start_ >= end_) start_ = end_ = 0;
  }
  void clear() { start_ = end_ = 0; }
  // Room for at least `n` more bytes at the end (moves unconsumed bytes to the front).
  asio::mutable_buffer prepare(size_t n);
  void commit(size_t n) { end_ += n; }
  void append(std::string_view bytes) {
    if (bytes.empty()) return;  // memcpy from an empty view's null data() is undefined
    auto room = prepare(bytes.size());
    std::memcpy(room.data(), bytes.data(), bytes.size());
    commit(bytes.size());
  }
  // Drops the storage when it grew large (a big head once must not pin memory forever).
  void shrinkIfIdle();
  // Drops the storage when nothing is buffered (an idle connection holds no read buffer).
  void releaseIfEmpty() {
    if (empty()) release();
  }

 private:
  void release();

  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

// Reads what is available (up to kReadChunk) into `buf`; 0 with `ec` set on error or EOF.
// `Stream`: asio::ip::tcp::socket or ByteStream.
template <typename Stream>
asio::awaitable<size_t> readMore(Stream& s, Buffer& buf, asio::error_code& ec) {
  size_t n = co_await s.async_read_some(buf.prepare(kReadChunk), withEc(ec));
  buf.commit(n);
  co_return n;
}

// Watches a downstream connection for the idle and request-headers timeouts with ONE timer that
// only wakes at deadlines: the request path just records phase changes (no timer operation per
// request). When a deadline passes in the phase it was set for, the socket's pending read is
// cancelled and `tripped` says why.
class DownstreamWatch {
 public:
  enum class Phase : uint8_t { kIdle, kHead, kBusy };
  DownstreamWatch(ByteStream& socket, const ProxyOptions& options);
  ~DownstreamWatch();
  DownstreamWatch(const DownstreamWatch&) = delete;
  DownstreamWatch& operator=(const DownstreamWatch&) = delete;

  void enter(Phase p) {
    state_->phase = p;
    state_->since = std::chrono::steady_clock::now();
  }
  Phase phase() const { return state_->phase; }
  bool tripped() const { return state_->tripped; }

 private:
  struct State {
    Phase phase = Phase::kIdle;
    std::chrono::steady_clock::time_point since;
    std::array<std::chrono::milliseconds, 2> limits{};  // kIdle, kHead
    bool alive = true;
    bool tripped = false;
  };
  static std::optional<std::chrono::steady_clock::time_point> deadline(const State& s);
  void arm(std::chrono::steady_clock::time_point now);

  ByteStream& socket_;
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// What one request's upstream exchange reuses: the upstream response's read buffer, serialised
// heads, the response head. One per HTTP/1.1 connection (its requests run one at a time), one
// per HTTP/2 stream (they run at once).
struct ExchangeBuffers {
  Buffer upstream_in;
  std::string out;
  http::ResponseHead response;

  void releaseIdle() {
    upstream_in.releaseIfEmpty();
    std::string().swap(out);
    response = {};
  }
};

// Per-connection state shared by the request phases.
struct Downstream {
  Downstream(ByteStream s, const ProxyOptions& options)
      : socket(std::move(s)), watch(socket, options) {}
  ByteStream socket;
  DownstreamWatch watch;
  Buffer in;
  ExchangeBuffers x;          // reused by every request on this connection (HTTP/1.1)
  http::RequestHead request;  // reused for every request head (HTTP/1.1)
  std::string peer_ip;
  // The worker's idle list (null: not tracked) and this connection's place in it while it waits
  // in awaitRequestBytes().
  IdleConnections* idle_list = nullptr;
  IdleConnections::Entry idle{socket};
  bool in_request = false;
  bool close_after = false;  // drain asked to close once the current response is done
  bool linger = false;       // a local reply closed the connection: lingerBeforeClose() it

  // Frees the per-request buffers (read buffers, heads) while the connection waits idle. The
  // heads' capacity is reused across back-to-back requests; an idle wait gives it up.
  void releaseIdleBuffers() {
    in.releaseIfEmpty();
    x.releaseIdle();
    request = {};
  }
};

// Waits until the downstream socket has bytes to read, holding no read buffer meanwhile: when
// nothing is buffered, the per-request buffers are released and the wait is a readiness wait (no
// buffer posted, and no probe first: one system call, the reactor's re-arm). So an idle keep-alive
// connection costs its socket, timer and coroutine frames only (about 3 KiB), not 16 KiB read
// buffers. While it waits it is in `d.idle_list` (overload protection closes the oldest idle ones
// first). Returns at once when bytes are buffered, after one reactor turn when they are already
// readable; `ec` set when the socket failed, closed or timed out.
asio::awaitable<void> awaitRequestBytes(Downstream& d, asio::error_code& ec);

// Writes a locally generated response (its headers, content-type text/plain when there is a
// body, content-length, server); `close` adds "connection: close". False when the write failed.
asio::awaitable<bool> writeLocalReply(Downstream& d, const LocalReply& reply, bool close);
// The same for a status and body only (parse errors, 408).
asio::awaitable<bool> writeLocalReply(Downstream& d, int status, std::string_view body, bool close);

// Ends a connection that a local reply closed while the client may still be sending (the rest of
// a rejected body, a huge head): half-closes, then reads and drops what still comes, bounded in
// bytes and time. Closing with unread bytes makes the kernel answer with a RST, and a RST can
// destroy the reply in the client's receive queue before it was read.
asio::awaitable<void> lingerBeforeClose(Downstream& d);

}  // namespace sluice::proxy
