#pragma once
// One worker thread: an io_context, its SO_REUSEPORT listeners, the current snapshot, the
// per-cluster state (load balancing, outlier detection, keep-alive pools) and the stats. Every
// member is touched only from the worker's own thread, except where noted; other threads reach a
// worker by posting to io().

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "proxy/access_log.h"
#include "proxy/gateway_ports.h"
#include "proxy/load_balancer.h"
#include "proxy/on_demand.h"
#include "proxy/overload.h"
#include "proxy/proxy_options.h"
#include "proxy/registry_refresh.h"
#include "proxy/snapshot.h"
#include "proxy/stats.h"
#include "proxy/upstream_pool.h"

namespace sluice::proxy {

// Where a downstream connection came in.
struct ListenerContext {
  bool gateway = false;
  uint32_t gateway_port = 0;  // the configured Gateway server port (without the offset)
  uint16_t local_port = 0;
  // Transparent listener (iptables REDIRECT): each connection's original destination is read
  // with SO_ORIGINAL_DST and set below, per connection, before the HTTP or TCP path runs.
  bool transparent = false;
  // Inbound (init-netfilter --inbound-port): every connection is relayed to its original
  // destination, the application in this pod; nothing is routed.
  bool inbound = false;
  std::optional<asio::ip::tcp::endpoint> original_dst;
};

// The open downstream connections of all workers of one server, against a cap (0 = none). The
// one count shared between workers: a relaxed atomic add per accepted connection, no lock. Owned
// by the server; outlives its workers.
class ConnectionBudget {
 public:
  explicit ConnectionBudget(uint32_t max) : max_(max) {}
  // False (and nothing taken) when the cap is reached.
  bool tryAcquire() {
    uint32_t before = open_.fetch_add(1, std::memory_order_relaxed);
    if (max_ != 0 && before >= max_) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  // Takes a slot past the cap: for a connection whose room an idle one being closed makes (that
  // one gives its slot back when its coroutine ends, moments later).
  void acquireOver() { open_.fetch_add(1, std::memory_order_relaxed); }
  void release() { open_.fetch_sub(1, std::memory_order_relaxed); }
  uint32_t open() const { return open_.load(std::memory_order_relaxed); }

 private:
  const uint32_t max_;
  std::atomic<uint32_t> open_{0};
};

// A copy of one cluster's per-worker state, for /clusters.
struct ClusterDump {
  struct EndpointDump {
    std::string address;
    std::map<std::string, std::string> labels;
    bool healthy = true;
    bool ejected = false;
    uint32_t active_requests = 0;
    uint32_t connections = 0;
    uint64_t requests = 0;
    uint64_t failures = 0;
  };
  std::string name;
  std::vector<EndpointDump> endpoints;
  uint32_t pending_requests = 0;
  uint64_t overflows = 0;
};

class Worker {
 public:
  // `gateway_ports` is shared by every worker of a server and outlives them.
  Worker(int id, const ProxyOptions& options, GatewayPorts& gateway_ports);
  ~Worker();

  asio::io_context& io() { return io_; }
  int id() const { return id_; }
  const ProxyOptions& options() const { return options_; }

  // --- worker thread only -------------------------------------------------------------------
  const std::shared_ptr<const MeshSnapshot>& snapshot() const { return snapshot_; }
  void setSnapshot(std::shared_ptr<const MeshSnapshot> snapshot);
  // State of cluster `index` of the current snapshot, made on first use: a sidecar in a mesh of
  // thousands of services keeps load-balancing state only for the clusters it sends to.
  ClusterState& clusterState(int index) {
    ClusterState* state = cluster_index_[index];
    return state != nullptr ? *state : makeClusterState(index);
  }
  // State for a cluster of an older snapshot still used by an in-flight request (by name).
  ClusterState* clusterStateByName(const std::string& name);
  // Keep-alive pool for HTTP passed through to a destination outside the mesh (Envoy's
  // PassthroughCluster / ORIGINAL_DST): one single-endpoint state per address, made on first use;
  // idle ones are dropped when there are many.
  ClusterState& passthroughState(const asio::ip::tcp::endpoint& destination);
  WorkerStats& stats() { return stats_; }
  UpstreamPool& upstreamPool() { return upstream_pool_; }
  AccessLog& accessLog() { return access_log_; }
  std::mt19937_64& rng() { return rng_; }
  // True with probability `percent` / 100, in millionths (as Istio translates percentages).
  bool rollPercent(double percent) {
    if (percent <= 0) return false;
    if (percent >= 100) return true;
    return static_cast<double>(rng_() % 1000000) < percent * 10000.0;
  }
  uint64_t nextRequestId() { return ++request_counter_; }
  RegistryRefresher& registryRefresher() { return refresher_; }
  OnDemandLoader& onDemandLoader() { return on_demand_; }
  bool draining() const { return draining_; }

  // Connection tracking for drain: a connection registers a closer while it is idle.
  using ConnectionHandle = std::list<std::function<void(bool)>>::iterator;
  ConnectionHandle addConnection(std::function<void(bool)> close);
  void removeConnection(ConnectionHandle h);
  size_t activeConnections() const { return connections_.size(); }
  std::vector<ClusterDump> dumpClusters() const;

  // Every accepted connection takes a slot of `budget` (set before run(); null = no cap). At the
  // cap, this worker's oldest idle connection is closed to make room; refused when none is idle.
  void setConnectionBudget(ConnectionBudget* budget) { budget_ = budget; }
  // HTTP/1.1 connections waiting idle, oldest first (proxy/overload.h).
  IdleConnections& idleConnections() { return idle_; }
  // Heap overload (posted by the server's monitor every check while it lasts, and once when it
  // ends): while on, new connections are refused, responses end keep-alive, and every call
  // closes a batch of the oldest idle connections.
  void setOverloaded(bool on);
  bool overloaded() const { return overloaded_; }

  // Opens a listener on `address` with SO_REUSEPORT; returns the bound address.
  Result<net::HostPort> listen(const net::HostPort& address, ListenerContext context);
  // Gateway mode: opens/closes listeners to match the snapshot's gateway ports.
  void reconcileGatewayListeners();
  std::vector<net::HostPort> listening() const;  // worker thread only

  // Stops accepting and asks idle connections to close (drain step 1).
  void stopAccepting();
  void closeAllConnections();

  // --- any thread -----------------------------------------------------------------------------
  void run();   // starts the thread
  void stop();  // stops the io_context
  void join();

  std::atomic<uint32_t> listening_count{0};
  std::atomic<uint32_t> connection_count{0};  // open downstream connections (drain polls it)

 private:
  struct Acceptor {
    asio::ip::tcp::acceptor acceptor;
    ListenerContext context;
    net::HostPort address;
  };
  void accept(Acceptor* acceptor);
  void serve(Acceptor* acceptor, asio::ip::tcp::socket socket);
  ClusterState& makeClusterState(int index);

  // Destruction order matters: the acceptors go first, then the io_context (which destroys the
  // suspended connection coroutines, whose RAII guards still touch states_ and connections_),
  // then everything the coroutines may reference.
  int id_;
  const ProxyOptions& options_;
  GatewayPorts& gateway_ports_;
  std::shared_ptr<const MeshSnapshot> snapshot_;
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> states_;
  std::vector<ClusterState*> cluster_index_;
  std::unordered_map<std::string, std::unique_ptr<ClusterState>> passthrough_;
  WorkerStats stats_;
  std::mt19937_64 rng_;
  uint64_t request_counter_ = 0;
  bool draining_ = false;
  ConnectionBudget* budget_ = nullptr;
  bool overloaded_ = false;
  std::list<std::function<void(bool)>> connections_;
  IdleConnections idle_;  // entries live in connection coroutines: outlives io_
  asio::io_context io_;
  // Built on io_; nothing a suspended coroutine's destructor runs touches them, and a pending
  // access-log flush job is dropped with io_ (the log's destructor writes what is pending).
  UpstreamPool upstream_pool_;
  AccessLog access_log_;
  RegistryRefresher refresher_;
  OnDemandLoader on_demand_;
  std::thread thread_;
  std::vector<std::unique_ptr<Acceptor>> acceptors_;
};

}  // namespace sluice::proxy
