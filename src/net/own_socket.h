#pragma once
// Whether a connection redirected to this process's own listener was opened by this process: the
// interception rules exempt the sidecar's sockets by their mark (socket_mark.h), but libraries
// that create their own sockets (the ZooKeeper C client) cannot be marked, and with no mark set
// (no --upstream-mark) none is, so those connections come back to the transparent listener like
// the application's. (The Nacos gRPC watcher's socket is its own and marked since it left
// grpc++.)
// Where that matters (method 2 must not rewrite what the sidecar itself reads from the registry)
// the listener asks here. Linux only: the peer's socket is looked up in /proc/net/tcp{,6} of the
// current network namespace and its inode among /proc/self/fd. Blocking file reads, cheap;
// callers use it for rare connections only (to an intercepted registry port), never per request.

#include <asio/ip/tcp.hpp>

namespace sluice::net {

// True when `peer` (the remote end of an accepted connection) is a socket of this process.
bool isOwnSocket(const asio::ip::tcp::endpoint& peer);

}  // namespace sluice::net
