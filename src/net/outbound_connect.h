#pragma once
// Connecting out from the sidecar: every socket is opened, marked (net/socket_mark.h) and only
// then connected, so the interception rules let it through. asio's range connect reopens the
// socket for each address (dropping any option set before), hence this loop of our own.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdint>
#include <string>

#include "net/socket_mark.h"

namespace sluice::net {

// Opens `socket` for `endpoint`'s protocol, marks it, connects. On error the socket is closed.
inline asio::awaitable<asio::error_code> connectOutbound(asio::ip::tcp::socket& socket,
                                                         const asio::ip::tcp::endpoint& endpoint) {
  asio::error_code ec;
  if (socket.is_open()) socket.close(ec);
  ec.clear();
  socket.open(endpoint.protocol(), ec);
  if (ec) co_return ec;
  if (!markOutboundSocket(socket.native_handle())) {
    socket.close(ec);
    co_return asio::error::access_denied;
  }
  co_await socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    asio::error_code ignored;
    socket.close(ignored);
  }
  co_return ec;
}

// Tries each resolved address in turn (what asio::async_connect does with a range).
template <typename Range>
asio::awaitable<asio::error_code> connectOutbound(asio::ip::tcp::socket& socket,
                                                  const Range& endpoints) {
  asio::error_code ec = asio::error::host_not_found;
  for (const auto& entry : endpoints) {
    ec = co_await connectOutbound(socket, entry.endpoint());
    if (!ec || ec == asio::error::operation_aborted) break;
  }
  co_return ec;
}

// `host` is an IP literal or a DNS name (resolved here, each address tried in turn).
inline asio::awaitable<asio::error_code> connectOutbound(asio::ip::tcp::socket& socket,
                                                         const std::string& host, uint16_t port) {
  asio::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) co_return co_await connectOutbound(socket, asio::ip::tcp::endpoint(ip, port));
  asio::ip::tcp::resolver resolver(socket.get_executor());
  ec.clear();
  auto results = co_await resolver.async_resolve(host, std::to_string(port),
                                                 asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return ec;
  co_return co_await connectOutbound(socket, results);
}

}  // namespace sluice::net
