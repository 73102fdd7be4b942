#pragma once
// Byte relay between two connected sockets, used where the proxy stops speaking HTTP: TCP passed
// through by the transparent listener, and connections upgraded with 101 Switching Protocols
// (WebSocket). EOF on one side is passed on as a half-close (shutdown of sending) so protocols
// that finish writing before they finish reading keep working; an error on either side closes
// both.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <functional>

#include "net/stream_interception.h"

namespace sluice::proxy {

// Copies a -> b and b -> a until both directions ended. Never throws.
asio::awaitable<void> relayBothWays(asio::ip::tcp::socket& a, asio::ip::tcp::socket& b);

// Copies from -> to until `from` ends (EOF passed on as a half-close). On a failure of either
// side both sockets are closed and the result is false.
asio::awaitable<bool> relayOneWay(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to);

// Registry interception over TCP (method 2 for ZooKeeper): like relayBothWays, with every
// client -> server byte shown to `rewriter` before it is forwarded unchanged, and the server ->
// client bytes forwarded as the rewriter returns them (what it held back is flushed, unchanged,
// when the server's side ends). Once the rewriter is in passthrough, bytes go straight through.
// `progress` (may be empty) runs after each piece either way was handed to the rewriter, on the
// relay's thread: the caller's live counters and log.
asio::awaitable<void> relayRewriting(asio::ip::tcp::socket& client, asio::ip::tcp::socket& server,
                                     net::StreamRewriter& rewriter,
                                     const std::function<void()>& progress);

// The server -> client half of relayRewriting alone (the client already finished sending).
asio::awaitable<bool> relayServerRewriting(asio::ip::tcp::socket& server,
                                           asio::ip::tcp::socket& client,
                                           net::StreamRewriter& rewriter,
                                           const std::function<void()>& progress);

}  // namespace sluice::proxy
