#include "net/own_socket.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>

namespace sluice::net {
namespace {

using asio::ip::tcp;

TEST(OwnSocket, ConnectionsOfThisProcessAreRecognisedAlsoFromDualStackSockets) {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto port = acceptor.local_endpoint().port();

  tcp::socket v4(io);
  v4.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  tcp::socket accepted = acceptor.accept();
  EXPECT_TRUE(isOwnSocket(accepted.remote_endpoint()));

  // grpc++ style: an AF_INET6 socket connected to the v4-mapped address.
  tcp::socket v6(io);
  v6.connect(tcp::endpoint(asio::ip::make_address("::ffff:127.0.0.1"), port));
  tcp::socket accepted6 = acceptor.accept();
  ASSERT_TRUE(accepted6.remote_endpoint().address().is_v4());
  EXPECT_TRUE(isOwnSocket(accepted6.remote_endpoint()));

  // Nobody's socket.
  EXPECT_FALSE(isOwnSocket(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 1)));
}

TEST(OwnSocket, AConnectionFromAnotherProcessIsNotOurs) {
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
  EXPECT_FALSE(isOwnSocket(accepted.remote_endpoint()));
  close(ready[1]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST(OwnSocket, IPv6) {
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
  EXPECT_TRUE(isOwnSocket(accepted.remote_endpoint()));
}

}  // namespace
}  // namespace sluice::net
