#pragma once
// MeshSnapshot: everything the data plane needs to route one request, folded from the Istio
// config and the registries into an immutable value. The data plane only consumes it: it is
// assembled off the request path by control (control::buildSnapshot, src/control/snapshot/),
// then published to the workers of a ProxyServer, which share it read-only. A snapshot is never
// modified once published; this header depends on neither config/ nor registry/.
//
// What the snapshot holds:
// - services by FQDN. A registry service NAME becomes the mesh host
//   NAME.<default_namespace>.svc.<domain_suffix>; ServiceEntry hosts are taken as written.
//   The host forms that reach a registry service (Istio's same-namespace sidecar view): `name`,
//   `name.ns`, `name.ns.svc`, the FQDN, each with or without `:port`.
// - endpoints per service (ip, port, labels = registry metadata or ServiceEntry endpoint labels,
//   weight, healthy).
// - clusters: (host, subset, port) -> endpoints + LB / connection pool / outlier policy from the
//   DestinationRule (subset components replace top-level components whole).
// - route tables: one for `mesh` (sidecars), one per gateway server port.
// - the reverse-DNS index: "ip:port" of a registry instance -> its service, only for IPs inside
//   the pod_cidrs of a recognised reverse-DNS EnvoyFilter (and only for requests to its
//   portNumber when one is set).
// - diagnostics found while building (a route to an unknown host, a subset no DestinationRule
//   defines...), shown on /config_dump (toJson, in snapshot_json.cc).

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/interception.h"
#include "net/address.h"
#include "net/stream_interception.h"
#include "proxy/cluster.h"
#include "proxy/route_table.h"

namespace sluice::proxy {

// One VirtualService `tcp` rule of a mesh service, for connections the transparent listener
// passes as TCP (not HTTP) to the service's address: the first rule whose match fits the
// dialled port / address decides the weighted destination.
struct TcpRoute {
  struct Match {
    std::optional<uint32_t> port;
    std::vector<net::Cidr> destination_subnets;  // empty = any
  };
  std::vector<Match> matches;  // empty = every connection
  // Weighted destinations; cluster -1: `missing` says why (such connections are closed).
  std::vector<WeightedCluster> destinations;
  uint32_t total_weight = 0;
  std::string source;  // "VirtualService ns/name tcp[i]"

  bool applies(const net::IpAddress& dialled, uint32_t port) const;
  const WeightedCluster* pick(uint64_t roll) const {  // roll in [0, total_weight)
    return pickWeighted(destinations, total_weight, roll);
  }
};

struct MeshService {
  enum class Origin : uint8_t { kRegistry, kServiceEntry };
  std::string fqdn;  // lower case
  std::string name;  // registry name, or the ServiceEntry host
  std::string ns;
  Origin origin = Origin::kRegistry;
  std::vector<uint32_t> ports;  // declared ports (ServiceEntry); empty = any (registry)
  std::vector<Endpoint> endpoints;
  std::string source;                // "nacos service service-provider", "ServiceEntry default/foo"
  int mesh_vhost = -1;               // index of its virtual host in MeshSnapshot::mesh_routes
  std::vector<TcpRoute> tcp_routes;  // from the first VirtualService with `tcp` rules for it
  // Registry services: the virtual IP the DNS proxy answers for its host names (empty = none: no
  // vip_range, or the range is full). ServiceEntry hosts never get one: they are either answered
  // with their declared `addresses` or resolved by the real resolver (a VIP there would loop the
  // sidecar's own getaddrinfo for DNS-resolution ServiceEntries back to itself).
  std::string vip;
  // ServiceEntry `addresses` that are single IPs (a.b.c.d, a.b.c.d/32, v6, v6/128), canonical
  // text; CIDR blocks are left out (they cannot be a DNS answer).
  std::vector<std::string> addresses;
};

// One listener context of a gateway: a Gateway server port and the routes bound to it.
struct GatewayListener {
  uint32_t port = 0;                  // as configured (the ProxyServer adds its port offset)
  std::string protocol;               // HTTP, HTTP2, GRPC (others are reported and not served)
  std::vector<std::string> gateways;  // "ns/name" of the Gateways with a server on this port
  bool https_redirect = false;
  RouteTable routes;
};

struct MeshSnapshot {
  uint64_t version = 0;
  std::string default_namespace;
  std::string domain_suffix;

  std::vector<MeshService> services;
  StringMap<int> service_by_host;  // every accepted host form (lower case, no port)
  std::vector<Cluster> clusters;
  StringMap<int> cluster_by_name;
  RouteTable mesh_routes;
  std::vector<GatewayListener> gateway_listeners;

  // Reverse DNS (method 1).
  StringMap<int> reverse_dns;  // "ip:port" -> service index
  struct ReverseDnsRule {
    std::optional<uint16_t> port;  // EnvoyFilter listener portNumber; nullopt = all ports
    std::vector<net::Cidr> pod_cidrs;
    std::string filter_name;
  };
  std::vector<ReverseDnsRule> reverse_dns_rules;  // empty = method 1 disabled

  // Registry interception (method 2): the listener ports of recognised registry-interception
  // EnvoyFilters (the seed's Nacos Lua filter and its Eureka/Consul spellings, or
  // sluice.registry_interception), each with the rewriter of the registry plug-in that answers
  // there: an HTTP one (requests to the port) or, for a registry with its own TCP protocol
  // (ZooKeeper), a stream one (connections to the port, relayed through it). Empty = method 2
  // disabled.
  struct InterceptionRule {
    std::optional<uint16_t> port;  // EnvoyFilter listener portNumber; nullopt = every port
    std::string filter_name;
    // The registry's HTTP rewriter, shared by every worker (const, stateless:
    // http/interception.h). Control never publishes a rule with neither this nor `stream`; null
    // only in hand-made test snapshots.
    std::shared_ptr<const http::InterceptionRewriter> rewriter;
    // The registry's stream interception (net/stream_interception.h); when set, `rewriter` is
    // null and the rule applies to TCP connections only.
    std::shared_ptr<const net::StreamInterception> stream;
    std::string_view registry() const;  // "" when neither is set
    // The same registry's gRPC API (Nacos 2.x/3.x) on grpc_rewriter->grpcPort(port); may be null.
    std::shared_ptr<const http::GrpcInterceptionRewriter> grpc_rewriter;
  };
  std::vector<InterceptionRule> interception_rules;
  // The HTTP rule that applies to a request to `port`, or nullptr.
  const InterceptionRule* interceptionFor(uint32_t port) const;
  // The stream rule that applies to a TCP connection to `port`, or nullptr.
  const InterceptionRule* streamInterceptionFor(uint32_t port) const;
  // The rule whose registry's gRPC port is `port` (it has a grpc_rewriter), or nullptr.
  const InterceptionRule* grpcInterceptionFor(uint32_t port) const;

  std::vector<std::string> diagnostics;      // problems found while building
  std::vector<std::string> unenforced;       // config fields accepted but not enforced
  std::vector<std::string> registry_status;  // copied from the inputs
  // VirtualServices held back because a reference (subset, gateway, host) does not resolve yet:
  // one IST0101 line each, saying what serves instead. Copied from the inputs.
  std::vector<std::string> config_held_back;
  // The Istio Sidecar resource that limits this sidecar's egress ("ns/name"; empty: none, the
  // whole mesh is materialised) and its egress hosts as written.
  std::string sidecar_resource;
  std::vector<std::string> sidecar_egress_hosts;
  // No Sidecar and --load-services=on-demand: services are loaded on first use
  // (proxy/on_demand.h); the hosts loaded so far (FQDNs). False: the whole mesh or a Sidecar.
  bool loads_on_demand = false;
  std::vector<std::string> loaded_on_demand;

  // Canonical IP text -> service: every allocated VIP and every ServiceEntry single address
  // (the first ServiceEntry declaring an address keeps it).
  StringMap<int> service_by_vip;
  // The service an original destination IP belongs to (a VIP or a ServiceEntry address), or
  // nullptr. Accepts IPv4-mapped IPv6 ("::ffff:240.240.0.1"). Allocation-free when `ip` is
  // already canonical.
  const MeshService* findByVip(std::string_view ip) const;
  // FQDN -> VIP of every service that has one: what the next build keeps
  // (control::SnapshotInputs::previous_vips).
  std::map<std::string, std::string> vipAssignments() const;

  // Service for a host (case-insensitive; a ":port" suffix is ignored). nullptr when unknown.
  const MeshService* findService(std::string_view authority) const;
  // Reverse-DNS lookup of a destination "ip" + port; nullptr when disabled, outside the pod
  // CIDRs, on another port than the filter's portNumber, or not a known instance.
  const MeshService* findByAddress(std::string_view ip, uint16_t port) const;
  // True when a reverse-DNS rule applies to "ip" + port (inside its pod CIDRs, on its port):
  // such an address is expected to be a registry instance, known or not yet.
  bool reverseDnsCovers(std::string_view ip, uint16_t port) const;
  int serviceIndex(const MeshService* service) const {
    return service == nullptr ? -1 : static_cast<int>(service - services.data());
  }
  const GatewayListener* findGatewayListener(uint32_t port) const;
  // The mesh virtual host of a service (its VirtualService's routes, or its default route).
  const VirtualHost* meshVirtualHost(const MeshService& service) const {
    return service.mesh_vhost >= 0 ? &mesh_routes.vhosts[service.mesh_vhost] : nullptr;
  }

  // JSON for /config_dump (version, services, endpoints, clusters, routes, diagnostics).
  nlohmann::json toJson() const;
};

// "outbound|<port>|<subset>|<host>" (Envoy's cluster name; port 0 is written as "").
std::string clusterName(std::string_view host, std::string_view subset, uint32_t port);

}  // namespace sluice::proxy
