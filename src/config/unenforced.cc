#include "config/unenforced.h"

#include <array>

#include "core/strings.h"

namespace sluice::config {

namespace {

constexpr std::string_view kNotYet = "not implemented by the Sluice data plane yet";

// One line per field; delete a line when the proxy implements the field (see the header).
constexpr std::array kTable = {
    // VirtualService
    UnenforcedField{"VirtualService.spec.tls", "TLS (SNI) routes are not implemented yet"},
    UnenforcedField{"VirtualService.spec.http.match.gateways", kNotYet},
    UnenforcedField{"VirtualService.spec.http.match.statPrefix", "per-route stats not implemented"},
    UnenforcedField{"VirtualService.spec.http.delegate", "delegation is not implemented yet"},
    UnenforcedField{"VirtualService.spec.http.rewrite.uriRegexRewrite", kNotYet},
    UnenforcedField{"VirtualService.spec.http.retries.retryRemoteLocalities",
                    "locality-aware retries are not implemented"},
    // DestinationRule
    UnenforcedField{"DestinationRule.spec.workloadSelector", kNotYet},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.tls",
                    "upstream TLS is not implemented yet"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.portLevelSettings", kNotYet},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.loadBalancer.localityLbSetting",
                    "locality load balancing is not implemented"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.loadBalancer.warmupDurationSecs",
                    "slow start is not implemented"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.connectionPool.tcp.tcpKeepalive",
                    "TCP keepalive on upstream connections is not set"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.connectionPool.tcp.maxConnectionDuration",
                    "upstream connections are not aged out"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.connectionPool.tcp.idleTimeout",
                    "only http.idleTimeout closes idle upstream connections"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.connectionPool.http.maxRetries",
                    "no cap on concurrent retries"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.connectionPool.http.useClientProtocol",
                    "the upstream protocol follows port selection and h2UpgradePolicy"},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.tunnel", kNotYet},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.proxyProtocol", kNotYet},
    UnenforcedField{"DestinationRule.spec.trafficPolicy.retryBudget", kNotYet},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.connectionPool.tcp.tcpKeepalive",
                    "TCP keepalive on upstream connections is not set"},
    UnenforcedField{
        "DestinationRule.spec.subsets.trafficPolicy.connectionPool.tcp.maxConnectionDuration",
        "upstream connections are not aged out"},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.connectionPool.tcp.idleTimeout",
                    "only http.idleTimeout closes idle upstream connections"},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.connectionPool.http.maxRetries",
                    "no cap on concurrent retries"},
    UnenforcedField{
        "DestinationRule.spec.subsets.trafficPolicy.connectionPool.http.useClientProtocol",
        "the upstream protocol follows port selection and h2UpgradePolicy"},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.tunnel", kNotYet},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.proxyProtocol", kNotYet},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.retryBudget", kNotYet},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.tls",
                    "upstream TLS is not implemented yet"},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.portLevelSettings", kNotYet},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.loadBalancer.localityLbSetting",
                    "locality load balancing is not implemented"},
    UnenforcedField{"DestinationRule.spec.subsets.trafficPolicy.loadBalancer.warmupDurationSecs",
                    "slow start is not implemented"},
    // Gateway: plain HTTP servers are enforced; TLS termination and non-HTTP protocols are not.
    UnenforcedField{"Gateway.spec.servers.tls", "TLS on gateway servers is not implemented yet"},
    UnenforcedField{"Gateway.spec.servers.bind", kNotYet},
    UnenforcedField{"Gateway.spec.servers.port.protocol=HTTPS", "TLS termination not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=TLS", "TLS passthrough not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=TCP", "TCP servers are not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=MONGO", "TCP servers are not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=REDIS", "TCP servers are not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=MYSQL", "TCP servers are not implemented"},
    UnenforcedField{"Gateway.spec.servers.port.protocol=GRPC-WEB",
                    "gRPC-Web is not translated (HTTP/2 and gRPC servers are served)"},
    // ServiceEntry: hosts, ports, STATIC endpoints and DNS resolution are enforced.
    // resolution DNS: a host without endpoints is resolved (getaddrinfo) at connect time.
    UnenforcedField{"ServiceEntry.spec.resolution=DNS_ROUND_ROBIN",
                    "resolved like DNS (the first address that connects); no round robin over "
                    "the addresses"},
    UnenforcedField{"ServiceEntry.spec.workloadSelector", kNotYet},
    UnenforcedField{"ServiceEntry.spec.subjectAltNames", "upstream TLS is not implemented yet"},
    UnenforcedField{"ServiceEntry.spec.endpoints.network", kNotYet},
    UnenforcedField{"ServiceEntry.spec.endpoints.locality", kNotYet},
    UnenforcedField{"ServiceEntry.spec.endpoints.weight", kNotYet},
    // Sidecar: workloadSelector and egress.hosts are enforced (what a sidecar materialises).
    UnenforcedField{"Sidecar.spec.ingress",
                    "inbound listeners come from --inbound-listen, not from Sidecar"},
    UnenforcedField{"Sidecar.spec.inboundConnectionPool", kNotYet},
    UnenforcedField{"Sidecar.spec.egress.port",
                    "the hosts of a port's egress listener apply to every port"},
    UnenforcedField{"Sidecar.spec.egress.bind", kNotYet},
    UnenforcedField{"Sidecar.spec.egress.captureMode", kNotYet},
    UnenforcedField{"Sidecar.spec.outboundTrafficPolicy.mode=REGISTRY_ONLY",
                    "unknown destinations pass through as with ALLOW_ANY"},
    UnenforcedField{"Sidecar.spec.outboundTrafficPolicy.egressProxy", kNotYet},
    // Whole kinds parsed for later.
    UnenforcedField{"WorkloadEntry.spec", "WorkloadEntry resources are not implemented yet"},
};

}  // namespace

std::span<const UnenforcedField> unenforcedFields() { return kTable; }

const UnenforcedField* findUnenforced(std::string_view path) {
  const auto eq = path.find('=');
  for (const auto& entry : kTable) {
    if (eq == std::string_view::npos) {
      if (entry.path == path) return &entry;
    } else if (entry.path.size() == path.size() && entry.path.substr(0, eq) == path.substr(0, eq) &&
               equalsIgnoreCase(entry.path.substr(eq), path.substr(eq))) {
      return &entry;
    }
  }
  return nullptr;
}

}  // namespace sluice::config
