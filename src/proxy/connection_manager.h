#pragma once
// The HTTP connection manager: one coroutine per downstream connection, running on its worker's
// io_context. The whole request path reads top to bottom in connection_manager.cc, in these
// phases (each a named function there, or a file of its own):
//
//   1. parse            strict HTTP/1.1 head (http/codec.h); malformed -> 400 (or 413/414/431)
//                       + close; a bodiless `Upgrade: h2c` request -> 101, and the connection
//                       goes on as HTTP/2 with it as stream 1 (http/h2/upgrade.h)
//                       An HTTP/2 stream's head comes decoded by the h2 session codec
//                       (proxy/h2_downstream.h) and enters at phase 2 (serveStreamRequest)
//   2. resolve          which mesh service (proxy/service_resolver.h): by name, by dialled address
//                       (VIP, reverse DNS), by address, else passthrough to a literal ip:port,
//                       else 502 (sidecar); gateway mode uses the Gateway server's route table
//   3. route            first matching VirtualService rule (404 NR when none)
//   4. request filters  proxy/filters/: CORS preflight, fault (abort / delay)
//   5. route action     redirect, directResponse
//   6. pick cluster     weighted destination -> cluster (503 NC for an undefined host/subset)
//   7. upstream         head rewritten (proxy/upstream_request.h), upstream filters (registry
//                       interception, header operations, mirroring), body read whole when
//                       replayable; the retry loop (proxy/retry_loop.h) picks an endpoint per
//                       attempt (503 UH) and runs one attempt at a time (proxy/upstream_attempt.h:
//                       pooled connection, 503 UO / UF, 504 UT, 503 UC, 502 UPE)
//   8. respond          response filters backwards (header operations, registry interception,
//                       CORS), then proxy/respond.h: a 101 becomes a byte relay, a buffered body
//                       is sent with Content-Length, anything else streams (proxy/body_pump.h)
//   9. log              stats, outlier detection, the access log (proxy/access_log.h)
//
// Every phase reads the request body from, and answers on, the request's DownstreamStream
// (proxy/downstream_stream.h): the HTTP/1.1 connection or one HTTP/2 stream.
// Errors are LocalReply values (proxy/local_reply.h) with a ResponseFlag (proxy/response_flags.h).
// Pipelined requests are answered in order (one at a time). Bodies stream in both directions
// with bounded buffers; a request body up to 64 KiB (Content-Length) is kept so it can be
// replayed on a retry, a larger or chunked one streams and is not retried after it started.

#include <asio/awaitable.hpp>
#include <string>

#include "proxy/byte_stream.h"
#include "proxy/downstream_stream.h"
#include "proxy/worker.h"

namespace sluice::proxy {

// Serves one downstream connection until it closes. Never throws. `socket`: an accepted TCP
// connection (or, in tests, one end of a worker-local ByteStream pair). `received`
// holds bytes already read from it (the transparent listener's protocol sniffing). A connection
// that opens with the HTTP/2 preface is served as HTTP/2. `peer_ip`: the client's address when
// the stream is not the client's own socket; empty: the socket's peer. No defaulted arguments:
// GCC 12 destroys a defaulted by-value coroutine argument twice.
asio::awaitable<void> serveConnection(Worker& worker, ByteStream socket, ListenerContext listener,
                                      std::string received, std::string peer_ip);

// Phases 2-9 of one request whose head arrived on a stream of a multiplexed connection (an
// HTTP/2 stream, proxy/h2_downstream.h): the request is read from and answered on `stream`;
// `head` and `parsed` (its body framing) were made from the decoded HEADERS, never from HTTP/1.1
// text; `buffers` are the stream's own. Never throws. No defaulted arguments (see above).
asio::awaitable<void> serveStreamRequest(Worker& worker, Downstream& connection,
                                         const ListenerContext& listener, DownstreamStream& stream,
                                         ExchangeBuffers& buffers, http::RequestHead& head,
                                         http::HeadResult& parsed);

}  // namespace sluice::proxy
