#include "net/socket_owner.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace sluice::net {
namespace {

using asio::ip::tcp;

TEST(PeerSocketIsOurs, AConnectionFromThisProcess) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  auto peer = accepted.remote_endpoint();
  EXPECT_TRUE(peerSocketIsOurs(peer.address().to_string(), peer.port()));
  // The accepted socket's own address is a socket of ours too, but no client's.
  EXPECT_FALSE(peerSocketIsOurs("127.0.0.1", 1));
  EXPECT_FALSE(peerSocketIsOurs("not an address", peer.port()));
}

TEST(PeerSocketIsOurs, AConnectionFromAnotherProcess) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = acceptor.local_endpoint().port();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Connects, then waits until the parent closes the pipe.
    asio::io_context child_io;
    tcp::socket s(child_io);
    asio::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    char c;
    close(ready[1]);
    (void)!read(ready[0], &c, 1);
    _exit(ec ? 1 : 0);
  }
  close(ready[0]);
  tcp::socket accepted = acceptor.accept();
  auto peer = accepted.remote_endpoint();
  EXPECT_FALSE(peerSocketIsOurs(peer.address().to_string(), peer.port()));
  close(ready[1]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(PeerSocketIsOurs, IPv6) {
  asio::io_context io;
  asio::error_code ec;
  tcp::acceptor acceptor(io);
  acceptor.open(tcp::v6(), ec);
  if (!ec) acceptor.bind(tcp::endpoint(asio::ip::make_address("::1"), 0), ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback: " << ec.message();
  acceptor.listen();
  tcp::socket client(io);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted = acceptor.accept();
  auto peer = accepted.remote_endpoint();
  EXPECT_TRUE(peerSocketIsOurs(peer.address().to_string(), peer.port()));
}

}  // namespace
}  // namespace sluice::net
