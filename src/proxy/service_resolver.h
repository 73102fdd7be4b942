#pragma once
// Service resolution: which mesh service (and so which virtual host of routes) a request or a
// redirected connection is for. ONE resolver, used by the connection manager for every HTTP
// request and by the transparent listener for connections it has not yet read from.
//
// A request, in order:
//   gateway listener  the Gateway server's route table for the listener's configured port
//                     (no server -> 404 NR; an HTTPS-redirect server -> 301);
//   by name           Host / absolute-URI authority in any accepted host form of a mesh service
//                     (MeshSnapshot::findService), else a VirtualService host of the mesh table;
//   by dialled address (transparent listener) a service VIP, then reverse DNS of the address;
//                     neither -> passthrough to where the application dialled;
//   by address        (explicit proxy) reverse DNS of the authority's ip:port (method 1);
//   passthrough       a literal ip:port authority outside the mesh; else 502 NR.
//
// Pure function of the snapshot and the request: no I/O, any thread that holds the snapshot.

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <optional>

#include "http/message.h"
#include "proxy/local_reply.h"
#include "proxy/snapshot.h"

namespace sluice::proxy {

struct ListenerContext;

// A dialled address that belongs to a mesh service.
struct DialledService {
  enum class Via : uint8_t { kVip, kReverseDns };
  const MeshService* service = nullptr;
  Via via = Via::kVip;
};

// The service a connection's original destination belongs to: a service VIP (or ServiceEntry
// address), else a registry instance known to reverse DNS; nullopt when neither.
std::optional<DialledService> resolveDialled(const MeshSnapshot& snapshot,
                                             const asio::ip::tcp::endpoint& dialled);

struct Resolution {
  const VirtualHost* vhost = nullptr;
  const MeshService* service = nullptr;                // when resolved to a mesh service
  std::optional<asio::ip::tcp::endpoint> passthrough;  // not the mesh's: forward there
  uint32_t port = 0;                                   // the destination port routes match on
  std::optional<LocalReply> reply;                     // resolution ends the request here
};

Resolution resolveRequest(const MeshSnapshot& snapshot, const ListenerContext& listener,
                          const http::RequestHead& head);

}  // namespace sluice::proxy
