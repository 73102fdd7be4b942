#pragma once
// The sidecar's transparent listener: connections redirected to it by the interception rules
// (`sluice init-netfilter`, iptables REDIRECT). For each connection:
//   1. original destination: SO_ORIGINAL_DST (what the application dialled);
//   2. protocol: the first bytes are sniffed (proxy/protocol_sniffer.h). HTTP/1.x goes to the
//      connection manager, which routes each request (by Host, then by the original
//      destination: service VIP, reverse DNS of a registry instance, else passthrough to it);
//   3. anything else is relayed byte for byte as TCP: to an endpoint of the service when the
//      original destination is a service VIP, otherwise to the original destination itself.
// A client that sends nothing (server-speaks-first protocols: MySQL, SMTP, SSH...) is taken as
// TCP after a short wait, except towards a known mesh HTTP destination, where the client is given
// longer to speak first.
// Inbound listeners (ListenerContext::inbound) skip all of this: the connection was redirected
// on its way into the pod and is relayed to its original destination, the local application.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <optional>

#include "core/result.h"
#include "proxy/worker.h"

namespace sluice::proxy {

inline constexpr std::chrono::milliseconds kServerFirstWait{100};
inline constexpr std::chrono::milliseconds kMeshClientFirstWait{10'000};
inline constexpr std::chrono::milliseconds kSniffLimit{10'000};
inline constexpr std::chrono::milliseconds kTcpConnectTimeout{10'000};

// The destination the client dialled before REDIRECT rewrote it. For a connection that was not
// redirected this is the socket's own local address (the caller compares).
Result<asio::ip::tcp::endpoint> originalDestination(asio::ip::tcp::socket& socket);

// Serves one connection accepted on a transparent listener. Never throws.
asio::awaitable<void> serveTransparent(Worker& worker, asio::ip::tcp::socket socket,
                                       ListenerContext listener);

}  // namespace sluice::proxy
