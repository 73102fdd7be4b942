#pragma once
// Byte relay between two connected sockets, used where the proxy stops speaking HTTP: TCP passed
// through by the transparent listener, and connections upgraded with 101 Switching Protocols
// (WebSocket). EOF on one side is passed on as a half-close (shutdown of sending) so protocols
// that finish writing before they finish reading keep working; an error on either side closes
// both.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

namespace sluice::proxy {

// Copies a -> b and b -> a until both directions ended. Never throws.
asio::awaitable<void> relayBothWays(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b);

// Copies from -> to until `from` ends (EOF passed on as a half-close). On a failure of either
// side both sockets are closed and the result is false.
asio::awaitable<bool> relayOneWay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to);

}  // namespace sluice::proxy
