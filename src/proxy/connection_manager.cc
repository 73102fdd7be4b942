#include "proxy/connection_manager.h"

// GCC 12 at -O2 reports asio's awaitable frame operator new/delete pair as mismatched (a false
// positive: asio allocates and frees frames through its own recycling allocator). Without this
// the optimised -Werror build fails on this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/log.h"
#include "core/strings.h"
#include "http/codec.h"
#include "net/outbound_connect.h"
#include "proxy/socket_timer.h"
#include "proxy/tcp_relay.h"
#include "registry/nacos/list_rewrite.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;
using std::chrono::steady_clock;

constexpr size_t kReadChunk = 16 * 1024;
constexpr uint64_t kMaxReplayBody = 64 * 1024;
// A Nacos instance list is buffered whole to be rewritten (a few KiB per hundred instances).
constexpr size_t kMaxInstanceList = 16 * 1024 * 1024;

auto withEc(asio::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// A growable read buffer that never zero-fills: bytes [start, end) are unconsumed.
class Buffer {
 public:
  std::string_view view() const { return {data_.get() + start_, end_ - start_}; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return start_ == end_; }
  void consume(size_t n) {
    start_ += n;
    if (start_ >= end_) start_ = end_ = 0;
  }
  void clear() { start_ = end_ = 0; }
  // Room for at least `n` more bytes at the end (moves unconsumed bytes to the front).
  asio::mutable_buffer prepare(size_t n) {
    if (cap_ - end_ < n) {
      size_t used = end_ - start_;
      if (start_ > 0 && cap_ - used >= n) {
        std::memmove(data_.get(), data_.get() + start_, used);
      } else {
        size_t cap = std::max(cap_ * 2, used + n);
        auto grown = std::make_unique<char[]>(cap);
        if (used > 0) std::memcpy(grown.get(), data_.get() + start_, used);
        data_ = std::move(grown);
        cap_ = cap;
      }
      start_ = 0;
      end_ = used;
    }
    return asio::buffer(data_.get() + end_, cap_ - end_);
  }
  void commit(size_t n) { end_ += n; }
  // Drops the storage when it grew large (a big head once must not pin memory forever).
  void shrinkIfIdle() {
    if (empty() && cap_ > 4 * kReadChunk) {
      data_.reset();
      cap_ = 0;
      start_ = end_ = 0;
    }
  }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0;
  size_t start_ = 0;
  size_t end_ = 0;
};

awaitable<size_t> readMore(tcp::socket& s, Buffer& buf, asio::error_code& ec) {
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
  DownstreamWatch(tcp::socket& socket, const ProxyOptions& options)
      : socket_(socket), timer_(socket.get_executor()), state_(std::make_shared<State>()) {
    state_->limits = {options.idle_timeout, options.request_headers_timeout};
    enter(Phase::kIdle);
    arm(steady_clock::now());
  }
  ~DownstreamWatch() {
    state_->alive = false;
    timer_.cancel();
  }
  DownstreamWatch(const DownstreamWatch&) = delete;
  DownstreamWatch& operator=(const DownstreamWatch&) = delete;

  void enter(Phase p) {
    state_->phase = p;
    state_->since = steady_clock::now();
  }
  Phase phase() const { return state_->phase; }
  bool tripped() const { return state_->tripped; }

 private:
  struct State {
    Phase phase = Phase::kIdle;
    steady_clock::time_point since;
    std::array<std::chrono::milliseconds, 2> limits{};  // kIdle, kHead
    bool alive = true;
    bool tripped = false;
  };
  static std::optional<steady_clock::time_point> deadline(const State& s) {
    if (s.phase == Phase::kBusy) return std::nullopt;
    auto limit = s.limits[static_cast<size_t>(s.phase)];
    if (limit.count() <= 0) return std::nullopt;
    return s.since + limit;
  }
  void arm(steady_clock::time_point now) {
    auto d = deadline(*state_);
    // While busy (or without a limit) check back after the shortest limit.
    auto shortest = std::min(state_->limits[0].count() > 0 ? state_->limits[0] : std::chrono::hours(1),
                             state_->limits[1].count() > 0 ? state_->limits[1] : std::chrono::hours(1));
    timer_.expires_at(d ? *d : now + shortest);
    timer_.async_wait([this, state = state_](asio::error_code ec) {
      if (ec || !state->alive) return;
      auto now = steady_clock::now();
      auto d = deadline(*state);
      if (d && now >= *d) {
        state->tripped = true;
        asio::error_code ignored;
        socket_.cancel(ignored);
        return;
      }
      arm(now);
    });
  }
  tcp::socket& socket_;
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

// Per-connection state shared by the request steps.
struct Downstream {
  Downstream(tcp::socket s, const ProxyOptions& options)
      : socket(std::move(s)), watch(socket, options) {}
  tcp::socket socket;
  DownstreamWatch watch;
  Buffer in;
  Buffer upstream_in;  // reused for every upstream response on this connection
  std::string out;     // reused for serialised heads
  http::ResponseHead response;  // reused for every upstream response head
  std::string peer_ip;
  bool in_request = false;
  bool close_after = false;  // drain asked to close once the current response is done
};

// What one request turned into, for stats and the access log.
struct Outcome {
  int status = 0;
  const char* flags = "-";  // Envoy response flags: NR, UH, NC, UF, UT, UO, FI, DI, DPE
  std::string upstream_host;
  std::string_view service;  // destination FQDN for stats; "" = unknown
  std::string_view subset;
  std::string_view route_name;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint32_t attempts = 0;
};

std::string requestId(Worker& w) {
  uint64_t a = w.rng()();
  uint64_t b = w.rng()();
  // UUID v4 layout, as Envoy generates.
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     a & 0xfff, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

// Writes a locally generated response. `close` adds "connection: close".
awaitable<bool> sendLocal(Downstream& d, int status, std::string_view body, bool close,
                          const http::Headers* extra = nullptr,
                          std::string_view content_type = "text/plain") {
  std::string& out = d.out;
  out.clear();
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", status, http::reasonPhrase(status));
  if (extra != nullptr) {
    for (const auto& [k, v] : extra->entries()) fmt::format_to(std::back_inserter(out), "{}: {}\r\n", k, v);
  }
  if (!body.empty()) fmt::format_to(std::back_inserter(out), "content-type: {}\r\n", content_type);
  fmt::format_to(std::back_inserter(out), "content-length: {}\r\nserver: sluice\r\n", body.size());
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(out), asio::buffer(body)};
  asio::error_code ec;
  co_await asio::async_write(d.socket, bufs, withEc(ec));
  co_return !ec;
}

// " subset v1", or "" for the whole service.
std::string subsetNote(const std::string& subset) {
  return subset.empty() ? std::string() : " subset " + subset;
}

std::string_view headerOr(const http::Headers& h, std::string_view name, std::string_view def) {
  auto v = h.get(name);
  return v ? *v : def;
}

std::optional<std::string_view> cookieValue(const http::Headers& h, std::string_view name) {
  for (const auto& [k, v] : h.entries()) {
    if (!equalsIgnoreCase(k, "cookie")) continue;
    for (auto part : split(v, ';')) {
      part = trim(part);
      auto eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> hashFor(const LbSettings& lb, const http::RequestHead& head,
                                std::string_view path, const std::string& peer_ip) {
  switch (lb.hash_key.kind) {
    case ConsistentHashKey::Kind::kNone:
      return std::nullopt;
    case ConsistentHashKey::Kind::kHeader:
      if (auto v = head.headers.get(lb.hash_key.name)) return hashKey(*v);
      return std::nullopt;
    case ConsistentHashKey::Kind::kCookie:
      if (auto v = cookieValue(head.headers, lb.hash_key.name)) return hashKey(*v);
      return std::nullopt;
    case ConsistentHashKey::Kind::kSourceIp:
      return hashKey(peer_ip);
    case ConsistentHashKey::Kind::kQueryParameter: {
      auto q = path.find('?');
      if (q == std::string_view::npos) return std::nullopt;
      for (auto pair : split(path.substr(q + 1), '&')) {
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == lb.hash_key.name) {
          return hashKey(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool rollPercent(Worker& w, double percent) {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  // Millionths, as Istio translates percentages for Envoy.
  uint64_t roll = w.rng()() % 1000000;
  return static_cast<double>(roll) < percent * 10000.0;
}


// ---- upstream connections ----------------------------------------------------------------

enum class ConnectResult { kOk, kConnectFailure, kOverflow, kTimeout };

void wakeWaiter(EndpointState& ep);

// Gives a connection back to its endpoint's pool, or closes it.
void releaseConnection(ClusterState& cs, EndpointState& ep,
                       std::unique_ptr<UpstreamConnection> conn, bool reusable) {
  if (!conn) return;
  uint32_t max_req = cs.pool().max_requests_per_connection;
  if (reusable && ep.present && (max_req == 0 || conn->requests < max_req)) {
    conn->idle_since = steady_clock::now();
    ep.idle.push_back(std::move(conn));
  } else {
    asio::error_code ignored;
    conn->socket.close(ignored);
    if (ep.open_connections > 0) --ep.open_connections;
  }
  wakeWaiter(ep);
}

// Waiters for a connection slot (maxConnections reached), per endpoint. Timers are owned by the
// waiting coroutine; the list only points at them.
std::unordered_map<const EndpointState*, std::vector<asio::steady_timer*>>& waiters() {
  thread_local std::unordered_map<const EndpointState*, std::vector<asio::steady_timer*>> w;
  return w;
}

void wakeWaiter(EndpointState& ep) {
  auto& all = waiters();
  auto it = all.find(&ep);
  if (it == all.end() || it->second.empty()) return;
  asio::steady_timer* t = it->second.front();
  it->second.erase(it->second.begin());
  if (it->second.empty()) all.erase(it);
  t->cancel();
}

awaitable<ConnectResult> acquireConnection(Worker& w, ClusterState& cs, EndpointState& ep,
                                           std::unique_ptr<UpstreamConnection>& out,
                                           bool& reused) {
  const auto& pool = cs.pool();
  reused = false;
  auto deadline = steady_clock::now() + pool.connect_timeout;
  for (;;) {
    // A pooled keep-alive connection (most recently used first).
    while (!ep.idle.empty()) {
      auto conn = std::move(ep.idle.back());
      ep.idle.pop_back();
      if (steady_clock::now() - conn->idle_since > pool.idle_timeout || !conn->socket.is_open()) {
        asio::error_code ignored;
        conn->socket.close(ignored);
        if (ep.open_connections > 0) --ep.open_connections;
        continue;
      }
      out = std::move(conn);
      reused = true;
      co_return ConnectResult::kOk;
    }
    if (ep.open_connections < pool.max_connections) break;
    // maxConnections reached: queue (http1MaxPendingRequests) or overflow.
    if (cs.pending_requests >= pool.max_pending_requests) {
      ++cs.overflows;
      co_return ConnectResult::kOverflow;
    }
    asio::steady_timer timer(w.io());
    timer.expires_at(deadline);
    waiters()[&ep].push_back(&timer);
    ++cs.pending_requests;
    asio::error_code ec;
    co_await timer.async_wait(withEc(ec));
    --cs.pending_requests;
    auto it = waiters().find(&ep);
    if (it != waiters().end()) {
      std::erase(it->second, &timer);
      if (it->second.empty()) waiters().erase(it);
    }
    if (!ec) co_return ConnectResult::kOverflow;  // waited the whole connect timeout
  }
  ++ep.open_connections;
  ++w.stats().upstream_connections_total;
  tcp::socket socket(w.io());
  asio::error_code ec;
  SocketTimer timer(w.io().get_executor());
  timer.arm(deadline, socket);
  // An IP, or a DNS name (ServiceEntry resolution DNS) resolved here.
  ec = co_await net::connectOutbound(socket, ep.endpoint.ip, ep.endpoint.port);
  timer.disarm();
  if (ec || timer.fired()) {
    --ep.open_connections;
    wakeWaiter(ep);
    co_return timer.fired() ? ConnectResult::kTimeout : ConnectResult::kConnectFailure;
  }
  socket.set_option(tcp::no_delay(true), ec);
  out = std::make_unique<UpstreamConnection>(std::move(socket));
  co_return ConnectResult::kOk;
}

// Access log line, Envoy-like: [start] "METHOD PATH PROTO" CODE FLAGS RX TX DURATION
// "XFF" "UA" "REQUEST-ID" "AUTHORITY" "UPSTREAM" ROUTE
void accessLog(const http::RequestHead& head, const Outcome& o, double ms) {
  auto now = std::chrono::system_clock::now();
  fmt::print("[{:%Y-%m-%dT%H:%M:%S}Z] \"{} {} HTTP/1.{}\" {} {} {} {} {:.0f} \"{}\" \"{}\" \"{}\" "
             "\"{}\" \"{}\" {}\n",
             std::chrono::floor<std::chrono::seconds>(now), head.method, head.target,
             head.version == http::Version::kHttp10 ? 0 : 1, o.status, o.flags, o.bytes_received,
             o.bytes_sent, ms, headerOr(head.headers, "x-forwarded-for", "-"),
             headerOr(head.headers, "user-agent", "-"), headerOr(head.headers, "x-request-id", "-"),
             head.authority, o.upstream_host.empty() ? "-" : o.upstream_host,
             o.route_name.empty() ? "-" : o.route_name);
  std::fflush(stdout);
}

// ---- the request path --------------------------------------------------------------------

struct RequestContext {
  Worker& w;
  Downstream& d;
  const ListenerContext& listener;
  http::RequestHead& head;
  http::HeadResult& parsed;
  std::shared_ptr<const MeshSnapshot> snap;  // the one snapshot reference of this request
  Outcome outcome;
  std::string original_target;  // the target as received, when forward() rewrote it
  bool keep_alive = true;
  bool nacos_rewrite = false;  // method 2: a Nacos instance-list request on a rewrite port
  bool body_consumed = false;  // the request body was read (or there was none)
};

// Sends a local reply for a request whose body was not read: the connection closes unless there
// was no body.
awaitable<void> reply(RequestContext& rc, int status, const char* flags, std::string_view body,
                      const http::Headers* extra = nullptr) {
  rc.outcome.status = status;
  rc.outcome.flags = flags;
  bool has_body = rc.parsed.framing.kind != http::BodyKind::kNone &&
                  !(rc.parsed.framing.kind == http::BodyKind::kContentLength &&
                    rc.parsed.framing.length == 0);
  if (has_body && !rc.body_consumed) rc.keep_alive = false;
  bool ok = co_await sendLocal(rc.d, status, body, !rc.keep_alive, extra);
  rc.outcome.bytes_sent += body.size();
  if (!ok) rc.keep_alive = false;
}

// Reads a Content-Length body of at most kMaxReplayBody into `body`.
awaitable<bool> readWholeBody(RequestContext& rc, uint64_t length, std::string& body) {
  body.clear();
  body.reserve(length);
  while (body.size() < length) {
    if (rc.d.in.empty()) {
      asio::error_code ec;
      size_t n = co_await readMore(rc.d.socket, rc.d.in, ec);
      if (ec || n == 0) co_return false;
    }
    auto v = rc.d.in.view();
    size_t take = std::min<size_t>(v.size(), length - body.size());
    body.append(v.data(), take);
    rc.d.in.consume(take);
  }
  rc.outcome.bytes_received += length;
  co_return true;
}

// Streams the downstream request body to the upstream socket. Chunked bodies are forwarded as
// the validated raw chunks. Returns false on any error (`downstream_error` says whose).
awaitable<bool> streamRequestBody(RequestContext& rc, tcp::socket& up, bool& downstream_error) {
  downstream_error = false;
  asio::error_code ec;
  if (rc.parsed.framing.kind == http::BodyKind::kContentLength) {
    http::LengthDecoder dec(rc.parsed.framing.length);
    while (!dec.done()) {
      if (rc.d.in.empty()) {
        size_t n = co_await readMore(rc.d.socket, rc.d.in, ec);
        if (ec || n == 0) {
          downstream_error = true;
          co_return false;
        }
      }
      auto piece = dec.take(rc.d.in.view());
      co_await asio::async_write(up, asio::buffer(piece), withEc(ec));
      rc.outcome.bytes_received += piece.size();
      rc.d.in.consume(piece.size());
      if (ec) co_return false;
    }
    co_return true;
  }
  if (rc.parsed.framing.kind == http::BodyKind::kChunked) {
    http::ChunkedDecoder dec(rc.w.options().limits);
    for (;;) {
      auto view = rc.d.in.view();
      size_t consumed = 0;
      bool done = false;
      for (;;) {
        auto c = dec.decode(view.substr(consumed));
        if (c.status == http::ParseStatus::kError) {
          downstream_error = true;
          co_return false;
        }
        consumed += c.consumed;
        rc.outcome.bytes_received += c.data.size();
        if (c.status == http::ParseStatus::kComplete) {
          done = true;
          break;
        }
        if (c.consumed == 0) break;
      }
      if (consumed > 0) {
        co_await asio::async_write(up, asio::buffer(view.data(), consumed), withEc(ec));
        rc.d.in.consume(consumed);
        if (ec) co_return false;
      }
      if (done) co_return true;
      size_t n = co_await readMore(rc.d.socket, rc.d.in, ec);
      if (ec || n == 0) {
        downstream_error = true;
        co_return false;
      }
    }
  }
  co_return true;
}

// Streams the upstream response body downstream. Returns whether the upstream connection may be
// reused; `ok` is false when either side failed mid-body.
awaitable<bool> streamResponseBody(RequestContext& rc, tcp::socket& up,
                                   const http::HeadResult& resp, bool dechunk, bool& ok) {
  ok = true;
  asio::error_code ec;
  Buffer& buf = rc.d.upstream_in;
  switch (resp.framing.kind) {
    case http::BodyKind::kNone:
      co_return resp.keep_alive;
    case http::BodyKind::kContentLength: {
      http::LengthDecoder dec(resp.framing.length);
      while (!dec.done()) {
        if (buf.empty()) {
          size_t n = co_await readMore(up, buf, ec);
          if (ec || n == 0) {
            ok = false;
            co_return false;
          }
        }
        auto piece = dec.take(buf.view());
        co_await asio::async_write(rc.d.socket, asio::buffer(piece), withEc(ec));
        rc.outcome.bytes_sent += piece.size();
        buf.consume(piece.size());
        if (ec) {
          ok = false;
          co_return false;
        }
      }
      co_return resp.keep_alive && buf.empty();
    }
    case http::BodyKind::kChunked: {
      http::ChunkedDecoder dec(rc.w.options().limits);
      for (;;) {
        auto view = buf.view();
        size_t consumed = 0;
        bool done = false;
        std::string plain;  // HTTP/1.0 client: the decoded data only
        for (;;) {
          auto c = dec.decode(view.substr(consumed));
          if (c.status == http::ParseStatus::kError) {
            ok = false;
            co_return false;
          }
          consumed += c.consumed;
          if (dechunk) plain.append(c.data);
          rc.outcome.bytes_sent += c.data.size();
          if (c.status == http::ParseStatus::kComplete) {
            done = true;
            break;
          }
          if (c.consumed == 0) break;
        }
        if (consumed > 0) {
          if (dechunk) {
            co_await asio::async_write(rc.d.socket, asio::buffer(plain), withEc(ec));
          } else {
            co_await asio::async_write(rc.d.socket, asio::buffer(view.data(), consumed),
                                       withEc(ec));
          }
          buf.consume(consumed);
          if (ec) {
            ok = false;
            co_return false;
          }
        }
        if (done) co_return resp.keep_alive && buf.empty();
        size_t n = co_await readMore(up, buf, ec);
        if (ec || n == 0) {
          ok = false;
          co_return false;
        }
      }
    }
    case http::BodyKind::kUntilClose: {
      for (;;) {
        if (!buf.empty()) {
          auto v = buf.view();
          co_await asio::async_write(rc.d.socket, asio::buffer(v), withEc(ec));
          rc.outcome.bytes_sent += v.size();
          buf.consume(v.size());
          if (ec) {
            ok = false;
            co_return false;
          }
        }
        size_t n = co_await readMore(up, buf, ec);
        if (ec || n == 0) co_return false;  // the close ends the body
      }
    }
  }
  co_return false;
}

// Exponential backoff between retries: a random wait in [0, base * 2^(n-1)], capped at 10x base
// (Envoy's scheme; Istio's default base is 25ms).
// Reads a whole response body (any framing) into `out`, up to `limit` bytes. False when the
// body is incomplete, malformed or too large. `reusable` says whether the upstream connection
// may serve another request.
awaitable<bool> readWholeResponseBody(RequestContext& rc, tcp::socket& up,
                                      const http::HeadResult& resp, size_t limit,
                                      std::string& out, bool& reusable) {
  asio::error_code ec;
  Buffer& buf = rc.d.upstream_in;
  reusable = false;
  switch (resp.framing.kind) {
    case http::BodyKind::kNone:
      reusable = resp.keep_alive;
      co_return true;
    case http::BodyKind::kContentLength: {
      if (resp.framing.length > limit) co_return false;
      while (buf.size() < resp.framing.length) {
        size_t n = co_await readMore(up, buf, ec);
        if (ec || n == 0) co_return false;
      }
      size_t n = static_cast<size_t>(resp.framing.length);
      out.assign(buf.view().data(), n);
      buf.consume(n);
      reusable = resp.keep_alive && buf.empty();
      co_return true;
    }
    case http::BodyKind::kChunked: {
      http::ChunkedDecoder dec(rc.w.options().limits);
      for (;;) {
        auto view = buf.view();
        size_t consumed = 0;
        for (;;) {
          auto c = dec.decode(view.substr(consumed));
          if (c.status == http::ParseStatus::kError) co_return false;
          consumed += c.consumed;
          out.append(c.data);
          if (out.size() > limit) co_return false;
          if (c.status == http::ParseStatus::kComplete) {
            buf.consume(consumed);
            reusable = resp.keep_alive && buf.empty();
            co_return true;
          }
          if (c.consumed == 0) break;
        }
        buf.consume(consumed);
        size_t n = co_await readMore(up, buf, ec);
        if (ec || n == 0) co_return false;
      }
    }
    case http::BodyKind::kUntilClose: {
      for (;;) {
        out.append(buf.view());
        buf.consume(buf.size());
        if (out.size() > limit) co_return false;
        size_t n = co_await readMore(up, buf, ec);
        if (ec || n == 0) co_return true;  // the close ends the body
      }
    }
  }
  co_return false;
}

awaitable<void> backoff(Worker& w, const RetryPolicy& retry, uint32_t attempt) {
  auto base = retry.backoff_base.count() > 0 ? retry.backoff_base : std::chrono::milliseconds(25);
  int64_t cap = base.count() * 10;
  int64_t window = std::min<int64_t>(cap, base.count() << std::min<uint32_t>(attempt - 1, 10));
  int64_t wait = static_cast<int64_t>(w.rng()() % static_cast<uint64_t>(window + 1));
  if (wait <= 0) co_return;
  asio::steady_timer t(w.io());
  t.expires_after(std::chrono::milliseconds(wait));
  asio::error_code ec;
  co_await t.async_wait(withEc(ec));
}

// Fire-and-forget shadow copy of a request whose body is buffered (mirror / mirrors).
awaitable<void> sendMirror(Worker& w, std::shared_ptr<const MeshSnapshot> snap, int cluster,
                           std::string head_bytes, std::string body) {
  ClusterState& cs = w.clusterState(cluster);
  if (w.snapshot() != snap) co_return;  // the snapshot moved on; skip rather than guess
  EndpointState* ep = cs.pick({}, steady_clock::now());
  if (ep == nullptr) co_return;
  cs.acquire(*ep);
  ++cs.pins;
  std::unique_ptr<UpstreamConnection> conn;
  bool reused = false;
  auto r = co_await acquireConnection(w, cs, *ep, conn, reused);
  if (r == ConnectResult::kOk) {
    asio::error_code ec;
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(head_bytes), asio::buffer(body)};
    co_await asio::async_write(conn->socket, bufs, withEc(ec));
    // The response is read and dropped; the connection is not reused.
    char sink[4096];
    for (int i = 0; i < 256 && !ec; ++i) {
      co_await conn->socket.async_read_some(asio::buffer(sink), withEc(ec));
    }
    releaseConnection(cs, *ep, std::move(conn), false);
  }
  --cs.pins;
  cs.release(*ep);
}

// Phase 5 + 6: forward to the cluster and stream the response back.
awaitable<void> forward(RequestContext& rc, const Route& route, const MatchBlock* matched,
                        const WeightedCluster& dest, ClusterState& cluster_state) {
  Worker& w = rc.w;
  http::RequestHead& head = rc.head;

  // The upstream request head is the downstream head, rewritten in place (no copies): target
  // (rewrite), hop-by-hop removal, forwarding headers, route then destination header operations.
  http::RequestHead& up = head;
  bool access_log = w.options().access_log;
  if (!route.rewrite.empty()) {
    std::string rewritten = rewritePath(route.rewrite, matched, head.path);
    if (rewritten.empty()) rewritten = "/";
    if (access_log) rc.original_target = up.target;
    up.target = std::move(rewritten);
  } else if (up.target != head.path) {
    // Absolute-form (explicit proxy) becomes origin-form; assign() reuses the capacity.
    if (access_log) rc.original_target = up.target;
    up.target.assign(head.path);
  }
  if (rc.nacos_rewrite) {
    // The rewritten list must not be overwritten by a UDP push of the original one, and the
    // body must come back uncompressed to be rewritten (identity is always acceptable).
    if (access_log && rc.original_target.empty()) rc.original_target = up.target;
    up.target = registry::nacos::disableUdpPush(up.target);
    up.headers.remove("accept-encoding");
  }
  // Upgrade (WebSocket and the like) is the one hop-by-hop exchange passed on: after a 101 the
  // two connections are relayed as bytes. Only for bodiless HTTP/1.1 requests, as RFC 9110 §7.8
  // and every WebSocket client have it.
  std::string upgrade;
  if (head.version == http::Version::kHttp11 && rc.parsed.framing.kind == http::BodyKind::kNone &&
      http::connectionHas(head.headers, "upgrade")) {
    upgrade = std::string(head.headers.get("upgrade").value_or(""));
  }
  up.version = http::Version::kHttp11;
  http::removeHopByHop(up.headers);
  if (!upgrade.empty()) {
    up.headers.set("connection", "upgrade");
    up.headers.set("upgrade", upgrade);
  }
  up.headers.remove("expect");
  up.headers.remove("x-envoy-attempt-count");
  if (!route.rewrite.authority.empty()) {
    up.headers.set("host", route.rewrite.authority);
  } else if (up.headers.count("host") != 1 || *up.headers.get("host") != head.authority) {
    up.headers.set("host", head.authority);  // absolute-form: Host follows the target
  }
  if (auto xff = up.headers.get("x-forwarded-for")) {
    up.headers.set("x-forwarded-for", std::string(*xff) + ", " + rc.d.peer_ip);
  } else {
    up.headers.add("x-forwarded-for", rc.d.peer_ip);
  }
  if (!up.headers.has("x-forwarded-proto")) up.headers.add("x-forwarded-proto", "http");
  if (!up.headers.has("x-request-id")) up.headers.add("x-request-id", requestId(w));
  route.request_headers.apply(up.headers);
  dest.request_headers.apply(up.headers);
  const auto& framing = rc.parsed.framing;
  if (framing.kind == http::BodyKind::kChunked) up.headers.add("transfer-encoding", "chunked");

  // Expect: 100-continue is answered here; the upstream never sees Expect.
  if (rc.parsed.expect_continue && framing.kind != http::BodyKind::kNone) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::error_code ec;
    co_await asio::async_write(rc.d.socket, asio::buffer(kContinue), withEc(ec));
    if (ec) {
      rc.keep_alive = false;
      co_return;
    }
  }
  // A small Content-Length body is kept so a retry can replay it.
  std::string body;
  bool replayable = framing.kind == http::BodyKind::kNone ||
                    (framing.kind == http::BodyKind::kContentLength &&
                     framing.length <= kMaxReplayBody);
  if (replayable && framing.kind == http::BodyKind::kContentLength && framing.length > 0) {
    if (!co_await readWholeBody(rc, framing.length, body)) {
      rc.keep_alive = false;
      rc.outcome.status = 400;
      rc.outcome.flags = "DPE";
      co_return;
    }
  }
  if (replayable) rc.body_consumed = true;

  // Mirrors: a fire-and-forget copy when the body is at hand.
  if (!route.mirrors.empty() && replayable) {
    for (const auto& m : route.mirrors) {
      if (m.cluster < 0 || !rollPercent(w, m.percent)) continue;
      http::RequestHead shadow = up;
      auto host = shadow.headers.get("host");
      std::string shadow_host = std::string(splitAuthority(host.value_or("")).first) + "-shadow";
      shadow.headers.set("host", shadow_host);
      std::string bytes;
      http::serializeRequestHead(shadow, bytes);
      asio::co_spawn(w.io(), sendMirror(w, rc.snap, m.cluster, std::move(bytes), body),
                     asio::detached);
    }
  }

  const RetryPolicy& retry = route.retry;
  uint32_t max_attempts = 1 + retry.num_retries;
  auto start = steady_clock::now();
  std::optional<steady_clock::time_point> deadline;
  if (route.timeout.count() > 0) deadline = start + route.timeout;
  EndpointState* previous = nullptr;
  bool stale_retry_used = false;
  ClusterState* cs = &cluster_state;
  ++cs->pins;
  struct Unpin {
    ClusterState* cs;
    ~Unpin() { --cs->pins; }
  } unpin{cs};
  SocketTimer timer(w.io().get_executor());  // armed only when the route has a timeout

  for (uint32_t attempt = 1; attempt <= max_attempts; ++attempt) {
    rc.outcome.attempts = attempt;
    // Phase 4b: pick an endpoint (a retry avoids the previous host).
    PickContext pc;
    pc.avoid = previous;
    pc.hash = hashFor(cs->lb(), head, head.path, rc.d.peer_ip);
    EndpointState* ep = cs->pick(pc, steady_clock::now());
    if (ep == nullptr) {
      {
        std::string msg = fmt::format("no healthy upstream for {}{}\n", dest.host,
                                      subsetNote(dest.subset));
        co_await reply(rc, 503, "UH", msg);
      }
      co_return;
    }
    rc.outcome.upstream_host = ep->address;
    cs->acquire(*ep);
    struct Release {
      ClusterState* cs;
      EndpointState* ep;
      ~Release() { cs->release(*ep); }
    } release{cs, ep};

    // Phase 5: connection (pooled or new), with pool limits.
    std::unique_ptr<UpstreamConnection> conn;
    bool reused = false;
    ConnectResult cr = co_await acquireConnection(w, *cs, *ep, conn, reused);
    if (cr == ConnectResult::kOverflow) {
      {
        std::string msg = fmt::format("upstream connection pool overflow for {}{}\n", dest.host,
                                 subsetNote(dest.subset));
        co_await reply(rc, 503, "UO", msg);
      }
      co_return;
    }
    if (cr != ConnectResult::kOk) {
      cs->recordResult(*ep, 503, true, steady_clock::now());
      previous = ep;
      if (attempt < max_attempts && replayable &&
          retry.shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0)) {
        continue;
      }
      {
        std::string msg = fmt::format("upstream connect error to {} ({}{})\n", rc.outcome.upstream_host,
                                 dest.host, subsetNote(dest.subset));
        co_await reply(rc, 503, "UF", msg);
      }
      co_return;
    }
    ++conn->requests;

    // Per-attempt deadline: the route timeout and perTryTimeout, whichever comes first.
    std::optional<steady_clock::time_point> attempt_deadline = deadline;
    if (retry.per_try_timeout.count() > 0) {
      auto t = steady_clock::now() + retry.per_try_timeout;
      if (!attempt_deadline || t < *attempt_deadline) attempt_deadline = t;
    }
    if (attempt_deadline) timer.arm(*attempt_deadline, conn->socket);

    // Send head (+ buffered body) in one gathered write.
    if (attempt > 1) up.headers.set("x-envoy-attempt-count", std::to_string(attempt));
    rc.d.out.clear();
    http::serializeRequestHead(up, rc.d.out);
    asio::error_code ec;
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(rc.d.out), asio::buffer(body)};
    co_await asio::async_write(conn->socket, bufs, withEc(ec));
    bool downstream_error = false;
    if (!ec && !replayable) {
      rc.body_consumed = true;
      if (!co_await streamRequestBody(rc, conn->socket, downstream_error)) {
        ec = asio::error::broken_pipe;
      }
    }
    // Response head (1xx interim responses are dropped: 100 Continue was answered locally).
    http::ResponseHead& resp = rc.d.response;
    http::HeadResult rh;
    Buffer& ubuf = rc.d.upstream_in;
    ubuf.clear();
    bool got_bytes = false;
    if (!ec) {
      http::ResponseHeadParser parser(w.options().limits);
      bool is_head = head.method == "HEAD";
      for (;;) {
        rh = parser.parse(ubuf.view(), resp, is_head);
        if (rh.status == http::ParseStatus::kComplete) {
          ubuf.consume(rh.consumed);
          if (resp.status >= 100 && resp.status < 200 && resp.status != 101) continue;
          break;
        }
        if (rh.status == http::ParseStatus::kError) break;
        size_t n = co_await readMore(conn->socket, ubuf, ec);
        if (ec || n == 0) {
          if (!ec) ec = asio::error::eof;
          break;
        }
        got_bytes = true;
      }
    }
    if (downstream_error) {
      timer.disarm();
      releaseConnection(*cs, *ep, std::move(conn), false);
      rc.keep_alive = false;
      rc.outcome.status = 400;
      rc.outcome.flags = "DPE";
      co_return;
    }
    if (ec || rh.status != http::ParseStatus::kComplete) {
      timer.disarm();
      bool timed_out = timer.fired();
      bool protocol_error = !ec && rh.status == http::ParseStatus::kError;
      releaseConnection(*cs, *ep, std::move(conn), false);
      // A pooled connection the upstream had closed while idle: retry once on a fresh one.
      if (reused && !got_bytes && !timed_out && replayable && !stale_retry_used) {
        stale_retry_used = true;
        --attempt;
        continue;
      }
      int local = timed_out ? 504 : protocol_error ? 502 : 503;
      cs->recordResult(*ep, local, true, steady_clock::now());
      previous = ep;
      bool overall_timeout = timed_out && deadline && steady_clock::now() >= *deadline;
      if (!overall_timeout && attempt < max_attempts && replayable &&
          retry.shouldRetry(timed_out ? RetryPolicy::Outcome::kStatus
                                      : RetryPolicy::Outcome::kReset,
                            local)) {
        co_await backoff(w, retry, attempt);
        continue;
      }
      if (timed_out) {
        co_await reply(rc, 504, "UT", "upstream request timeout\n");
      } else if (protocol_error) {
        {
          std::string msg = fmt::format("upstream sent a malformed response: {}\n", rh.error.reason);
          co_await reply(rc, 502, "UPE", msg);
        }
      } else {
        co_await reply(rc, 503, "UC", "upstream connect error or disconnect/reset before headers\n");
      }
      co_return;
    }
    // A retriable status: drop this response and try again.
    if (attempt < max_attempts && replayable &&
        retry.shouldRetry(RetryPolicy::Outcome::kStatus, resp.status)) {
      timer.disarm();
      cs->recordResult(*ep, resp.status, false, steady_clock::now());
      releaseConnection(*cs, *ep, std::move(conn), false);
      previous = ep;
      co_await backoff(w, retry, attempt);
      continue;
    }

    // Phase 6: respond. Response head rewritten, body streamed.
    rc.outcome.status = resp.status;
    if (resp.status == 101) {
      timer.disarm();  // a tunnel lives as long as its ends want; no route timeout applies
      std::string agreed(resp.headers.get("upgrade").value_or(""));
      if (upgrade.empty() || agreed.empty()) {
        releaseConnection(*cs, *ep, std::move(conn), false);
        co_await reply(rc, 502, "UPE", "upstream switched protocols without an upgrade request\n");
        co_return;
      }
      http::removeHopByHop(resp.headers);
      route.response_headers.apply(resp.headers);
      dest.response_headers.apply(resp.headers);
      resp.headers.set("connection", "upgrade");
      resp.headers.set("upgrade", agreed);
      rc.d.out.clear();
      http::serializeResponseHead(resp, rc.d.out);
      rc.keep_alive = false;
      // Bytes that came early, on either side, already belong to the new protocol.
      std::array<asio::const_buffer, 2> out = {asio::buffer(rc.d.out), asio::buffer(ubuf.view())};
      co_await asio::async_write(rc.d.socket, out, withEc(ec));
      ubuf.clear();
      if (!ec && !rc.d.in.empty()) {
        co_await asio::async_write(conn->socket, asio::buffer(rc.d.in.view()), withEc(ec));
        rc.d.in.clear();
      }
      cs->recordResult(*ep, 101, false, steady_clock::now());
      if (!ec) co_await relayBothWays(rc.d.socket, conn->socket);
      releaseConnection(*cs, *ep, std::move(conn), false);
      co_return;
    }
    http::removeHopByHop(resp.headers);
    route.response_headers.apply(resp.headers);
    dest.response_headers.apply(resp.headers);
    if (route.cors.enabled) {
      if (auto origin = head.headers.get("origin"); origin && route.cors.originAllowed(*origin)) {
        resp.headers.set("access-control-allow-origin", *origin);
        if (!route.cors.expose_headers.empty()) {
          resp.headers.set("access-control-expose-headers", route.cors.expose_headers);
        }
        if (route.cors.allow_credentials.value_or(false)) {
          resp.headers.set("access-control-allow-credentials", "true");
        }
      }
    }
    if (rc.nacos_rewrite && resp.status == 200 && head.method != "HEAD") {
      auto encoding = resp.headers.get("content-encoding");
      if (encoding && !equalsIgnoreCase(*encoding, "identity")) {
        SLUICE_LOG_WARN("nacos rewrite: {} came back with content-encoding {}; passed unchanged",
                        head.path, *encoding);
      } else {
        std::string list;
        bool reusable = false;
        bool complete = co_await readWholeResponseBody(rc, conn->socket, rh, kMaxInstanceList,
                                                       list, reusable);
        timer.disarm();
        if (!complete || timer.fired()) {
          cs->recordResult(*ep, 502, true, steady_clock::now());
          releaseConnection(*cs, *ep, std::move(conn), false);
          co_await reply(rc, 502, "UPE", "incomplete or oversized Nacos instance list from the "
                                         "registry\n");
          co_return;
        }
        auto rewritten = registry::nacos::rewriteInstanceList(list);
        if (rewritten) {
          list = std::move(rewritten->body);
        } else {
          SLUICE_LOG_WARN("nacos rewrite: {}: {}; passed unchanged", head.path,
                          rewritten.error().message);
        }
        resp.headers.set("content-length", std::to_string(list.size()));
        if (rc.d.close_after || w.draining()) rc.keep_alive = false;
        if (!rc.keep_alive) resp.headers.set("connection", "close");
        else if (head.version == http::Version::kHttp10) resp.headers.set("connection", "keep-alive");
        resp.version = http::Version::kHttp11;
        rc.d.out.clear();
        http::serializeResponseHead(resp, rc.d.out);
        std::array<asio::const_buffer, 2> out = {asio::buffer(rc.d.out), asio::buffer(list)};
        co_await asio::async_write(rc.d.socket, out, withEc(ec));
        if (ec) rc.keep_alive = false;
        rc.outcome.bytes_sent += list.size();
        cs->recordResult(*ep, resp.status, false, steady_clock::now());
        releaseConnection(*cs, *ep, std::move(conn), reusable);
        co_return;
      }
    }
    bool http10 = head.version == http::Version::kHttp10;
    bool dechunk = rh.framing.kind == http::BodyKind::kChunked && http10;
    if (rh.framing.kind == http::BodyKind::kChunked && !http10) {
      resp.headers.add("transfer-encoding", "chunked");
    }
    if (rh.framing.kind == http::BodyKind::kUntilClose || dechunk) rc.keep_alive = false;
    if (rc.d.close_after || w.draining()) rc.keep_alive = false;
    if (!rc.keep_alive) resp.headers.set("connection", "close");
    else if (http10) resp.headers.set("connection", "keep-alive");
    resp.version = http::Version::kHttp11;
    rc.d.out.clear();
    http::serializeResponseHead(resp, rc.d.out);
    bool ok = true;
    bool reusable = false;
    if (rh.framing.kind == http::BodyKind::kContentLength && ubuf.size() >= rh.framing.length) {
      // The whole body is already here (the common small response): one gathered write.
      size_t n = static_cast<size_t>(rh.framing.length);
      std::array<asio::const_buffer, 2> out = {asio::buffer(rc.d.out),
                                               asio::buffer(ubuf.view().data(), n)};
      co_await asio::async_write(rc.d.socket, out, withEc(ec));
      ok = !ec;
      rc.outcome.bytes_sent += n;
      ubuf.consume(n);
      reusable = rh.keep_alive && ubuf.empty();
    } else {
      co_await asio::async_write(rc.d.socket, asio::buffer(rc.d.out), withEc(ec));
      ok = !ec;
      if (ok) reusable = co_await streamResponseBody(rc, conn->socket, rh, dechunk, ok);
    }
    timer.disarm();
    if (timer.fired()) ok = false;
    if (!ok) rc.keep_alive = false;
    cs->recordResult(*ep, resp.status, false, steady_clock::now());
    releaseConnection(*cs, *ep, std::move(conn), reusable && ok && !timer.fired());
    co_return;
  }
}

// Phases 2-4: resolve the service, route, pick the destination; then forward().
awaitable<void> handleRequest(RequestContext& rc) {
  Worker& w = rc.w;
  const MeshSnapshot& snap = *rc.snap;
  http::RequestHead& head = rc.head;
  if (head.authority.empty()) {
    co_await reply(rc, 400, "DPE", "missing Host header\n");
    co_return;
  }
  if (head.path.empty() || head.path.front() != '/') {
    {
      std::string msg = fmt::format("unsupported request target '{}'\n", head.target);
      co_await reply(rc, 400, "DPE", msg);
    }
    co_return;
  }
  auto [host, authority_port] = splitAuthority(head.authority);
  RequestView rv;
  rv.method = head.method;
  rv.scheme = head.scheme.empty() ? std::string_view("http") : std::string_view(head.scheme);
  rv.authority = head.authority;
  rv.path = head.path;
  rv.headers = &head.headers;

  // Phase 2: resolve which service / virtual host this request is for.
  const VirtualHost* vhost = nullptr;
  const MeshService* service = nullptr;
  std::optional<tcp::endpoint> passthrough;
  if (rc.listener.gateway) {
    rv.port = rc.listener.gateway_port;
    const GatewayListener* gl = snap.findGatewayListener(rc.listener.gateway_port);
    if (gl == nullptr) {
      {
        std::string msg = fmt::format("no Gateway server on port {}\n", rv.port);
        co_await reply(rc, 404, "NR", msg);
      }
      co_return;
    }
    if (gl->https_redirect) {
      http::Headers loc;
      loc.add("location", fmt::format("https://{}{}", host, head.path));
      co_await reply(rc, 301, "-", "", &loc);
      co_return;
    }
    vhost = gl->routes.findVirtualHost(head.authority);
  } else {
    // Transparent listener: the port is the one the application dialled (Istio's listener
    // port), and the address it dialled stands in for Host where Host names no mesh service.
    const auto& dialled = rc.listener.original_dst;
    rv.port = dialled ? dialled->port() : authority_port != 0 ? authority_port : 80;
    // By name: any accepted host form of a mesh service, or a VirtualService host.
    service = snap.findService(head.authority);
    vhost = service != nullptr ? snap.meshVirtualHost(*service)
                               : snap.mesh_routes.findVirtualHost(head.authority);
    if (vhost == nullptr && dialled) {
      std::string ip = dialled->address().to_string();
      // A service VIP handed out by the sidecar's DNS (method 2 names, any mesh host).
      service = snap.findByVip(ip);
      // Reverse DNS (method 1): ip:port of a registry instance in the pod CIDRs.
      if (service == nullptr) service = snap.findByAddress(ip, dialled->port());
      if (service != nullptr) vhost = snap.meshVirtualHost(*service);
      if (vhost == nullptr) passthrough = *dialled;  // not ours: where the application wanted
    } else if (vhost == nullptr) {
      // By address (reverse DNS, method 1): ip:port of a registry instance in the pod CIDRs.
      service = snap.findByAddress(host, static_cast<uint16_t>(rv.port));
      if (service != nullptr) vhost = snap.meshVirtualHost(*service);
    }
    if (vhost == nullptr && !passthrough) {
      asio::error_code ec;
      auto ip = asio::ip::make_address(std::string(host), ec);
      if (ec || authority_port == 0) {
        {
          std::string msg = fmt::format("unknown service '{}': not a mesh service host, not a known "
                                   "instance address, and not an ip:port to pass through\n",
                                   head.authority);
          co_await reply(rc, 502, "NR", msg);
        }
        co_return;
      }
      passthrough = tcp::endpoint(ip, static_cast<uint16_t>(authority_port));
    }
  }
  // Method 2 (the seed's Nacos-subscribe EnvoyFilter): instance lists fetched through this
  // sidecar on the filter's port are rewritten in forward().
  rc.nacos_rewrite = !rc.listener.gateway && snap.nacosRewriteFor(rv.port) != nullptr &&
                     registry::nacos::isInstanceListRequest(head.method, head.path);
  if (passthrough) {
    static const Route kPassthroughRoute = [] {
      Route r;
      r.name = "passthrough";
      return r;
    }();
    WeightedCluster dest;
    dest.host = std::string(head.authority);
    rc.outcome.route_name = kPassthroughRoute.name;
    co_await forward(rc, kPassthroughRoute, nullptr, dest, w.passthroughState(*passthrough));
    co_return;
  }
  if (vhost == nullptr) {
    {
      std::string msg = fmt::format("no route for host '{}'\n", head.authority);
      co_await reply(rc, 404, "NR", msg);
    }
    co_return;
  }
  if (service != nullptr) rc.outcome.service = service->fqdn;

  // Phase 3: route. The first matching rule wins; none -> 404 (Envoy NR).
  const Route* route = nullptr;
  int block = -1;
  for (const auto& r : vhost->routes) {
    block = r.match(rv);
    if (block >= 0) {
      route = &r;
      break;
    }
  }
  if (route == nullptr) {
    {
      std::string msg = fmt::format("route not found for {}{}\n", head.authority,
                                              head.path);
      co_await reply(rc, 404, "NR", msg);
    }
    co_return;
  }
  rc.outcome.route_name = route->name;
  const MatchBlock* matched =
      block >= 0 && static_cast<size_t>(block) < route->matches.size() ? &route->matches[block]
                                                                       : nullptr;
  // CORS preflight is answered by the proxy when the origin is allowed.
  if (route->cors.enabled && head.method == "OPTIONS") {
    auto origin = head.headers.get("origin");
    if (origin && head.headers.has("access-control-request-method")) {
      if (route->cors.originAllowed(*origin)) {
        http::Headers h;
        h.add("access-control-allow-origin", *origin);
        if (!route->cors.allow_methods.empty()) {
          h.add("access-control-allow-methods", route->cors.allow_methods);
        }
        if (!route->cors.allow_headers.empty()) {
          h.add("access-control-allow-headers", route->cors.allow_headers);
        }
        if (!route->cors.max_age.empty()) h.add("access-control-max-age", route->cors.max_age);
        if (route->cors.allow_credentials.value_or(false)) {
          h.add("access-control-allow-credentials", "true");
        }
        co_await reply(rc, 200, "-", "", &h);
        co_return;
      }
      if (!route->cors.forward_unmatched_preflights) {
        co_await reply(rc, 200, "-", "");
        co_return;
      }
    }
  }
  switch (route->action) {
    case Route::Action::kRedirect: {
      http::Headers loc;
      loc.add("location", redirectLocation(route->redirect, matched, rv));
      co_await reply(rc, route->redirect.code, "-", "", &loc);
      co_return;
    }
    case Route::Action::kDirectResponse: {
      const auto& dr = route->direct_response;
      co_await reply(rc, dr.status, "-", dr.body ? std::string_view(*dr.body) : "");
      co_return;
    }
    case Route::Action::kRoute:
      break;
  }

  // Phase 4: weighted destination -> cluster (its state is pinned across the fault delay).
  uint64_t roll = route->total_weight > 1 ? w.rng()() % route->total_weight : 0;
  const WeightedCluster* dest = route->pickCluster(roll);
  if (dest == nullptr) {
    co_await reply(rc, 404, "NR", "route has no destination\n");
    co_return;
  }
  rc.outcome.service = dest->host;
  rc.outcome.subset = dest->subset;
  if (dest->cluster < 0) {
    {
      std::string msg = fmt::format("no cluster for {}{}: {}\n", dest->host,
                               subsetNote(dest->subset),
                               dest->missing);
      co_await reply(rc, 503, "NC", msg);
    }
    co_return;
  }
  ClusterState* cs = rc.snap == w.snapshot() ? &w.clusterState(dest->cluster)
                                             : w.clusterStateByName(snap.clusters[dest->cluster].name);
  if (cs == nullptr) {
    co_await reply(rc, 503, "NC", "cluster went away during a configuration update\n");
    co_return;
  }
  ++cs->pins;
  struct Unpin {
    ClusterState* cs;
    ~Unpin() { --cs->pins; }
  } unpin{cs};

  // Fault injection (abort first, then delay), each with its own percentage.
  const FaultPolicy& fault = route->fault;
  if (fault.abort_status > 0 && rollPercent(w, fault.abort_percent)) {
    co_await reply(rc, fault.abort_status, "FI", "fault filter abort\n");
    co_return;
  }
  if (fault.delay.count() > 0 && rollPercent(w, fault.delay_percent)) {
    asio::steady_timer t(w.io());
    t.expires_after(fault.delay);
    asio::error_code ec;
    co_await t.async_wait(withEc(ec));
    rc.outcome.flags = "DI";
  }
  const Cluster& cluster = snap.clusters[dest->cluster];
  if (cluster.original_destination && rc.listener.original_dst) {
    co_await forward(rc, *route, matched, *dest, w.passthroughState(*rc.listener.original_dst));
    co_return;
  }
  if (cluster.original_destination) {
    asio::error_code ec;
    auto ip = asio::ip::make_address(std::string(host), ec);
    if (ec) {
      {
        std::string msg = fmt::format("ServiceEntry {} has resolution NONE and '{}' is not an IP\n",
                                 cluster.host, host);
        co_await reply(rc, 502, "NR", msg);
      }
      co_return;
    }
    co_await forward(rc, *route, matched, *dest,
                     w.passthroughState(tcp::endpoint(ip, static_cast<uint16_t>(rv.port))));
    co_return;
  }
  co_await forward(rc, *route, matched, *dest, *cs);
}

}  // namespace

asio::awaitable<void> serveConnection(Worker& w, tcp::socket socket, ListenerContext listener,
                                      std::string received) {
  Downstream d(std::move(socket), w.options());
  if (!received.empty()) {
    auto room = d.in.prepare(received.size());
    std::memcpy(room.data(), received.data(), received.size());
    d.in.commit(received.size());
  }
  {
    asio::error_code ec;
    auto remote = d.socket.remote_endpoint(ec);
    d.peer_ip = ec ? std::string("-") : remote.address().to_string();
  }
  auto handle = w.addConnection([&d](bool force) {
    if (force || !d.in_request) {
      asio::error_code ignored;
      d.socket.close(ignored);
    } else {
      d.close_after = true;
    }
  });
  try {
    http::RequestHeadParser parser(w.options().limits);
    http::RequestHead head;
    for (;;) {
      // Phase 1: parse the next request head (pipelined bytes may already be buffered).
      http::HeadResult parsed;
      bool closed = false;
      for (;;) {
        parsed = parser.parse(d.in.view(), head);
        if (parsed.status != http::ParseStatus::kIncomplete) break;
        if (!d.in.empty() && d.watch.phase() == DownstreamWatch::Phase::kIdle) {
          d.watch.enter(DownstreamWatch::Phase::kHead);
        }
        asio::error_code ec;
        size_t n = co_await readMore(d.socket, d.in, ec);
        if (ec || n == 0) {
          closed = true;
          break;
        }
      }
      if (closed) {
        if (d.watch.tripped() && d.watch.phase() == DownstreamWatch::Phase::kHead) {
          ++w.stats().downstream_requests_total;
          co_await sendLocal(d, 408, "request headers not received in time\n", true);
          w.stats().record("unknown", "unknown", 408, 0);
        }
        break;
      }
      d.watch.enter(DownstreamWatch::Phase::kBusy);
      d.in_request = true;
      auto start = steady_clock::now();
      ++w.stats().downstream_requests_total;
      if (parsed.status == http::ParseStatus::kError) {
        std::string msg = parsed.error.reason + "\n";
        co_await sendLocal(d, parsed.error.status, msg, true);
        w.stats().record("unknown", "unknown", parsed.error.status, 0);
        break;
      }
      d.in.consume(parsed.consumed);
      RequestContext rc{w, d, listener, head, parsed, w.snapshot(), {}, {}};
      rc.keep_alive = parsed.keep_alive && !d.close_after && !w.draining();
      rc.body_consumed = parsed.framing.kind == http::BodyKind::kNone;
      co_await handleRequest(rc);
      double ms = std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
      w.stats().record(rc.outcome.service.empty() ? std::string_view("unknown") : rc.outcome.service,
                       rc.outcome.subset.empty() ? std::string_view("unknown") : rc.outcome.subset,
                       rc.outcome.status, ms);
      if (w.options().access_log) {
        if (!rc.original_target.empty()) std::swap(head.target, rc.original_target);
        accessLog(head, rc.outcome, ms);
      }
      d.in_request = false;
      if (!rc.keep_alive || d.close_after || w.draining()) break;
      d.watch.enter(DownstreamWatch::Phase::kIdle);
      d.in.shrinkIfIdle();
      d.upstream_in.shrinkIfIdle();
    }
  } catch (const std::exception& e) {
    SLUICE_LOG_ERROR("connection from {}: {}", d.peer_ip, e.what());
  }
  w.removeConnection(handle);
  asio::error_code ignored;
  d.socket.shutdown(tcp::socket::shutdown_both, ignored);
  d.socket.close(ignored);
}

}  // namespace sluice::proxy
