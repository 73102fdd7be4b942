// DestinationRule: host, traffic policy (load balancer, connection pool, outlier detection,
// client TLS, port-level settings), subsets, exportTo, workload selector.

#include <limits>
#include <map>

#include "config/decode/decoder.h"
#include "config/names.h"

namespace sluice::config::decode {

namespace {

// --- load balancer ---------------------------------------------------------------------------

bool isPrime(uint64_t x) {
  if (x < 2) return false;
  for (uint64_t d = 2; d * d <= x; ++d) {
    if (x % d == 0) return false;
  }
  return true;
}

std::optional<uint64_t> ringSize(Decoder& d, const At& v) {
  auto x = d.integer(v, 0, std::numeric_limits<int64_t>::max());
  if (!x) return std::nullopt;
  return static_cast<uint64_t>(*x);
}

constexpr Field<HTTPCookie> kCookieFields[] = {
    {"name", [](Decoder& d, const At& v, HTTPCookie& c) { c.name = d.strOr(v); }},
    {"path", [](Decoder& d, const At& v, HTTPCookie& c) { c.path = d.strOr(v); }},
    {"ttl", [](Decoder& d, const At& v, HTTPCookie& c) { c.ttl = d.duration(v); }},
    {"attributes", ignoreAny<HTTPCookie>},
};

constexpr Field<ConsistentHash> kRingHashFields[] = {
    {"minimumRingSize",
     [](Decoder& d, const At& v, ConsistentHash& h) {
       if (auto x = ringSize(d, v)) h.ring_hash_minimum_ring_size = *x;
     }},
};

struct MaglevDecoding {
  ConsistentHash& hash;
  bool has_size = false;  // an integer was given
};

constexpr Field<MaglevDecoding> kMaglevFields[] = {
    {"tableSize",
     [](Decoder& d, const At& v, MaglevDecoding& m) {
       auto x = d.integer(v, 0, std::numeric_limits<int64_t>::max());
       if (!x) return;
       m.has_size = true;
       if (*x >= 5000011) {
         d.error(v, "tableSize must be less than 5000011 for maglev");
       } else if (!isPrime(static_cast<uint64_t>(*x))) {
         d.error(v, "tableSize must be a prime number for maglev");
       } else {
         m.hash.maglev_table_size = static_cast<uint64_t>(*x);
       }
     }},
};

constexpr Field<ConsistentHash> kConsistentHashFields[] = {
    {"httpHeaderName",
     [](Decoder& d, const At& v, ConsistentHash& h) { h.http_header_name = d.str(v); }},
    {"httpCookie",
     [](Decoder& d, const At& v, ConsistentHash& h) {
       if (v.node.IsNull()) return;
       HTTPCookie c;
       d.object(v, kCookieFields, c);
       if (c.name.empty()) d.error(v.node, v.path + ".name", "name required for HttpCookie");
       h.http_cookie = c;
     }},
    {"useSourceIp", [](Decoder& d, const At& v,
                       ConsistentHash& h) { h.use_source_ip = d.boolean(v).value_or(false); }},
    {"httpQueryParameterName",
     [](Decoder& d, const At& v, ConsistentHash& h) { h.http_query_parameter_name = d.str(v); }},
    {"ringHash",
     [](Decoder& d, const At& v, ConsistentHash& h) {
       d.object(v, kRingHashFields, h);
       if (h.use_maglev) d.error(v, "only one of ringHash or maglev can be specified");
     }},
    {"maglev",
     [](Decoder& d, const At& v, ConsistentHash& h) {
       h.use_maglev = true;
       MaglevDecoding m{h};
       d.object(v, kMaglevFields, m);
       if (!m.has_size) d.error(v, "tableSize must be set for maglev");
       if (h.ring_hash_minimum_ring_size) {
         d.error(v, "only one of ringHash or maglev can be specified");
       }
     }},
    {"minimumRingSize",
     [](Decoder& d, const At& v, ConsistentHash& h) {
       if (auto x = ringSize(d, v)) h.minimum_ring_size = *x;
     }},
};

ConsistentHash consistentHash(Decoder& d, const At& n) {
  ConsistentHash h;
  d.object(n, kConsistentHashFields, h);
  const int keys = (h.http_header_name ? 1 : 0) + (h.http_cookie ? 1 : 0) +
                   (h.use_source_ip ? 1 : 0) + (h.http_query_parameter_name ? 1 : 0);
  if (h.minimum_ring_size && (h.use_maglev || h.ring_hash_minimum_ring_size)) {
    d.error(n, "only one of MinimumRingSize or Maglev/Ringhash can be specified");
  }
  if (keys == 0 && n.node.IsMap()) {
    d.error(n,
            "consistentHash must set one of httpHeaderName, httpCookie, useSourceIp or "
            "httpQueryParameterName");
  } else if (keys > 1) {
    d.error(n,
            "consistentHash may set only one of httpHeaderName, httpCookie, useSourceIp or "
            "httpQueryParameterName");
  }
  return h;
}

constexpr Field<LocalityLbSetting::Distribute> kDistributeFields[] = {
    {"from",
     [](Decoder& d, const At& v, LocalityLbSetting::Distribute& x) { x.from = d.strOr(v); }},
    {"to",
     [](Decoder& d, const At& v, LocalityLbSetting::Distribute& x) {
       if (!v.node.IsMap()) {
         if (!v.node.IsNull()) d.error(v, "expected an object of locality weights");
         return;
       }
       for (auto it = v.node.begin(); it != v.node.end(); ++it) {
         if (!it->first.IsScalar()) continue;
         const std::string& locality = it->first.Scalar();
         auto w = d.integer(At{it->second, Decoder::child(v.path, locality)}, 1, 100);
         if (w) x.to[locality] = static_cast<uint32_t>(*w);
       }
     }},
};

constexpr Field<LocalityLbSetting::Failover> kFailoverFields[] = {
    {"from", [](Decoder& d, const At& v, LocalityLbSetting::Failover& x) { x.from = d.strOr(v); }},
    {"to", [](Decoder& d, const At& v, LocalityLbSetting::Failover& x) { x.to = d.strOr(v); }},
};

constexpr Field<LocalityLbSetting> kLocalityLbFields[] = {
    {"distribute",
     [](Decoder& d, const At& v, LocalityLbSetting& l) {
       d.list(v, [&](const At& item) {
         LocalityLbSetting::Distribute x;
         d.object(item, kDistributeFields, x);
         l.distribute.push_back(std::move(x));
       });
     }},
    {"failover",
     [](Decoder& d, const At& v, LocalityLbSetting& l) {
       d.list(v, [&](const At& item) {
         LocalityLbSetting::Failover x;
         d.object(item, kFailoverFields, x);
         l.failover.push_back(std::move(x));
       });
     }},
    {"failoverPriority",
     [](Decoder& d, const At& v, LocalityLbSetting& l) { l.failover_priority = d.stringList(v); }},
    {"enabled", [](Decoder& d, const At& v, LocalityLbSetting& l) { l.enabled = d.boolean(v); }},
};

LocalityLbSetting localityLb(Decoder& d, const At& n) {
  LocalityLbSetting l;
  d.object(n, kLocalityLbFields, l);
  if (!l.distribute.empty() && !l.failover.empty()) {
    d.error(n, "can not simultaneously specify 'distribute' and 'failover'");
  }
  return l;
}

constexpr Field<LoadBalancerSettings> kWarmupFields[] = {
    {"duration", [](Decoder& d, const At& v,
                    LoadBalancerSettings& lb) { lb.warmup_duration_secs = d.duration(v); }},
    {"minimumPercent", [](Decoder& d, const At& v, LoadBalancerSettings&) { d.number(v); }},
    {"aggression", [](Decoder& d, const At& v, LoadBalancerSettings&) { d.number(v); }},
};

constexpr Field<LoadBalancerSettings> kLoadBalancerFields[] = {
    {"simple",
     [](Decoder& d, const At& v, LoadBalancerSettings& lb) {
       auto s = d.str(v);
       if (!s) return;
       using S = LoadBalancerSettings::Simple;
       static const std::map<std::string, S> kSimple = {
           {"UNSPECIFIED", S::kUnspecified}, {"LEAST_CONN", S::kLeastConn},
           {"RANDOM", S::kRandom},           {"PASSTHROUGH", S::kPassthrough},
           {"ROUND_ROBIN", S::kRoundRobin},  {"LEAST_REQUEST", S::kLeastRequest}};
       auto it = kSimple.find(*s);
       if (it == kSimple.end()) {
         d.error(v, fmt::format("invalid load balancer \"{}\" (UNSPECIFIED, LEAST_CONN, RANDOM, "
                                "PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST)",
                                *s));
         return;
       }
       lb.simple = it->second;
     }},
    {"consistentHash",
     [](Decoder& d, const At& v, LoadBalancerSettings& lb) {
       if (!v.node.IsNull()) lb.consistent_hash = consistentHash(d, v);
     }},
    {"localityLbSetting",
     [](Decoder& d, const At& v, LoadBalancerSettings& lb) {
       if (!v.node.IsNull()) lb.locality_lb_setting = localityLb(d, v);
     }},
    {"warmupDurationSecs",
     [](Decoder& d, const At& v, LoadBalancerSettings& lb) {
       lb.warmup_duration_secs = d.duration(v);
     }},
    {"warmup",
     [](Decoder& d, const At& v, LoadBalancerSettings& lb) { d.object(v, kWarmupFields, lb); }},
};

LoadBalancerSettings loadBalancer(Decoder& d, const At& n) {
  LoadBalancerSettings lb;
  lb.pos = d.pos(n.node);
  d.object(n, kLoadBalancerFields, lb);
  return lb;
}

// --- connection pool -------------------------------------------------------------------------

constexpr Field<TcpKeepalive> kKeepaliveFields[] = {
    {"probes", [](Decoder& d, const At& v, TcpKeepalive& k) { k.probes = d.u32(v); }},
    {"time", [](Decoder& d, const At& v, TcpKeepalive& k) { k.time = d.positiveDuration(v); }},
    {"interval",
     [](Decoder& d, const At& v, TcpKeepalive& k) { k.interval = d.positiveDuration(v); }},
};

using PoolTcp = ConnectionPoolSettings::Tcp;
using PoolHttp = ConnectionPoolSettings::Http;

constexpr Field<PoolTcp> kPoolTcpFields[] = {
    {"maxConnections", [](Decoder& d, const At& v,
                          PoolTcp& t) { t.max_connections = d.nonNegative(v, "max connections"); }},
    {"connectTimeout",
     [](Decoder& d, const At& v, PoolTcp& t) { t.connect_timeout = d.positiveDuration(v); }},
    {"tcpKeepalive",
     [](Decoder& d, const At& v, PoolTcp& t) {
       TcpKeepalive k;
       d.object(v, kKeepaliveFields, k);
       t.tcp_keepalive = k;
     }},
    {"maxConnectionDuration",
     [](Decoder& d, const At& v, PoolTcp& t) {
       t.max_connection_duration = d.positiveDuration(v);
     }},
    {"idleTimeout", [](Decoder& d, const At& v, PoolTcp& t) { t.idle_timeout = d.duration(v); }},
};

constexpr Field<PoolHttp> kPoolHttpFields[] = {
    {"http1MaxPendingRequests",
     [](Decoder& d, const At& v, PoolHttp& h) {
       h.http1_max_pending_requests = d.nonNegative(v, "http1 max pending requests");
     }},
    {"http2MaxRequests",
     [](Decoder& d, const At& v, PoolHttp& h) {
       h.http2_max_requests = d.nonNegative(v, "http2 max requests");
     }},
    {"maxRequestsPerConnection",
     [](Decoder& d, const At& v, PoolHttp& h) {
       h.max_requests_per_connection = d.nonNegative(v, "max requests per connection");
     }},
    {"maxRetries",
     [](Decoder& d, const At& v, PoolHttp& h) { h.max_retries = d.nonNegative(v, "max retries"); }},
    {"idleTimeout", [](Decoder& d, const At& v, PoolHttp& h) { h.idle_timeout = d.duration(v); }},
    {"h2UpgradePolicy",
     [](Decoder& d, const At& v, PoolHttp& h) {
       auto s = d.strOr(v);
       using P = PoolHttp::H2UpgradePolicy;
       if (s == "DEFAULT" || s.empty()) {
         h.h2_upgrade_policy = P::kDefault;
       } else if (s == "DO_NOT_UPGRADE") {
         h.h2_upgrade_policy = P::kDoNotUpgrade;
       } else if (s == "UPGRADE") {
         h.h2_upgrade_policy = P::kUpgrade;
       } else {
         d.error(v, fmt::format("invalid h2UpgradePolicy \"{}\" (DEFAULT, DO_NOT_UPGRADE, "
                                "UPGRADE)",
                                s));
       }
     }},
    {"useClientProtocol",
     [](Decoder& d, const At& v, PoolHttp& h) { h.use_client_protocol = d.boolean(v); }},
    {"maxConcurrentStreams",
     [](Decoder& d, const At& v, PoolHttp& h) {
       h.max_concurrent_streams = d.nonNegative(v, "max concurrent streams");
     }},
};

constexpr Field<ConnectionPoolSettings> kConnectionPoolFields[] = {
    {"tcp",
     [](Decoder& d, const At& v, ConnectionPoolSettings& cp) {
       if (v.node.IsNull()) return;
       PoolTcp t;
       d.object(v, kPoolTcpFields, t);
       cp.tcp = t;
     }},
    {"http",
     [](Decoder& d, const At& v, ConnectionPoolSettings& cp) {
       if (v.node.IsNull()) return;
       PoolHttp h;
       d.object(v, kPoolHttpFields, h);
       if (h.use_client_protocol.value_or(false) &&
           h.h2_upgrade_policy == PoolHttp::H2UpgradePolicy::kUpgrade) {
         d.error(v, "use client protocol must not be true when H2UpgradePolicy is UPGRADE");
       }
       cp.http = h;
     }},
};

ConnectionPoolSettings connectionPool(Decoder& d, const At& n) {
  ConnectionPoolSettings cp;
  cp.pos = d.pos(n.node);
  d.object(n, kConnectionPoolFields, cp);
  return cp;
}

// --- outlier detection, client TLS -----------------------------------------------------------

std::optional<int32_t> percentage(Decoder& d, const At& v) {
  auto x = d.i32(v);
  if (!x) return std::nullopt;
  if (*x < 0 || *x > 100) {
    d.error(v, fmt::format("percentage {} is not in range 0..100", *x));
    return std::nullopt;
  }
  return x;
}

constexpr Field<OutlierDetection> kOutlierFields[] = {
    {"consecutiveErrors",
     [](Decoder& d, const At& v, OutlierDetection& o) {
       d.warn(v,
              "outlier detection consecutive errors is deprecated, use "
              "consecutiveGatewayErrors or consecutive5xxErrors instead");
       auto x = d.nonNegative(v, "consecutive errors");
       if (x && !o.consecutive_5xx_errors) o.consecutive_5xx_errors = static_cast<uint32_t>(*x);
     }},
    {"consecutive5xxErrors",
     [](Decoder& d, const At& v, OutlierDetection& o) { o.consecutive_5xx_errors = d.u32(v); }},
    {"consecutiveGatewayErrors",
     [](Decoder& d, const At& v, OutlierDetection& o) { o.consecutive_gateway_errors = d.u32(v); }},
    {"interval",
     [](Decoder& d, const At& v, OutlierDetection& o) { o.interval = d.positiveDuration(v); }},
    {"baseEjectionTime", [](Decoder& d, const At& v,
                            OutlierDetection& o) { o.base_ejection_time = d.positiveDuration(v); }},
    {"maxEjectionPercent",
     [](Decoder& d, const At& v, OutlierDetection& o) {
       if (auto x = percentage(d, v)) o.max_ejection_percent = *x;
     }},
    {"minHealthPercent",
     [](Decoder& d, const At& v, OutlierDetection& o) {
       if (auto x = percentage(d, v)) o.min_health_percent = *x;
     }},
    {"splitExternalLocalOriginErrors",
     [](Decoder& d, const At& v, OutlierDetection&) { d.boolean(v); }},
    {"consecutiveLocalOriginFailures",
     [](Decoder& d, const At& v, OutlierDetection&) { d.u32(v); }},
};

OutlierDetection outlier(Decoder& d, const At& n) {
  OutlierDetection o;
  o.pos = d.pos(n.node);
  d.object(n, kOutlierFields, o);
  return o;
}

constexpr Field<ClientTLSSettings> kClientTlsFields[] = {
    {"mode",
     [](Decoder& d, const At& v, ClientTLSSettings& t) {
       t.mode = d.strOr(v);
       if (t.mode != "DISABLE" && t.mode != "SIMPLE" && t.mode != "MUTUAL" &&
           t.mode != "ISTIO_MUTUAL") {
         d.error(v, fmt::format("invalid TLS mode \"{}\" (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL)",
                                t.mode));
       }
     }},
    {"clientCertificate",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.client_certificate = d.strOr(v); }},
    {"privateKey",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.private_key = d.strOr(v); }},
    {"caCertificates",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.ca_certificates = d.strOr(v); }},
    {"credentialName",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.credential_name = d.strOr(v); }},
    {"subjectAltNames",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.subject_alt_names = d.stringList(v); }},
    {"sni", [](Decoder& d, const At& v, ClientTLSSettings& t) { t.sni = d.strOr(v); }},
    {"insecureSkipVerify",
     [](Decoder& d, const At& v, ClientTLSSettings& t) { t.insecure_skip_verify = d.boolean(v); }},
    {"caCrl", ignoreString<ClientTLSSettings>},
};

ClientTLSSettings clientTls(Decoder& d, const At& n) {
  ClientTLSSettings t;
  t.pos = d.pos(n.node);
  d.object(n, kClientTlsFields, t);
  if (t.mode == "MUTUAL" && t.credential_name.empty()) {
    if (t.client_certificate.empty()) d.error(n, "client certificate required for mutual tls");
    if (t.private_key.empty()) d.error(n, "private key required for mutual tls");
  }
  return t;
}

// --- traffic policy --------------------------------------------------------------------------

// The parts a traffic policy and each of its port-level settings share.
constexpr auto kLoadBalancerField = [](Decoder& d, const At& v, auto& p) {
  if (!v.node.IsNull()) p.load_balancer = loadBalancer(d, v);
};
constexpr auto kConnectionPoolField = [](Decoder& d, const At& v, auto& p) {
  if (!v.node.IsNull()) p.connection_pool = connectionPool(d, v);
};
constexpr auto kOutlierField = [](Decoder& d, const At& v, auto& p) {
  if (!v.node.IsNull()) p.outlier_detection = outlier(d, v);
};
constexpr auto kClientTlsField = [](Decoder& d, const At& v, auto& p) {
  if (!v.node.IsNull()) p.tls = clientTls(d, v);
};

constexpr Field<PortTrafficPolicy> kPortTrafficPolicyFields[] = {
    {"port",
     [](Decoder& d, const At& v, PortTrafficPolicy& p) {
       if (!v.node.IsNull()) p.port = d.portSelector(v);
     }},
    {"loadBalancer", kLoadBalancerField},
    {"connectionPool", kConnectionPoolField},
    {"outlierDetection", kOutlierField},
    {"tls", kClientTlsField},
};

constexpr Field<TrafficPolicy> kTrafficPolicyFields[] = {
    {"loadBalancer", kLoadBalancerField},
    {"connectionPool", kConnectionPoolField},
    {"outlierDetection", kOutlierField},
    {"tls", kClientTlsField},
    {"portLevelSettings",
     [](Decoder& d, const At& v, TrafficPolicy& tp) {
       d.list(v, [&](const At& item) {
         PortTrafficPolicy p;
         p.pos = d.pos(item.node);
         d.object(item, kPortTrafficPolicyFields, p);
         if (!p.port) d.error(item, "portTrafficPolicy must have valid port");
         tp.port_level_settings.push_back(std::move(p));
       });
     }},
    // Accepted (and listed as not enforced), not modelled.
    {"tunnel", ignoreAny<TrafficPolicy>},
    {"proxyProtocol", ignoreAny<TrafficPolicy>},
    {"retryBudget", ignoreAny<TrafficPolicy>},
};

TrafficPolicy trafficPolicy(Decoder& d, const At& n) {
  TrafficPolicy tp;
  tp.pos = d.pos(n.node);
  d.object(n, kTrafficPolicyFields, tp);
  if (n.node.IsMap() && n.node.size() == 0)
    d.error(n, "traffic policy must have at least one field");
  return tp;
}

// --- the resource ----------------------------------------------------------------------------

constexpr Field<Subset> kSubsetFields[] = {
    {"name",
     [](Decoder& d, const At& v, Subset& s) {
       s.name = d.strOr(v);
       if (!s.name.empty() && !isDns1123Label(s.name)) {
         d.error(v, fmt::format("subset name is invalid: {}", s.name));
       }
     }},
    {"labels", [](Decoder& d, const At& v, Subset& s) { s.labels = d.stringMap(v); }},
    {"trafficPolicy",
     [](Decoder& d, const At& v, Subset& s) {
       if (!v.node.IsNull()) s.traffic_policy = trafficPolicy(d, v);
     }},
};

constexpr Field<DestinationRule> kWorkloadSelectorFields[] = {
    {"matchLabels",
     [](Decoder& d, const At& v, DestinationRule& dr) { dr.workload_selector = d.stringMap(v); }},
};

constexpr Field<DestinationRule> kDestinationRuleFields[] = {
    {"host",
     [](Decoder& d, const At& v, DestinationRule& dr) {
       auto s = d.str(v);
       if (!s) return;
       dr.host = *s;
       if (auto problem = checkHost(*s)) d.error(v, *problem);
     },
     "host is required", RequiredAt::kField},
    {"trafficPolicy",
     [](Decoder& d, const At& v, DestinationRule& dr) {
       if (!v.node.IsNull()) dr.traffic_policy = trafficPolicy(d, v);
     }},
    {"subsets",
     [](Decoder& d, const At& v, DestinationRule& dr) {
       d.list(v, [&](const At& item) {
         Subset s;
         s.pos = d.pos(item.node);
         if (item.node.IsNull()) {
           d.error(item, "subset may not be null");
           return;
         }
         d.object(item, kSubsetFields, s);
         if (s.name.empty()) d.error(item.node, item.path + ".name", "subset name cannot be empty");
         dr.subsets.push_back(std::move(s));
       });
     }},
    {"exportTo",
     [](Decoder& d, const At& v, DestinationRule& dr) { dr.export_to = d.stringList(v); }},
    {"workloadSelector", [](Decoder& d, const At& v,
                            DestinationRule& dr) { d.object(v, kWorkloadSelectorFields, dr); }},
};

}  // namespace

void decodeDestinationRule(Decoder& d, const YAML::Node& spec) {
  DestinationRule dr;
  dr.meta = d.meta();
  d.object(At{spec, "spec"}, kDestinationRuleFields, dr);
  dr.host_fqdn = resolveShortName(dr.host, dr.meta.ns);
  d.out().destination_rules.push_back(std::move(dr));
}

}  // namespace sluice::config::decode
