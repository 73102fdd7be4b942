#include "proxy/downstream_io.h"

#include <fmt/format.h>

#include <array>
#include <asio/write.hpp>

#include "proxy/socket_timer.h"

namespace sluice::proxy {

using asio::awaitable;
using asio::ip::tcp;
using std::chrono::steady_clock;

namespace {

// Freed kReadChunk buffers of this thread, kept for the next Buffer that needs one: at a fixed
// request rate every request took two 16 KiB blocks from malloc and gave them back (about 3 % of
// the proxy's CPU in a profile). Bounded, so a burst of connections does not pin memory. The list
// itself is trivially destructible, so a Buffer destroyed late in the thread's (or the process's)
// exit still finds it; the reaper frees what it holds when the thread ends and closes it.
struct ChunkList {
  std::array<char*, kMaxCachedReadChunks> chunks{};
  size_t count = 0;
  bool closed = false;
};
constinit thread_local ChunkList tl_chunks;

struct ChunkListReaper {
  ~ChunkListReaper() {
    for (size_t i = 0; i < tl_chunks.count; ++i) delete[] tl_chunks.chunks[i];
    tl_chunks.count = 0;
    tl_chunks.closed = true;
  }
};

std::unique_ptr<char[]> takeChunk() {
  if (tl_chunks.count == 0) return std::make_unique_for_overwrite<char[]>(kReadChunk);
  return std::unique_ptr<char[]>(tl_chunks.chunks[--tl_chunks.count]);
}

void giveChunk(std::unique_ptr<char[]> chunk) {
  thread_local ChunkListReaper reaper;  // constructed on first use: its destructor runs at exit
  (void)reaper;
  if (tl_chunks.closed || tl_chunks.count == kMaxCachedReadChunks) return;  // `chunk` frees it
  tl_chunks.chunks[tl_chunks.count++] = chunk.release();
}

}  // namespace

asio::mutable_buffer Buffer::prepare(size_t n) {
  if (cap_ - end_ < n) {
    size_t used = end_ - start_;
    if (start_ > 0 && cap_ - used >= n) {
      std::memmove(data_.get(), data_.get() + start_, used);
    } else {
      size_t cap = std::max(cap_ * 2, used + n);
      // Never make_unique<char[]>: it zero-fills, at every allocation.
      auto grown = cap == kReadChunk ? takeChunk() : std::make_unique_for_overwrite<char[]>(cap);
      if (used > 0) std::memcpy(grown.get(), data_.get() + start_, used);
      release();
      data_ = std::move(grown);
      cap_ = cap;
    }
    start_ = 0;
    end_ = used;
  }
  return asio::buffer(data_.get() + end_, cap_ - end_);
}

void Buffer::release() {
  if (cap_ == kReadChunk) {
    giveChunk(std::move(data_));
  } else {
    data_.reset();
  }
  cap_ = 0;
  start_ = end_ = 0;
}

void Buffer::shrinkIfIdle() {
  if (empty() && cap_ > 4 * kReadChunk) release();
}

awaitable<void> awaitRequestBytes(Downstream& d, asio::error_code& ec) {
  if (!d.in.empty()) co_return;
  // No probe for bytes that arrived already (FIONREAD: one more system call per request): asio's
  // epoll reactor starts every readiness wait with EPOLL_CTL_MOD, and the kernel reports a socket
  // that is readable at that moment as a new event, so such bytes end the wait at once.
  d.releaseIdleBuffers();
  if (d.idle_list != nullptr) d.idle_list->add(d.idle);
  co_await d.socket.async_wait(ByteStream::wait_type::wait_read, withEc(ec));
  d.idle.unlink();
}

DownstreamWatch::DownstreamWatch(ByteStream& socket, const ProxyOptions& options)
    : socket_(socket), timer_(socket.get_executor()), state_(std::make_shared<State>()) {
  state_->limits = {options.idle_timeout, options.request_headers_timeout};
  enter(Phase::kIdle);
  arm(steady_clock::now());
}

DownstreamWatch::~DownstreamWatch() {
  state_->alive = false;
  timer_.cancel();
}

std::optional<steady_clock::time_point> DownstreamWatch::deadline(const State& s) {
  if (s.phase == Phase::kBusy) return std::nullopt;
  auto limit = s.limits[static_cast<size_t>(s.phase)];
  if (limit.count() <= 0) return std::nullopt;
  return s.since + limit;
}

void DownstreamWatch::arm(steady_clock::time_point now) {
  auto d = deadline(*state_);
  // While busy (or without a limit) check back after the shortest limit.
  auto orHour = [](std::chrono::milliseconds limit) {
    return limit.count() > 0 ? limit : std::chrono::milliseconds(std::chrono::hours(1));
  };
  auto shortest = std::min(orHour(state_->limits[0]), orHour(state_->limits[1]));
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

namespace {

awaitable<bool> writeReply(Downstream& d, int status, std::string_view body, bool close,
                           const http::Headers* extra) {
  std::string& out = d.x.out;
  out.clear();
  auto it = std::back_inserter(out);
  fmt::format_to(it, "HTTP/1.1 {} {}\r\n", status, http::reasonPhrase(status));
  if (extra != nullptr) {
    for (const auto& [k, v] : extra->entries()) fmt::format_to(it, "{}: {}\r\n", k, v);
  }
  if (!body.empty()) out += "content-type: text/plain\r\n";
  fmt::format_to(it, "content-length: {}\r\nserver: sluice\r\n", body.size());
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(out), asio::buffer(body)};
  asio::error_code ec;
  co_await asio::async_write(d.socket, bufs, withEc(ec));
  if (close && !ec) d.linger = true;
  co_return !ec;
}

}  // namespace

awaitable<bool> writeLocalReply(Downstream& d, const LocalReply& reply, bool close) {
  return writeReply(d, reply.status, reply.body, close, &reply.headers);
}

awaitable<bool> writeLocalReply(Downstream& d, int status, std::string_view body, bool close) {
  return writeReply(d, status, body, close, nullptr);
}

awaitable<void> lingerBeforeClose(Downstream& d) {
  constexpr size_t kMaxDrained = 1 << 20;
  constexpr auto kMaxLinger = std::chrono::seconds(2);
  asio::error_code ec;
  d.socket.shutdown(ByteStream::shutdown_type::shutdown_send, ec);
  if (ec) co_return;
  SocketTimer timer(d.socket.get_executor());
  timer.arm(steady_clock::now() + kMaxLinger, d.socket, SocketTimer::Expiry::kCancel);
  // In the coroutine frame: allocated only for a connection that is closing.
  std::array<char, 4096> dropped;
  size_t total = 0;
  while (total < kMaxDrained) {
    size_t n = co_await d.socket.async_read_some(asio::buffer(dropped), withEc(ec));
    if (ec || n == 0) break;
    total += n;
  }
  timer.disarm();
}

}  // namespace sluice::proxy
