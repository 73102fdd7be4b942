#pragma once
// The worker's upstream connection pool: keep-alive connections per cluster and endpoint (the
// idle lists live in each EndpointState, Envoy's pools are per cluster and host too), the
// DestinationRule's connection-pool limits (maxConnections, http1MaxPendingRequests,
// maxRequestsPerConnection, connect timeout, idle timeout) and the queue of requests waiting
// for a connection slot.
//
// Ownership and threads: one UpstreamPool per worker, owned by it and used only on its thread.
// The ClusterState / EndpointState passed in must be acquired by the caller (pinned and
// ClusterState::acquire) for as long as a connection taken from them is in use.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <memory>

#include "proxy/load_balancer.h"
#include "proxy/stats.h"
#include "proxy/upstream.h"

namespace sluice::proxy {

enum class ConnectResult : uint8_t {
  kOk,
  kConnectFailure,  // the TCP connect (or the DNS lookup of a DNS endpoint) failed
  kOverflow,        // pool limits: no slot and no room to wait, or waited the connect timeout
  kTimeout,         // the connect did not finish within the connect timeout
};

struct PooledConnection {
  ConnectResult result = ConnectResult::kConnectFailure;
  // Set when result == kOk: a pooled HTTP/1.1 connection (proxy/upstream.h) or, for an HTTP/2
  // cluster, a new stream of the endpoint's HTTP/2 connection (proxy/h2_upstream.h).
  std::unique_ptr<UpstreamStream> connection;
  bool reused = false;  // taken from the idle list (the upstream may have closed it meanwhile)
};

class UpstreamPool {
 public:
  UpstreamPool(asio::io_context& io, WorkerStats& stats) : io_(io), stats_(stats) {}
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // A connection to `endpoint`: the most recently used idle one still fresh, else a new one
  // when under maxConnections, else waits (up to the connect timeout) for a slot when under
  // http1MaxPendingRequests, else kOverflow. For an HTTP/2 cluster each stream counts as one
  // connection (maxConnections caps concurrent streams) and none is ever idle. Never throws.
  asio::awaitable<PooledConnection> acquire(ClusterState& cluster, EndpointState& endpoint);
  // Gives an HTTP/1.1 `connection` back to its endpoint's idle list when `reusable` (and the
  // endpoint is still present and under maxRequestsPerConnection), else closes it (an HTTP/2
  // stream is reset unless it had ended); wakes one waiter.
  void release(ClusterState& cluster, EndpointState& endpoint,
               std::unique_ptr<UpstreamStream> connection, bool reusable);

 private:
  void wakeWaiter(EndpointState& endpoint);

  asio::io_context& io_;
  WorkerStats& stats_;
};

}  // namespace sluice::proxy
