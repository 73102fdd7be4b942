#pragma once
// The HTTP connection manager: one coroutine per downstream connection, running on its worker's
// io_context. The whole request path reads top to bottom in connection_manager.cc, in these
// phases (each a named step there):
//
//   1. parse      strict HTTP/1.1 head (http/codec.h); malformed -> 400 (or 413/414/431) + close
//   2. resolve    which mesh service: by name (Host / absolute-URI authority in any accepted
//                 form), by address (reverse DNS: ip:port of a registry instance in the pod
//                 CIDRs), else passthrough to a literal ip:port, else 502 (sidecar); on the
//                 transparent listener the dialled address stands in for the literal one (a
//                 service VIP, a registry instance, else passthrough to it, pooled); gateway
//                 mode uses the Gateway server's route table for the listener port
//   3. route      first matching VirtualService rule (404 NR when none); redirect,
//                 directResponse, fault (abort/delay), CORS preflight are answered here
//   4. pick       weighted destination -> cluster (503 NC for an undefined host/subset) ->
//                 endpoint by the cluster's load balancer (503 UH "no healthy upstream")
//   5. forward    pooled keep-alive upstream connection (pool limits -> 503 UO), head rewritten
//                 (rewrite, header operations, x-forwarded-for, x-request-id,
//                 x-envoy-attempt-count), body streamed; retries per the route's policy;
//                 timeouts -> 504 UT; connect failure -> 503 UF
//   6. respond    response head rewritten (header operations, CORS), body streamed back
//                 (a Nacos instance list on a method-2 port is read whole and rewritten; a 101
//                 turns the connection into a byte relay); stats, outlier detection and the
//                 access log are updated
//
// Pipelined requests are answered in order (one at a time). Bodies stream in both directions
// with bounded buffers; a request body up to 64 KiB (Content-Length) is kept so it can be
// replayed on a retry, a larger or chunked one streams and is not retried after it started.

#include <asio/awaitable.hpp>
#include <string>

#include <asio/ip/tcp.hpp>

#include "proxy/worker.h"

namespace sluice::proxy {

// Serves one accepted downstream connection until it closes. Never throws. `received` holds
// bytes already read from the socket (the transparent listener's protocol sniffing).
asio::awaitable<void> serveConnection(Worker& worker, asio::ip::tcp::socket socket,
                                      ListenerContext listener, std::string received = {});

}  // namespace sluice::proxy
