// The TCP relay with a stream rewriter (registry interception over TCP): real loopback sockets,
// one io_context, a rewriter test double.
#include "proxy/tcp_relay.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <functional>
#include <string>
#include <thread>
#include <utility>

namespace sluice::proxy {
namespace {

using asio::ip::tcp;

// Rewrites every 'a' of the server's bytes to 'b' and holds back a trailing '+' until more comes
// (an incomplete frame); a client '!' makes it give up. Records what the client sent.
class FakeRewriter final : public net::StreamRewriter {
 public:
  void fromClient(std::string_view bytes) override {
    client += bytes;
    if (bytes.find('!') != std::string_view::npos) gave_up = true;
  }
  std::string_view fromServer(std::string_view bytes, std::string& scratch) override {
    if (gave_up && held.empty()) return bytes;
    std::string all = held + std::string(bytes);
    held.clear();
    if (!gave_up && !all.empty() && all.back() == '+') {
      held = "+";
      all.pop_back();
    }
    if (!gave_up) {
      for (char& c : all) {
        if (c == 'a') {
          c = 'b';
          ++count;
        }
      }
    }
    scratch = all;
    return scratch;
  }
  std::string flushServer() override { return std::exchange(held, {}); }
  bool passthrough() const override { return gave_up; }
  int rewritten() const override { return count; }

  std::string client;
  std::string held;
  bool gave_up = false;
  int count = 0;
};

// A connected pair of sockets on loopback.
std::pair<tcp::socket, tcp::socket> socketPair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket a(io);
  a.connect(acceptor.local_endpoint());
  tcp::socket b = acceptor.accept();
  return {std::move(a), std::move(b)};
}

std::string readAll(tcp::socket& s) {
  std::string out;
  asio::error_code ec;
  char buf[256];
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

TEST(TcpRelayRewriting, ClientBytesObservedAndForwardedServerBytesRewrittenHeldBytesFlushed) {
  asio::io_context io;
  // app <-> [client_side | relay | server_side] <-> registry
  auto [app, client_side] = socketPair(io);
  auto [server_side, registry] = socketPair(io);
  FakeRewriter rw;
  int progress = 0;
  std::function<void()> on_progress = [&progress] { ++progress; };
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await relayRewriting(client_side, server_side, rw, on_progress);
        done = true;
      },
      asio::detached);
  asio::write(app, asio::buffer(std::string("hello")));
  app.shutdown(tcp::socket::shutdown_send);
  asio::write(registry, asio::buffer(std::string("banana+")));
  registry.shutdown(tcp::socket::shutdown_send);
  io.run();
  EXPECT_TRUE(done);
  EXPECT_EQ(rw.client, "hello");
  EXPECT_EQ(readAll(registry), "hello");
  // Rewritten, and the held '+' still reached the app when the registry's side ended.
  EXPECT_EQ(readAll(app), "bbnbnb+");
  EXPECT_EQ(rw.rewritten(), 3);
  EXPECT_GT(progress, 0);
}

TEST(TcpRelayRewriting, PassthroughForwardsTheRestAsItCame) {
  asio::io_context io;
  auto [app, client_side] = socketPair(io);
  auto [server_side, registry] = socketPair(io);
  FakeRewriter rw;
  std::function<void()> none;
  asio::co_spawn(io, relayRewriting(client_side, server_side, rw, none), asio::detached);
  std::thread relay([&io] { io.run(); });
  asio::write(app, asio::buffer(std::string("?!")));
  app.shutdown(tcp::socket::shutdown_send);
  // Forwarded only after the rewriter saw it: the server's answer comes after the give-up.
  std::string got(2, '\0');
  asio::read(registry, asio::buffer(got));
  EXPECT_EQ(got, "?!");
  asio::write(registry, asio::buffer(std::string("aaa")));
  registry.shutdown(tcp::socket::shutdown_send);
  relay.join();
  EXPECT_TRUE(rw.passthrough());
  EXPECT_EQ(readAll(app), "aaa");
}

TEST(TcpRelayRewriting, ServerHalfAloneAfterTheClientFinished) {
  asio::io_context io;
  auto [server_side, registry] = socketPair(io);
  auto [app, client_side] = socketPair(io);
  FakeRewriter rw;
  bool ok = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        ok = co_await relayServerRewriting(server_side, client_side, rw, nullptr);
      },
      asio::detached);
  asio::write(registry, asio::buffer(std::string("data")));
  registry.shutdown(tcp::socket::shutdown_send);
  io.run();
  EXPECT_TRUE(ok);
  EXPECT_EQ(readAll(app), "dbtb");
}

}  // namespace
}  // namespace sluice::proxy
