#pragma once
// Whether the client end of a connection that came in on one of our listeners is a socket of this
// very process. A sidecar's own registry session that cannot carry the exempting socket mark
// (the ZooKeeper C client opens its sockets itself) is redirected to the sidecar's transparent
// listener like the application's; registry interception must leave that one alone, or the
// sidecar would read its own registry rewritten.
//
// Linux only: the client socket is found in /proc/net/tcp{,6} by its local address (the peer of
// the accepted socket, in the same network namespace) and looked for among /proc/self/fd. Blocking
// file reads, O(sockets in the namespace + open fds): for the rare connections that need to know
// (connections to an intercepted registry port), not for every connection.

#include <cstdint>
#include <string>

namespace sluice::net {

// `ip` is the peer address of an accepted connection (dotted IPv4 or IPv6 text), `port` its port.
// False when the socket is not found or belongs to another process.
bool peerSocketIsOurs(const std::string& ip, uint16_t port);

}  // namespace sluice::net
