#include "proxy/tcp_relay.h"

#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace sluice::proxy {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {
auto withEc(asio::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }
}  // namespace

awaitable<bool> relayOneWay(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buf;
  bool failed = false;
  for (;;) {
    asio::error_code ec;
    size_t n = co_await from.async_read_some(asio::buffer(buf), withEc(ec));
    if (n > 0) {
      asio::error_code wec;
      co_await asio::async_write(to, asio::buffer(buf.data(), n), withEc(wec));
      if (wec) {
        failed = true;
        break;
      }
    }
    if (ec) {
      if (ec != asio::error::eof) failed = true;
      break;
    }
  }
  asio::error_code ignored;
  if (failed) {
    // A reset on one side ends both directions.
    from.close(ignored);
    to.close(ignored);
  } else {
    to.shutdown(tcp::socket::shutdown_send, ignored);  // half-close travels on
  }
  co_return !failed;
}

awaitable<void> relayBothWays(tcp::socket& a, tcp::socket& b) {
  // A failure in one direction closes both sockets, which ends the other direction too.
  co_await (relayOneWay(a, b) && relayOneWay(b, a));
}

}  // namespace sluice::proxy
