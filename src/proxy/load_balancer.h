#pragma once
// Per-worker, mutable side of a cluster: endpoint states (active requests, open connections,
// outlier ejection), the load-balancer state (round-robin cursor, hash ring / Maglev table) and
// the pending-request count for connection-pool limits.
//
// Threading: a ClusterState belongs to exactly one worker thread and is only touched there, so
// nothing is atomic or locked. /clusters reads it by posting a job to the worker.
//
// Lifetime: EndpointState objects are stable (held by unique_ptr and keyed by address); a request
// in flight may keep an EndpointState* across a snapshot update. When a snapshot drops an
// endpoint, its state is retired and freed once no request uses it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/message.h"
#include "proxy/cluster.h"
#include "proxy/upstream.h"

namespace sluice::proxy {

using Clock = std::chrono::steady_clock;

class Http2Upstream;  // proxy/h2_upstream.cc

struct EndpointState {
  Endpoint endpoint;
  std::string address;  // "ip:port"
  bool present = true;  // in the current snapshot's cluster
  uint32_t active_requests = 0;
  uint32_t open_connections = 0;  // idle + busy upstream connections (pool limit)

  // Outlier detection.
  uint32_t consecutive_5xx = 0;
  uint32_t consecutive_gateway = 0;
  uint32_t ejection_count = 0;  // multiplier of baseEjectionTime
  Clock::time_point ejected_until{};
  Clock::time_point last_decay{};
  bool ejected = false;

  uint64_t requests_total = 0;
  uint64_t failures_total = 0;

  std::vector<std::unique_ptr<UpstreamConnection>> idle;  // keep-alive pool, most recent last
  // Requests waiting for a connection slot (maxConnections reached), oldest first. The timers
  // belong to the waiting coroutines (proxy/upstream_pool.cc); a waiter holds the endpoint
  // acquired, so the state outlives every timer listed here.
  std::vector<asio::steady_timer*> slot_waiters;
  // The HTTP/2 connections new requests to this endpoint share (HTTP/2 clusters only): one,
  // unless maxConcurrentStreams filled it.
  std::vector<std::shared_ptr<Http2Upstream>> http2;

  bool available(Clock::time_point now) const {
    return endpoint.healthy && (!ejected || now >= ejected_until);
  }
};

// 64-bit hash used for consistent hashing (FNV-1a folded through a 64-bit finaliser: stable
// across runs and processes, so affinity survives restarts).
uint64_t hashKey(std::string_view key);

// The consistent-hash key of a request under `lb`'s hash policy (header, cookie, source IP,
// query parameter), or nullopt when the policy has none or the request lacks it.
std::optional<uint64_t> requestHash(const LbSettings& lb, const http::RequestHead& head,
                                    std::string_view peer_ip);

// What the load balancer may use from the request.
struct PickContext {
  std::optional<uint64_t> hash;  // consistent-hash key, if the policy has one and it was present
  const EndpointState* avoid = nullptr;  // previous attempt's host (retry: previous_hosts)
};

class ClusterState {
 public:
  explicit ClusterState(uint64_t seed);
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  // (Re)binds to a cluster of a new snapshot: policies are copied, endpoint states are carried
  // over by address (ejections and counters survive updates), endpoints no longer present are
  // retired and freed once idle. The state keeps no pointer into the snapshot.
  void update(const Cluster& cluster);
  // Drops every pooled keep-alive connection. The worker calls it before its io_context goes:
  // a socket must not outlive the io_context it was opened on.
  void closeIdleConnections();

  const std::string& name() const { return name_; }
  const LbSettings& lb() const { return lb_; }
  const ConnectionPoolSettings& pool() const { return pool_; }
  const OutlierSettings& outlier() const { return outlier_; }

  // Picks an endpoint or returns nullptr when none is available (no healthy upstream).
  EndpointState* pick(const PickContext& context, Clock::time_point now);

  // Outlier accounting for one finished attempt. `status` is the upstream status, or a local
  // one for failures (503 for connect failure / reset, 504 for timeout) with `local` = true.
  void recordResult(EndpointState& endpoint, int status, bool local, Clock::time_point now);

  // Request accounting; release frees retired endpoint states.
  void acquire(EndpointState& endpoint) {
    ++endpoint.active_requests;
    ++inflight_;
  }
  void release(EndpointState& endpoint);

  const std::vector<EndpointState*>& endpoints() const { return current_; }
  size_t ejectedCount(Clock::time_point now) const;
  uint32_t pending_requests = 0;  // waiting for a pooled connection (http1MaxPendingRequests)
  uint64_t overflows = 0;         // requests refused by pool limits
  bool retired = false;           // cluster gone from the current snapshot
  uint32_t pins = 0;              // requests holding a pointer to this state
  uint32_t inflight() const { return inflight_; }

 private:
  EndpointState* pickRoundRobin(Clock::time_point now, const EndpointState* avoid);
  EndpointState* pickRandom(Clock::time_point now, const EndpointState* avoid);
  EndpointState* pickLeastRequest(Clock::time_point now, const EndpointState* avoid);
  EndpointState* pickHashed(uint64_t hash, Clock::time_point now);
  EndpointState* availableAvoided(const EndpointState* avoid, Clock::time_point now);
  void buildRing();
  void buildMaglev();
  void maybeUneject(EndpointState& e, Clock::time_point now);

  std::string name_;
  LbSettings lb_;
  ConnectionPoolSettings pool_;
  OutlierSettings outlier_;
  std::unordered_map<std::string, std::unique_ptr<EndpointState>> by_address_;
  std::vector<EndpointState*> current_;              // in snapshot order
  std::vector<std::pair<uint64_t, uint32_t>> ring_;  // ring hash: (point, index into current_)
  std::vector<uint32_t> maglev_;                     // maglev lookup table
  uint64_t rr_cursor_ = 0;
  bool equal_weights_ = true;
  std::vector<int64_t> wrr_current_;  // smooth weighted round robin state
  std::mt19937_64 rng_;
  uint32_t inflight_ = 0;
};

// An endpoint acquired for one request (ClusterState::acquire), released when the lease goes.
// Movable, so a lease can leave the retry loop with the attempt that answered.
class EndpointLease {
 public:
  EndpointLease() = default;
  EndpointLease(ClusterState& cluster, EndpointState& endpoint)
      : cluster_(&cluster), endpoint_(&endpoint) {
    cluster.acquire(endpoint);
  }
  ~EndpointLease() { reset(); }
  EndpointLease(EndpointLease&& o) noexcept : cluster_(o.cluster_), endpoint_(o.endpoint_) {
    o.cluster_ = nullptr;
  }
  EndpointLease& operator=(EndpointLease&& o) noexcept {
    if (this != &o) {
      reset();
      cluster_ = o.cluster_;
      endpoint_ = o.endpoint_;
      o.cluster_ = nullptr;
    }
    return *this;
  }
  void reset() {
    if (cluster_ != nullptr) cluster_->release(*endpoint_);
    cluster_ = nullptr;
  }
  ClusterState* cluster() const { return cluster_; }
  EndpointState* endpoint() const { return endpoint_; }

 private:
  ClusterState* cluster_ = nullptr;
  EndpointState* endpoint_ = nullptr;
};

}  // namespace sluice::proxy
