#pragma once
// HTTP/2 to upstream endpoints (cleartext, prior knowledge), for clusters whose
// ConnectionPoolSettings::http2 is set (Istio protocol selection, h2UpgradePolicy).
//
// Per worker and endpoint, requests share one HTTP/2 connection (multiplexed up to the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS; when it is full or going away, the next request opens a new
// one, and the old one closes once its streams are done). As on the downstream side
// (proxy/h2_downstream.h), each request reaches its stream through a worker-local byte stream
// (proxy/byte_stream.h, in memory: no fd, no syscall): the upstream attempt
// (proxy/upstream_attempt.h) writes one HTTP/1.1 request into it and reads one HTTP/1.1 response
// back, exactly as over a fresh TCP connection, so the retry loop,
// timeouts, outlier detection and response filters are the same code for both protocols. The
// bridge turns the request into HEADERS/DATA/trailers (adding "te: trailers" for gRPC) and the
// response into an HTTP/1.1 response with "connection: close": Content-Length when the upstream
// gave one and trailers cannot follow, else chunked with the upstream's trailers (grpc-status)
// as chunked trailers; a trailers-only gRPC answer keeps grpc-status in the head.
//
// Pool accounting: each bridged request counts as one of the endpoint's open connections, so
// DestinationRule maxConnections bounds concurrent requests (streams) per endpoint and worker.
// A stream the upstream refuses (REFUSED_STREAM, GOAWAY) or resets ends the bridge without a
// response: the attempt sees a reset (503 UC, retried per the route's policy).
//
// Worker thread only.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>

#include "proxy/upstream_pool.h"

namespace sluice::proxy {

struct EndpointState;
class WorkerStats;

// One request's bridged connection to `endpoint` over HTTP/2 (connecting first when no usable
// HTTP/2 connection exists, within `deadline`). `reused` is always false (the bridge is fresh).
asio::awaitable<PooledConnection> openHttp2Stream(asio::io_context& io, WorkerStats& stats,
                                                  EndpointState& endpoint,
                                                  std::chrono::steady_clock::time_point deadline);

// Closes the endpoint's HTTP/2 connections (worker shutdown).
void closeHttp2Connections(EndpointState& endpoint);

}  // namespace sluice::proxy
