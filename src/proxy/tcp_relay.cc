#include "proxy/tcp_relay.h"

#include <array>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <string>
#include <string_view>

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

namespace {

// Writes all of `bytes`; false when the socket failed.
awaitable<bool> writeAll(tcp::socket& to, std::string_view bytes) {
  asio::error_code ec;
  co_await asio::async_write(to, asio::buffer(bytes.data(), bytes.size()), withEc(ec));
  co_return !ec;
}

// Where a relay direction stopped: the side that failed (or both) is closed, else the half-close
// travels on.
void finish(tcp::socket& from, tcp::socket& to, bool failed) {
  asio::error_code ignored;
  if (failed) {
    from.close(ignored);
    to.close(ignored);
  } else {
    to.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

awaitable<bool> relayClientObserved(tcp::socket& client, tcp::socket& server,
                                    net::StreamRewriter& rewriter,
                                    const std::function<void()>& progress) {
  std::array<char, 16 * 1024> buf;
  bool failed = false;
  for (;;) {
    asio::error_code ec;
    size_t n = co_await client.async_read_some(asio::buffer(buf), withEc(ec));
    if (n > 0) {
      // Seen before the server can answer it: replies are matched with their requests.
      rewriter.fromClient(std::string_view(buf.data(), n));
      if (progress) progress();
      if (!co_await writeAll(server, std::string_view(buf.data(), n))) {
        failed = true;
        break;
      }
    }
    if (ec) {
      if (ec != asio::error::eof) failed = true;
      break;
    }
  }
  finish(client, server, failed);
  co_return !failed;
}

}  // namespace

awaitable<bool> relayServerRewriting(tcp::socket& server, tcp::socket& client,
                                     net::StreamRewriter& rewriter,
                                     const std::function<void()>& progress) {
  std::array<char, 16 * 1024> buf;
  std::string scratch;
  bool failed = false;
  for (;;) {
    asio::error_code ec;
    size_t n = co_await server.async_read_some(asio::buffer(buf), withEc(ec));
    std::string_view out = rewriter.fromServer(std::string_view(buf.data(), n), scratch);
    std::string last;
    if (ec) {
      // Held back bytes (an incomplete frame) still reach the client, as they came.
      last.assign(out);
      last += rewriter.flushServer();
      out = last;
    }
    if (progress) progress();
    if (!out.empty() && !co_await writeAll(client, out)) {
      failed = true;
      break;
    }
    if (ec) {
      if (ec != asio::error::eof) failed = true;
      break;
    }
  }
  finish(server, client, failed);
  co_return !failed;
}

awaitable<void> relayRewriting(tcp::socket& client, tcp::socket& server,
                               net::StreamRewriter& rewriter,
                               const std::function<void()>& progress) {
  co_await (relayClientObserved(client, server, rewriter, progress) &&
            relayServerRewriting(server, client, rewriter, progress));
}

awaitable<void> relayBothWays(tcp::socket& a, tcp::socket& b) {
  // A failure in one direction closes both sockets, which ends the other direction too.
  co_await (relayOneWay(a, b) && relayOneWay(b, a));
}

}  // namespace sluice::proxy
