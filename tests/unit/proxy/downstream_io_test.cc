// The downstream connection's wait for request bytes (proxy/downstream_io.h awaitRequestBytes)
// over real loopback sockets: bytes that arrived before the wait began end it (there is no probe
// for them any more, the reactor's re-arm must report them), bytes that arrive during the wait
// end it, buffered bytes end it without touching the socket, and a closed peer ends it too.
#include "proxy/downstream_io.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

using asio::ip::tcp;

// A connected loopback pair: `near` is the proxy's downstream socket, `far` is the client.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : near(io), far(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    far.connect(acceptor.local_endpoint());
    near = acceptor.accept();
  }
  tcp::socket near;
  tcp::socket far;
};

// Bounded: waits until `s` has `n` bytes in its receive queue (loopback delivery is prompt, but
// the test must not depend on when).
bool waitReadable(tcp::socket& s, size_t n) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < until) {
    if (s.available() >= n) return true;
  }
  return false;
}

// Starts awaitRequestBytes on `d`; `out` is set when it returns.
void spawnWait(asio::io_context& io, Downstream& d, std::optional<asio::error_code>& out) {
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::error_code ec;
        co_await awaitRequestBytes(d, ec);
        out = ec;
        io.stop();  // the connection's deadline watch keeps the io_context busy
      },
      asio::detached);
}

// Runs awaitRequestBytes on `d` until it returns or 5 s pass; nullopt when it did not return.
std::optional<asio::error_code> runWait(asio::io_context& io, Downstream& d) {
  std::optional<asio::error_code> out;
  spawnWait(io, d, out);
  io.run_for(std::chrono::seconds(5));
  return out;
}

TEST(AwaitRequestBytes, BytesThatArrivedBeforeTheWaitEndIt) {
  asio::io_context io;
  SocketPair pair(io);
  ProxyOptions options;
  Downstream d(std::move(pair.near), options);
  asio::write(pair.far, asio::buffer(std::string_view("GET / HTTP/1.1\r\n")));
  ASSERT_TRUE(waitReadable(d.socket.socket(), 16));
  auto ec = runWait(io, d);
  ASSERT_TRUE(ec.has_value()) << "the wait did not see bytes that were already there";
  EXPECT_FALSE(*ec) << ec->message();
  EXPECT_TRUE(d.in.empty());  // a readiness wait: the bytes are still on the socket
  EXPECT_EQ(d.socket.socket().available(), 16u);
}

TEST(AwaitRequestBytes, BytesThatArriveDuringTheWaitEndIt) {
  asio::io_context io;
  SocketPair pair(io);
  ProxyOptions options;
  Downstream d(std::move(pair.near), options);
  bool sent = false;
  std::optional<asio::error_code> ec;
  spawnWait(io, d, ec);
  // Spawned second: it runs after the wait is queued on the socket.
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::error_code ec;
        co_await asio::async_write(pair.far, asio::buffer(std::string_view("G")), withEc(ec));
        sent = !ec;
      },
      asio::detached);
  io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec) << ec->message();
  EXPECT_TRUE(sent);
  EXPECT_EQ(d.socket.socket().available(), 1u);
}

TEST(AwaitRequestBytes, BufferedBytesEndItWithoutReleasingThem) {
  asio::io_context io;
  SocketPair pair(io);
  ProxyOptions options;
  Downstream d(std::move(pair.near), options);
  d.in.append("GET / HTTP/1.1\r\n");  // pipelined behind the previous request
  auto ec = runWait(io, d);
  ASSERT_TRUE(ec.has_value());
  EXPECT_FALSE(*ec);
  EXPECT_EQ(d.in.view(), "GET / HTTP/1.1\r\n");
}

TEST(AwaitRequestBytes, APeerThatClosesEndsItAndTheReadSeesTheEnd) {
  asio::io_context io;
  SocketPair pair(io);
  ProxyOptions options;
  Downstream d(std::move(pair.near), options);
  pair.far.shutdown(tcp::socket::shutdown_send);
  auto ec = runWait(io, d);
  ASSERT_TRUE(ec.has_value()) << "the wait did not see the peer's FIN";
  asio::error_code read_ec;
  std::optional<size_t> n;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        n = co_await readMore(d.socket, d.in, read_ec);
        io.stop();
      },
      asio::detached);
  io.restart();
  io.run_for(std::chrono::seconds(5));
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(read_ec, asio::error::eof);
}

TEST(ReadBuffer, GrowsKeepsUnconsumedBytesAndReleasesWhenEmpty) {
  Buffer b;
  b.append("hello ");
  b.consume(2);
  b.append(std::string(3 * kReadChunk, 'x'));  // grows past one chunk, keeping "llo "
  EXPECT_EQ(b.size(), 4 + 3 * kReadChunk);
  EXPECT_EQ(b.view().substr(0, 4), "llo ");
  b.releaseIfEmpty();  // not empty: kept
  EXPECT_EQ(b.size(), 4 + 3 * kReadChunk);
  b.consume(b.size());
  b.releaseIfEmpty();
  EXPECT_TRUE(b.empty());
  b.append("again");
  EXPECT_EQ(b.view(), "again");
}

// Where a Buffer's storage starts (view() of an empty buffer points there).
const char* storageOf(const Buffer& b) { return b.view().data(); }

TEST(ReadBuffer, AReleasedChunkIsReusedByTheNextBufferOfTheThread) {
  Buffer a;
  a.prepare(kReadChunk);
  const char* first = storageOf(a);
  a.releaseIfEmpty();
  Buffer b;
  b.prepare(kReadChunk);
  EXPECT_EQ(storageOf(b), first);
}

TEST(ReadBuffer, UpToTheCacheSizeReleasedChunksAreKeptForReuse) {
  std::vector<Buffer> held(kMaxCachedReadChunks + 2);
  std::set<const char*> released;
  for (Buffer& b : held) {
    b.prepare(kReadChunk);
    released.insert(storageOf(b));
  }
  for (Buffer& b : held) b.releaseIfEmpty();
  std::vector<Buffer> again(kMaxCachedReadChunks + 2);
  size_t reused = 0;
  for (Buffer& b : again) {
    b.prepare(kReadChunk);
    reused += released.count(storageOf(b));
  }
  // The cache's worth came from it; the other 2 are fresh blocks (malloc may hand back a block
  // freed a moment ago, so the count is bounded below, not exact).
  EXPECT_GE(reused, kMaxCachedReadChunks);
  for (Buffer& b : again) b.releaseIfEmpty();
}

}  // namespace
}  // namespace sluice::proxy
