#include "net/own_socket.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sluice::net
