#pragma once
// Clusters: the upstream side of a snapshot. A cluster is one (service host, subset, port) with
// the endpoints whose labels are a superset of the subset's labels, and the DestinationRule
// policy that applies to it (a subset's policy components replace the top-level ones whole, as
// Istio's MergeTrafficPolicy does; port-level settings replace destination-level ones).
//
// Cluster (this header) is immutable and shared by all workers. The mutable per-worker side
// (load-balancer cursor, active requests, outlier ejections) is ClusterState in
// load_balancer.h; each worker owns its own, so nothing here is ever locked.

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace sluice::proxy {

struct Endpoint {
  std::string
      ip;  // an IP literal; a DNS name for ServiceEntry resolution DNS (resolved on connect)
  uint16_t port = 0;
  std::map<std::string, std::string> labels;  // registry metadata / ServiceEntry endpoint labels
  uint32_t weight = 1;
  bool healthy = true;  // as the registry says; outlier ejection is per worker, on top

  std::string address() const;  // "ip:port" ("[v6]:port")
};

enum class LbPolicy : uint8_t {
  // Sluice's default. The seed's "before" behaviour alternates v1/v2 strictly, which is what
  // round robin does; Istio's own default (since 1.14) is LEAST_REQUEST.
  kRoundRobin,
  kRandom,
  kLeastRequest,  // power of two choices
  kRingHash,
  kMaglev,
  kPassthrough,  // treated as round robin over known endpoints (no original destination here)
};

struct ConsistentHashKey {
  enum class Kind : uint8_t { kNone, kHeader, kCookie, kSourceIp, kQueryParameter };
  Kind kind = Kind::kNone;
  std::string name;  // header (lower case), cookie or query parameter name
};

struct LbSettings {
  LbPolicy policy = LbPolicy::kRoundRobin;
  ConsistentHashKey hash_key;
  uint64_t ring_size = 1024;     // ringHash.minimumRingSize
  uint64_t maglev_size = 65537;  // maglev.tableSize (prime)
};

struct ConnectionPoolSettings {
  static constexpr uint32_t kUnlimited = std::numeric_limits<uint32_t>::max();
  uint32_t max_connections = kUnlimited;              // tcp.maxConnections, per upstream host
  std::chrono::milliseconds connect_timeout{10'000};  // tcp.connectTimeout
  uint32_t max_pending_requests = kUnlimited;         // http.http1MaxPendingRequests
  uint32_t max_requests_per_connection = 0;           // 0 = unlimited, 1 = no keep-alive
  std::chrono::milliseconds idle_timeout{3'600'000};  // http.idleTimeout
  // http.http2MaxRequests: requests in flight to the cluster (per worker, as every limit here;
  // both protocols, as Istio has it); beyond it 503 UO.
  uint32_t max_requests = kUnlimited;
  // http.maxConcurrentStreams: streams one HTTP/2 upstream connection carries at once; beyond
  // it another connection is opened (Envoy's max_concurrent_streams for upstreams).
  uint32_t max_concurrent_streams = kUnlimited;
  // Speak HTTP/2 (cleartext, prior knowledge) to the endpoints, multiplexed on shared
  // connections (proxy/h2_upstream.h): Istio's protocol selection (service port named grpc* /
  // http2*, or protocol GRPC / HTTP2) or DestinationRule http.h2UpgradePolicy UPGRADE.
  bool http2 = false;
};

struct OutlierSettings {
  bool enabled = false;              // set when the DestinationRule has an outlierDetection block
  uint32_t consecutive_5xx = 5;      // 0 = off
  uint32_t consecutive_gateway = 0;  // 0 = off; 502/503/504
  std::chrono::milliseconds interval{10'000};
  std::chrono::milliseconds base_ejection{30'000};
  uint32_t max_ejection_percent = 10;
  uint32_t min_health_percent = 0;  // below it, ejected hosts are used anyway (panic)
};

struct Cluster {
  std::string name;    // "outbound|<port>|<subset>|<host>", Envoy's spelling
  std::string host;    // service FQDN
  std::string subset;  // "" = all endpoints of the service
  uint32_t port = 0;   // service port this cluster serves; 0 = any (registry services)
  std::vector<Endpoint> endpoints;
  LbSettings lb;
  ConnectionPoolSettings pool;
  OutlierSettings outlier;
  // ServiceEntry resolution NONE: no endpoints, forward to the authority the client asked for.
  bool original_destination = false;
  // Where the policy came from, for config_dump ("default/service-provider subset v1").
  std::string policy_source;
};

}  // namespace sluice::proxy
