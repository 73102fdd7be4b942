// Clusters and subsets: DestinationRules merged per host, subset endpoints, LB / pool / outlier.
#include <fmt/format.h>

#include <algorithm>

#include "control/snapshot/builder.h"
#include "core/strings.h"

namespace sluice::control::snapshot {

using proxy::Cluster;
using proxy::clusterName;
using proxy::ConnectionPoolSettings;
using proxy::ConsistentHashKey;
using proxy::Endpoint;
using proxy::LbPolicy;
using proxy::LbSettings;
using proxy::MeshService;
using proxy::OutlierSettings;

namespace {

void applyLb(const config::LoadBalancerSettings& lb, LbSettings& out) {
  out = LbSettings{};
  if (lb.consistent_hash) {
    const auto& ch = *lb.consistent_hash;
    out.policy = ch.use_maglev ? LbPolicy::kMaglev : LbPolicy::kRingHash;
    if (ch.http_header_name) {
      out.hash_key = {ConsistentHashKey::Kind::kHeader, toLower(*ch.http_header_name)};
    } else if (ch.http_cookie) {
      out.hash_key = {ConsistentHashKey::Kind::kCookie, ch.http_cookie->name};
    } else if (ch.use_source_ip) {
      out.hash_key = {ConsistentHashKey::Kind::kSourceIp, ""};
    } else if (ch.http_query_parameter_name) {
      out.hash_key = {ConsistentHashKey::Kind::kQueryParameter, *ch.http_query_parameter_name};
    }
    if (ch.ring_hash_minimum_ring_size)
      out.ring_size = *ch.ring_hash_minimum_ring_size;
    else if (ch.minimum_ring_size)
      out.ring_size = *ch.minimum_ring_size;
    if (ch.maglev_table_size) out.maglev_size = *ch.maglev_table_size;
    return;
  }
  using S = config::LoadBalancerSettings::Simple;
  switch (lb.simple.value_or(S::kUnspecified)) {
    case S::kUnspecified:
    case S::kRoundRobin:
      out.policy = LbPolicy::kRoundRobin;
      break;
    case S::kRandom:
      out.policy = LbPolicy::kRandom;
      break;
    case S::kLeastConn:
    case S::kLeastRequest:
      out.policy = LbPolicy::kLeastRequest;
      break;
    case S::kPassthrough:
      out.policy = LbPolicy::kPassthrough;
      break;
  }
}

void applyPool(const config::ConnectionPoolSettings& cp, ConnectionPoolSettings& out) {
  out = ConnectionPoolSettings{};
  auto limit = [](std::optional<int32_t> v, uint32_t def) {
    return v && *v > 0 ? static_cast<uint32_t>(*v) : def;
  };
  if (cp.tcp) {
    out.max_connections = limit(cp.tcp->max_connections, out.max_connections);
    if (cp.tcp->connect_timeout) out.connect_timeout = toMs(*cp.tcp->connect_timeout);
  }
  if (cp.http) {
    out.max_pending_requests = limit(cp.http->http1_max_pending_requests, out.max_pending_requests);
    if (cp.http->max_requests_per_connection && *cp.http->max_requests_per_connection >= 0) {
      out.max_requests_per_connection =
          static_cast<uint32_t>(*cp.http->max_requests_per_connection);
    }
    if (cp.http->idle_timeout) out.idle_timeout = toMs(*cp.http->idle_timeout);
    out.max_requests = limit(cp.http->http2_max_requests, out.max_requests);
    out.max_concurrent_streams = limit(cp.http->max_concurrent_streams, out.max_concurrent_streams);
  }
}

void applyOutlier(const config::OutlierDetection& od, OutlierSettings& out) {
  out = OutlierSettings{};
  out.enabled = true;
  if (od.consecutive_5xx_errors) out.consecutive_5xx = *od.consecutive_5xx_errors;
  if (od.consecutive_gateway_errors) out.consecutive_gateway = *od.consecutive_gateway_errors;
  if (od.interval) out.interval = toMs(*od.interval);
  if (od.base_ejection_time) out.base_ejection = toMs(*od.base_ejection_time);
  if (od.max_ejection_percent) {
    out.max_ejection_percent = static_cast<uint32_t>(std::clamp(*od.max_ejection_percent, 0, 100));
  }
  if (od.min_health_percent) {
    out.min_health_percent = static_cast<uint32_t>(std::clamp(*od.min_health_percent, 0, 100));
  }
}

// Applies one TrafficPolicy (after resolving its port-level entry) onto `c`, replacing whole
// components it sets. `port_level_replaces_all`: a subset port-level entry replaces all four.
void applyPolicy(const config::TrafficPolicy& tp, uint32_t port, Cluster& c) {
  const config::PortTrafficPolicy* pl = nullptr;
  for (const auto& p : tp.port_level_settings) {
    if (p.port && *p.port == port && port != 0) pl = &p;
  }
  auto lb = pl != nullptr ? pl->load_balancer : tp.load_balancer;
  auto cp = pl != nullptr ? pl->connection_pool : tp.connection_pool;
  auto od = pl != nullptr ? pl->outlier_detection : tp.outlier_detection;
  if (pl != nullptr) {
    // Port-level settings replace the destination-level ones; unset components go default.
    c.lb = LbSettings{};
    c.pool = ConnectionPoolSettings{};
    c.outlier = OutlierSettings{};
  }
  if (lb) applyLb(*lb, c.lb);
  if (cp) applyPool(*cp, c.pool);
  if (od) applyOutlier(*od, c.outlier);
}

// Istio protocol selection for a ServiceEntry port: the protocol field, else the name's prefix
// ("grpc", "grpc-x", "http2-x"). GRPC-WEB is HTTP/1.1 to the upstream.
bool portSpeaksHttp2(const config::ServicePort& p) {
  if (!p.protocol.empty()) return p.protocol == "GRPC" || p.protocol == "HTTP2";
  std::string name = toLower(p.name);
  auto prefixed = [&](std::string_view proto) {
    return name == proto || (name.starts_with(proto) && name[proto.size()] == '-');
  };
  return prefixed("grpc") || prefixed("http2");
}

// The h2UpgradePolicy of the policy that applies to the port (port-level entry first).
std::optional<config::ConnectionPoolSettings::Http::H2UpgradePolicy> h2Policy(
    const config::TrafficPolicy& tp, uint32_t port) {
  const config::ConnectionPoolSettings* cp = tp.connection_pool ? &*tp.connection_pool : nullptr;
  for (const auto& p : tp.port_level_settings) {
    if (p.port && *p.port == port && port != 0) cp = p.connection_pool ? &*p.connection_pool : cp;
  }
  if (cp == nullptr || !cp->http) return std::nullopt;
  return cp->http->h2_upgrade_policy;
}

bool contains32(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

void Builder::indexDestinationRules() {
  for (const auto& dr : in_.config.destination_rules) {
    std::string host = toLower(dr.host_fqdn.empty() ? dr.host : dr.host_fqdn);
    auto [it, inserted] = dr_by_host_.emplace(host, MergedRule{});
    MergedRule& m = it->second;
    std::string name = dr.meta.ns + "/" + dr.meta.name;
    if (inserted) {
      m.name = name;
      m.policy = dr.traffic_policy ? &*dr.traffic_policy : nullptr;
    } else if (dr.traffic_policy) {
      if (m.policy == nullptr) {
        m.policy = &*dr.traffic_policy;
      } else {
        diag(
            fmt::format("{}DestinationRule {}: host '{}' already has a traffic policy from {}; "
                        "the first one wins",
                        where(dr.meta.pos), name, host, m.name));
      }
      m.name += "," + name;
    }
    for (const auto& s : dr.subsets) {
      if (m.subsets.count(s.name) != 0) {
        diag(
            fmt::format("{}DestinationRule {}: subset '{}' of host '{}' is already defined; "
                        "the first one wins",
                        where(s.pos), name, s.name, host));
        continue;
      }
      m.subsets.emplace(s.name, &s);
    }
  }
}

const Builder::MergedRule* Builder::ruleFor(const std::string& fqdn) const {
  auto it = dr_by_host_.find(fqdn);
  if (it != dr_by_host_.end()) return &it->second;
  // Wildcard DestinationRule hosts: the most specific (longest) one covering the service.
  const MergedRule* best = nullptr;
  size_t best_len = 0;
  for (const auto& [host, rule] : dr_by_host_) {
    if (host.starts_with("*") && hostCovers(host, fqdn) && host.size() >= best_len) {
      best = &rule;
      best_len = host.size();
    }
  }
  return best;
}

// Finds or creates the cluster for (host, subset, port); -1 with `missing` set when the host
// or subset is unknown.
int Builder::clusterFor(const std::string& host_in, const std::string& subset, uint32_t port,
                        std::string& missing) {
  std::string host = toLower(host_in);
  int sidx = serviceIndex(host);
  if (sidx < 0) {
    missing = fmt::format("unknown service host '{}'", host_in);
    return -1;
  }
  const MeshService& svc = snap_->services[sidx];
  uint32_t cport = 0;
  if (svc.origin == MeshService::Origin::kServiceEntry) {
    cport = port != 0 ? port : (svc.ports.empty() ? 0 : svc.ports.front());
    if (!svc.ports.empty() && !contains32(svc.ports, cport)) {
      missing = fmt::format("port {} is not a port of ServiceEntry host '{}'", cport, svc.fqdn);
      return -1;
    }
  }
  std::string name = clusterName(svc.fqdn, subset, cport);
  auto found = snap_->cluster_by_name.find(name);
  if (found != snap_->cluster_by_name.end()) return found->second;

  const MergedRule* rule = ruleFor(svc.fqdn);
  const config::Subset* sub = nullptr;
  if (!subset.empty()) {
    if (rule != nullptr) {
      auto it = rule->subsets.find(subset);
      if (it != rule->subsets.end()) sub = it->second;
    }
    if (sub == nullptr) {
      missing = rule == nullptr
                    ? fmt::format("no DestinationRule for host '{}' defines subset '{}'", svc.fqdn,
                                  subset)
                    : fmt::format("DestinationRule {} for host '{}' has no subset '{}'", rule->name,
                                  svc.fqdn, subset);
      return -1;
    }
  }
  Cluster c;
  c.name = name;
  c.host = svc.fqdn;
  c.subset = subset;
  c.port = cport;
  if (rule != nullptr && rule->policy != nullptr) {
    applyPolicy(*rule->policy, cport, c);
    c.policy_source = "DestinationRule " + rule->name;
  }
  if (sub != nullptr && sub->traffic_policy) {
    applyPolicy(*sub->traffic_policy, cport, c);
    c.policy_source = "DestinationRule " + rule->name + " subset " + subset;
  }
  // Upstream protocol: the port's (Istio protocol selection), then h2UpgradePolicy (the subset's
  // policy over the host's): UPGRADE turns HTTP/1.1 into HTTP/2; DO_NOT_UPGRADE keeps a port
  // declared HTTP/1.1 as it is (a GRPC / HTTP2 port stays HTTP/2: it cannot be downgraded).
  auto se = service_entry_of_.find(sidx);
  if (se != service_entry_of_.end()) {
    for (const auto& p : se->second->ports) {
      if (p.number == cport && portSpeaksHttp2(p)) c.pool.http2 = true;
    }
  }
  using H2 = config::ConnectionPoolSettings::Http::H2UpgradePolicy;
  std::optional<H2> upgrade;
  if (rule != nullptr && rule->policy != nullptr) upgrade = h2Policy(*rule->policy, cport);
  if (sub != nullptr && sub->traffic_policy) {
    if (auto sp = h2Policy(*sub->traffic_policy, cport)) upgrade = sp;
  }
  if (upgrade == H2::kUpgrade) c.pool.http2 = true;
  std::vector<Endpoint> eps;
  if (se != service_entry_of_.end()) {
    eps = serviceEntryEndpoints(*se->second, svc.fqdn, cport);
    c.original_destination =
        se->second->resolution == config::ServiceEntry::Resolution::kNone && eps.empty();
  } else {
    eps = svc.endpoints;
  }
  for (auto& ep : eps) {
    if (sub == nullptr || labelsSuperset(ep.labels, sub->labels)) c.endpoints.push_back(ep);
  }
  snap_->clusters.push_back(std::move(c));
  int idx = static_cast<int>(snap_->clusters.size() - 1);
  snap_->cluster_by_name.emplace(name, idx);
  return idx;
}

}  // namespace sluice::control::snapshot
