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

awaitable<void> relayOneWay(tcp::socket& from, tcp::socket& to, bool& failed) {
  std::array<char, 16 * 1024> buf;
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
}

awaitable<void> relayBothWays(tcp::socket& a, tcp::socket& b) {
  bool failed = false;
  co_await (relayOneWay(a, b, failed) && relayOneWay(b, a, failed));
}

}  // namespace sluice::proxy
