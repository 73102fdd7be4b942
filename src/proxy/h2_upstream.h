#pragma once
// HTTP/2 to upstream endpoints (cleartext, prior knowledge), for clusters whose
// ConnectionPoolSettings::http2 is set (Istio protocol selection, h2UpgradePolicy).
//
// Per worker and endpoint, requests share one HTTP/2 connection (multiplexed up to the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS; when it is full or going away, the next request opens a new
// one, and the old one closes once its streams are done). Each request is one stream, and the
// request path drives it directly through UpstreamStream (proxy/upstream_stream.h): the request
// head goes out as HEADERS (":authority" from Host, "te: trailers" for gRPC), the body as DATA
// (decoded, whatever framing the downstream used) and its trailers as a trailer section; the
// response head comes back as the session decoded it, its body as DATA and its trailers
// (grpc-status) in the pump's result. No HTTP/1.1 text is written or parsed in between, so the
// retry loop, timeouts, outlier detection and response filters are the same code for both
// protocols without a second parse.
//
// The response's framing, as the rest of the request path sees it (what an HTTP/1.1 hop would
// be told): none for a HEAD, a 204/304 or a stream that ended with its head (Content-Length: 0
// added where a body could have been); the upstream's Content-Length when it gave one and the
// answer is not gRPC (no trailers to pass on); otherwise chunked, so trailers can follow.
//
// Pool accounting: each stream counts as one of the endpoint's open connections, so
// DestinationRule maxConnections bounds concurrent requests (streams) per endpoint and worker.
// A stream the upstream refuses (REFUSED_STREAM, GOAWAY) or resets before its response head is
// an attempt that saw a reset (503 UC, retried per the route's policy); one reset mid-body is a
// body that did not end (the downstream's response is cut, as for HTTP/1.1).
//
// Flow control: DATA received is credited back to the upstream only once the request path has
// handed it on (a slow downstream stops the upstream through its window); request DATA queued in
// the session is bounded (the downstream is read no faster than the upstream takes it).
//
// Worker thread only.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>

#include "proxy/upstream_pool.h"

namespace sluice::proxy {

struct EndpointState;
class WorkerStats;

// A new stream to `endpoint` over HTTP/2: on the first of its connections that can take one
// (fewer than `max_streams` streams, not going away), else on a new connection made within
// `deadline`. `reused` is always false (a stream is never reused).
asio::awaitable<PooledConnection> openHttp2Stream(asio::io_context& io, WorkerStats& stats,
                                                  EndpointState& endpoint,
                                                  std::chrono::steady_clock::time_point deadline,
                                                  uint32_t max_streams = UINT32_MAX);

// Closes the endpoint's HTTP/2 connections (worker shutdown).
void closeHttp2Connections(EndpointState& endpoint);

}  // namespace sluice::proxy
