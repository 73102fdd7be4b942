#pragma once
// HTTP/2 downstream connections: cleartext with prior knowledge (the client opens with the
// connection preface, RFC 9113 §3.3), on the explicit listener and on the transparent one (the
// sniffer recognises the preface), and after an HTTP/1.1 `Upgrade: h2c` (RFC 7540 §3.2; the
// connection manager decides, http/h2/upgrade.h). Framing, HPACK, flow control and RFC 9113
// validation are the h2 session codec's (http/h2/session.h, nghttp2 underneath).
//
// Each stream is one request and goes through THE SAME request path as an HTTP/1.1 request
// (connection_manager.h: resolve, route, filters, weights and subsets, header operations,
// timeouts, retries, faults, the upstream pool, stats and the access log), entered directly with
// the head the session decoded (connection_manager.h serveStreamRequest): the stream is the
// request's DownstreamStream (proxy/downstream_stream.h), so the request body is read from its
// DATA and the answer goes back as HEADERS / DATA / trailers calls on the session. No HTTP/1.1
// text is written or parsed on this side.
//
// Request framing as the request path sees it: END_STREAM on HEADERS: no body; a Content-Length
// field: that length (nghttp2 checks the DATA against it); a body that fully arrived with the
// head (the common unary gRPC call, a small POST): Content-Length of what came, so the retry loop
// can replay it; else chunked (streaming, not retried; an HTTP/1.1 upstream gets it chunked with
// the request trailers as chunked trailers). Response trailers (gRPC's grpc-status) go out as a
// trailer HEADERS frame; a trailers-only answer (local gRPC errors) is one HEADERS with
// END_STREAM.
//
// Limits: SETTINGS_MAX_CONCURRENT_STREAMS, header-list size (431), frame size and windows from
// the codec (ProxyOptions::limits::max_head_bytes caps the header list). Flow control: received
// DATA is acknowledged (WINDOW_UPDATE) only once the request path forwarded it, and the request
// path's response writes wait while the stream has more than 64 KiB queued, so a slow reader on
// either side stops its sender. A client's RST_STREAM closes the stream: the request path's next
// read or write of it fails (DC). A request path that ends without a complete answer (the
// upstream failed mid-body) resets the stream (INTERNAL_ERROR); an answer complete before the
// client's body ended is followed by RST_STREAM(NO_ERROR). Drain: GOAWAY(NO_ERROR) with the
// last stream id; streams in flight finish.
//
// Worker thread only; one Connection per downstream connection, alive for the coroutine's life.

#include <asio/awaitable.hpp>
#include <cstdint>
#include <string_view>

#include "http/message.h"

namespace sluice::proxy {

class Worker;
struct Downstream;
struct ListenerContext;

enum class PrefaceMatch : uint8_t {
  kYes,    // the whole 24-byte preface
  kNo,     // cannot be the preface
  kMaybe,  // a proper prefix of it so far
};
PrefaceMatch matchHttp2Preface(std::string_view first_bytes);

// Reads (only while needed) until the connection's first bytes decide; true when they are the
// HTTP/2 preface. Bytes read stay in d.in either way.
asio::awaitable<bool> awaitHttp2Preface(Downstream& d);

// Serves the connection as HTTP/2 until it closes (d.in holds the bytes already read, preface
// included). Never throws.
asio::awaitable<void> serveHttp2(Worker& w, Downstream& d, const ListenerContext& listener);

// Serves the connection as HTTP/2 after an HTTP/1.1 request asked for `Upgrade: h2c`:
// `request` (its head; bodiless) becomes stream 1, taking the request path like any stream, and
// `settings_payload` (its decoded HTTP2-Settings) the client's first SETTINGS. Writes the 101
// first; d.in holds what followed the request's head (the client's preface, once it came).
// False, with nothing written, when the session refuses the settings: serve the request as
// HTTP/1.1. Never throws.
asio::awaitable<bool> serveHttp2Upgrade(Worker& w, Downstream& d, const ListenerContext& listener,
                                        const http::RequestHead& request,
                                        std::string_view settings_payload);

}  // namespace sluice::proxy
