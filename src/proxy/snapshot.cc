#include "proxy/snapshot.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <re2/re2.h>

#include "core/strings.h"
#include "proxy/vip_allocator.h"

namespace sluice::proxy {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

milliseconds toMs(const config::Duration& d) { return duration_cast<milliseconds>(d.value); }

std::string where(const config::Position& pos) {
  return pos.file.empty() ? std::string() : pos.toString() + ": ";
}

std::string vsName(const config::VirtualService& vs) {
  return vs.meta.ns + "/" + vs.meta.name;
}

// Does host pattern `pattern` (maybe "*" or "*.x.com") cover `host` (maybe itself a wildcard)?
bool hostCovers(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".x.com"
    if (host.starts_with("*.")) return host.substr(1).ends_with(suffix);
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

// Istio's symmetric host overlap.
bool hostsOverlap(std::string_view a, std::string_view b) {
  return hostCovers(a, b) || hostCovers(b, a);
}

bool labelsSuperset(const std::map<std::string, std::string>& have,
                    const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

StringMatcher compileMatch(const config::StringMatch& m, bool ignore_case = false) {
  StringMatcher out;
  switch (m.kind) {
    case config::StringMatch::Kind::kExact: out.kind = StringMatcher::Kind::kExact; break;
    case config::StringMatch::Kind::kPrefix: out.kind = StringMatcher::Kind::kPrefix; break;
    case config::StringMatch::Kind::kRegex: out.kind = StringMatcher::Kind::kRegex; break;
    case config::StringMatch::Kind::kPresent: out.kind = StringMatcher::Kind::kPresent; break;
  }
  out.value = m.value;
  out.re = m.regex;
  if (m.kind == config::StringMatch::Kind::kRegex && out.re == nullptr && !m.value.empty()) {
    auto re = std::make_shared<re2::RE2>(m.value, re2::RE2::Quiet);
    if (re->ok()) out.re = re;
  }
  // Istio turns `regex: "*"` on headers into a presence check; a regex that failed to compile
  // never matches (the loader reported it).
  if (out.kind != StringMatcher::Kind::kRegex) out.re.reset();
  if (ignore_case && (out.kind == StringMatcher::Kind::kExact ||
                      out.kind == StringMatcher::Kind::kPrefix)) {
    out.ignore_case = true;
    out.value = toLower(out.value);
  }
  return out;
}

HeaderOps compileHeaderOps(const config::HeaderOperations& ops) {
  HeaderOps out;
  out.set = ops.set;
  out.add = ops.add;
  out.remove = ops.remove;
  return out;
}

// Which sidecar/gateway contexts a VirtualService applies to: "mesh" and/or "ns/name".
std::vector<std::string> normalizeGateways(const std::vector<std::string>& gateways,
                                           const std::string& vs_ns) {
  std::vector<std::string> out;
  if (gateways.empty()) {
    out.emplace_back("mesh");
    return out;
  }
  for (const auto& g : gateways) {
    if (g == "mesh") {
      out.emplace_back("mesh");
    } else if (g.starts_with("./")) {
      out.push_back(vs_ns + "/" + g.substr(2));
    } else if (g.find('/') != std::string::npos) {
      out.push_back(g);
    } else if (g.find('.') != std::string::npos) {
      // Legacy FQDN form name.ns.svc.cluster.local -> ns/name.
      auto parts = split(g, '.');
      if (parts.size() >= 2) out.push_back(std::string(parts[1]) + "/" + std::string(parts[0]));
    } else {
      out.push_back(vs_ns + "/" + g);
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class Builder {
 public:
  explicit Builder(const SnapshotInputs& in) : in_(in), snap_(std::make_shared<MeshSnapshot>()) {}

  std::shared_ptr<const MeshSnapshot> build() {
    snap_->version = in_.version;
    snap_->default_namespace = in_.default_namespace;
    snap_->domain_suffix = in_.domain_suffix;
    snap_->registry_status = in_.registry_status;
    addRegistryServices();
    addServiceEntries();
    assignVips();
    indexDestinationRules();
    // The default cluster of every service (its default route, and what /clusters lists).
    for (size_t i = 0; i < snap_->services.size(); ++i) {
      std::string missing;
      default_cluster_.push_back(clusterFor(snap_->services[i].fqdn, "", 0, missing));
    }
    buildMeshRoutes();
    buildTcpRoutes();
    buildGatewayListeners();
    buildReverseDns();
    buildNacosRewrite();
    noteUnenforced();
    return snap_;
  }

 private:
  void diag(std::string message) { snap_->diagnostics.push_back(std::move(message)); }

  void addHostForms(int idx, const std::string& fqdn) {
    auto add = [&](std::string host) { snap_->service_by_host.emplace(std::move(host), idx); };
    add(fqdn);
    // name.ns.svc.<cluster domain>: also name, name.ns, name.ns.svc (same-namespace view).
    std::string marker = ".svc." + clusterDomain();
    auto pos = fqdn.find(marker);
    if (pos != std::string::npos && pos + marker.size() == fqdn.size()) {
      std::string name_ns = fqdn.substr(0, pos);  // name.ns
      add(name_ns);
      add(name_ns + ".svc");
      auto dot = name_ns.find('.');
      if (dot != std::string::npos && name_ns.substr(dot + 1) == in_.default_namespace) {
        add(name_ns.substr(0, dot));
      }
    }
  }

  std::string clusterDomain() const {
    // domain_suffix is "svc.cluster.local": the cluster domain is what follows "svc.".
    std::string_view s = in_.domain_suffix;
    if (s.starts_with("svc.")) s.remove_prefix(4);
    return std::string(s);
  }

  std::string registryFqdn(const std::string& name) const {
    return toLower(name) + "." + in_.default_namespace + "." + in_.domain_suffix;
  }

  int serviceIndex(const std::string& host) const {
    auto it = snap_->service_by_host.find(toLower(host));
    return it == snap_->service_by_host.end() ? -1 : it->second;
  }

  void addRegistryServices() {
    for (const auto& rs : in_.registry_services) {
      std::string fqdn = registryFqdn(rs.name);
      int idx = serviceIndex(fqdn);
      if (idx < 0) {
        MeshService svc;
        svc.fqdn = fqdn;
        svc.name = rs.name;
        svc.ns = in_.default_namespace;
        svc.origin = MeshService::Origin::kRegistry;
        svc.source = fmt::format("registry service {} (namespace {}, group {})", rs.name,
                                 rs.namespace_id.empty() ? "public" : rs.namespace_id,
                                 rs.group.empty() ? "DEFAULT_GROUP" : rs.group);
        snap_->services.push_back(std::move(svc));
        idx = static_cast<int>(snap_->services.size() - 1);
        addHostForms(idx, fqdn);
      } else {
        snap_->services[idx].source += fmt::format("; also group {} namespace {}", rs.group,
                                                   rs.namespace_id);
      }
      auto& svc = snap_->services[idx];
      for (const auto& inst : rs.instances) {
        if (!inst.enabled) continue;
        Endpoint ep;
        ep.ip = inst.ip;
        ep.port = inst.port;
        ep.labels = inst.metadata;
        // Registry weights are doubles (Nacos 1.0 default); keep two decimals of precision.
        double w = std::max(0.0, inst.weight);
        ep.weight = static_cast<uint32_t>(std::lround(w * 100));
        ep.healthy = inst.healthy && ep.weight > 0;
        if (ep.weight == 0) ep.weight = 1;
        svc.endpoints.push_back(std::move(ep));
      }
    }
  }

  void addServiceEntries() {
    for (const auto& se : in_.config.service_entries) {
      std::string name = se.meta.ns + "/" + se.meta.name;
      for (const auto& host_raw : se.hosts) {
        std::string host = toLower(host_raw);
        if (host.starts_with("*")) {
          diag(fmt::format("{}ServiceEntry {}: wildcard host '{}' is not served (no endpoints to "
                           "route to)", where(se.meta.pos), name, host_raw));
          continue;
        }
        int idx = serviceIndex(host);
        if (idx >= 0) {
          diag(fmt::format("{}ServiceEntry {}: host '{}' is already defined by {}; ignored",
                           where(se.meta.pos), name, host, snap_->services[idx].source));
          continue;
        }
        MeshService svc;
        svc.fqdn = host;
        svc.name = host;
        svc.ns = se.meta.ns;
        svc.origin = MeshService::Origin::kServiceEntry;
        svc.source = "ServiceEntry " + name;
        for (const auto& p : se.ports) svc.ports.push_back(p.number);
        svc.endpoints = serviceEntryEndpoints(se, host, se.ports.empty() ? 0 : se.ports[0].number);
        snap_->services.push_back(std::move(svc));
        idx = static_cast<int>(snap_->services.size() - 1);
        addHostForms(idx, host);
        service_entry_of_[idx] = &se;
      }
    }
  }

  std::vector<Endpoint> serviceEntryEndpoints(const config::ServiceEntry& se,
                                              const std::string& host, uint32_t port) {
    const config::ServicePort* sp = nullptr;
    for (const auto& p : se.ports) {
      if (p.number == port) sp = &p;
    }
    auto endpointPort = [&](const config::WorkloadEndpoint& we) -> uint32_t {
      if (sp != nullptr) {
        auto it = we.ports.find(sp->name);
        if (it != we.ports.end()) return it->second;
        if (sp->target_port) return *sp->target_port;
        return sp->number;
      }
      return port;
    };
    std::vector<Endpoint> out;
    auto addEndpoint = [&](const config::WorkloadEndpoint& we) {
      Endpoint ep;
      ep.ip = we.address;
      ep.port = static_cast<uint16_t>(endpointPort(we));
      ep.labels = we.labels;
      ep.weight = we.weight.value_or(1);
      if (ep.weight == 0) ep.weight = 1;
      out.push_back(std::move(ep));
    };
    for (const auto& we : se.endpoints) addEndpoint(we);
    if (se.workload_selector) {
      for (const auto& wle : in_.config.workload_entries) {
        if (wle.meta.ns == se.meta.ns && labelsSuperset(wle.spec.labels, *se.workload_selector)) {
          addEndpoint(wle.spec);
        }
      }
    }
    if (out.empty() && se.resolution == config::ServiceEntry::Resolution::kDns) {
      // DNS without endpoints: the host name itself is resolved when connecting.
      Endpoint ep;
      ep.ip = host;
      ep.port = static_cast<uint16_t>(sp != nullptr && sp->target_port ? *sp->target_port : port);
      out.push_back(std::move(ep));
    }
    return out;
  }

  // ServiceEntry single addresses first (they are answered by DNS and reserved in the VIP
  // range), then a VIP for every registry service.
  void assignVips() {
    std::vector<net::IpAddress> reserved;
    for (const auto& [idx, se] : service_entry_of_) {
      auto& svc = snap_->services[idx];
      for (const auto& text : se->addresses) {
        auto cidr = net::Cidr::parse(text);
        if (!cidr) continue;
        if (cidr->prefix_len != (cidr->base.v6 ? 128 : 32)) {
          diag(fmt::format("{}ServiceEntry {}/{}: address range {} is not enforced (only single "
                           "addresses are answered by DNS and matched as a destination)",
                           where(se->meta.pos), se->meta.ns, se->meta.name, text));
          continue;
        }
        std::string ip = cidr->base.toString();
        auto [it, inserted] = snap_->service_by_vip.emplace(ip, idx);
        if (!inserted && it->second != idx) {
          diag(fmt::format("{}ServiceEntry {}/{}: address {} of host '{}' is already the address "
                           "of '{}'; connections to it go to '{}'",
                           where(se->meta.pos), se->meta.ns, se->meta.name, ip, svc.fqdn,
                           snap_->services[it->second].fqdn, snap_->services[it->second].fqdn));
        }
        if (std::find(svc.addresses.begin(), svc.addresses.end(), ip) == svc.addresses.end()) {
          svc.addresses.push_back(ip);
        }
        reserved.push_back(cidr->base);
      }
    }
    if (!in_.vip_range) return;
    if (in_.vip_range->base.v6) {
      diag(fmt::format("VIP range {} is not an IPv4 range; no service gets a VIP",
                       in_.vip_range->toString()));
      return;
    }
    std::vector<std::string> names;
    for (const auto& svc : snap_->services) {
      if (svc.origin == MeshService::Origin::kRegistry) names.push_back(svc.fqdn);
    }
    std::map<std::string, net::IpAddress> previous;
    for (const auto& [fqdn, text] : in_.previous_vips) {
      if (auto ip = net::IpAddress::parse(text)) previous.emplace(fqdn, *ip);
    }
    auto vips = allocateVips(*in_.vip_range, names, previous, reserved);
    for (size_t i = 0; i < snap_->services.size(); ++i) {
      auto& svc = snap_->services[i];
      if (svc.origin != MeshService::Origin::kRegistry) continue;
      auto it = vips.find(svc.fqdn);
      if (it == vips.end()) {
        diag(fmt::format("VIP range {} is full: service '{}' gets no VIP (DNS forwards its name)",
                         in_.vip_range->toString(), svc.fqdn));
        continue;
      }
      svc.vip = it->second.toString();
      snap_->service_by_vip.emplace(svc.vip, static_cast<int>(i));
    }
  }

  void indexDestinationRules() {
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
          diag(fmt::format("{}DestinationRule {}: host '{}' already has a traffic policy from {}; "
                           "the first one wins", where(dr.meta.pos), name, host, m.name));
        }
        m.name += "," + name;
      }
      for (const auto& s : dr.subsets) {
        if (m.subsets.count(s.name) != 0) {
          diag(fmt::format("{}DestinationRule {}: subset '{}' of host '{}' is already defined; "
                           "the first one wins", where(s.pos), name, s.name, host));
          continue;
        }
        m.subsets.emplace(s.name, &s);
      }
    }
  }

  struct MergedRule {
    std::string name;
    const config::TrafficPolicy* policy = nullptr;
    std::map<std::string, const config::Subset*> subsets;
  };

  const MergedRule* ruleFor(const std::string& fqdn) const {
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

  static void applyLb(const config::LoadBalancerSettings& lb, LbSettings& out) {
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
      if (ch.ring_hash_minimum_ring_size) out.ring_size = *ch.ring_hash_minimum_ring_size;
      else if (ch.minimum_ring_size) out.ring_size = *ch.minimum_ring_size;
      if (ch.maglev_table_size) out.maglev_size = *ch.maglev_table_size;
      return;
    }
    using S = config::LoadBalancerSettings::Simple;
    switch (lb.simple.value_or(S::kUnspecified)) {
      case S::kUnspecified:
      case S::kRoundRobin: out.policy = LbPolicy::kRoundRobin; break;
      case S::kRandom: out.policy = LbPolicy::kRandom; break;
      case S::kLeastConn:
      case S::kLeastRequest: out.policy = LbPolicy::kLeastRequest; break;
      case S::kPassthrough: out.policy = LbPolicy::kPassthrough; break;
    }
  }

  static void applyPool(const config::ConnectionPoolSettings& cp, ConnectionPoolSettings& out) {
    out = ConnectionPoolSettings{};
    auto limit = [](std::optional<int32_t> v, uint32_t def) {
      return v && *v > 0 ? static_cast<uint32_t>(*v) : def;
    };
    if (cp.tcp) {
      out.max_connections = limit(cp.tcp->max_connections, out.max_connections);
      if (cp.tcp->connect_timeout) out.connect_timeout = toMs(*cp.tcp->connect_timeout);
    }
    if (cp.http) {
      out.max_pending_requests = limit(cp.http->http1_max_pending_requests,
                                       out.max_pending_requests);
      if (cp.http->max_requests_per_connection && *cp.http->max_requests_per_connection >= 0) {
        out.max_requests_per_connection =
            static_cast<uint32_t>(*cp.http->max_requests_per_connection);
      }
      if (cp.http->idle_timeout) out.idle_timeout = toMs(*cp.http->idle_timeout);
    }
  }

  static void applyOutlier(const config::OutlierDetection& od, OutlierSettings& out) {
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
  static void applyPolicy(const config::TrafficPolicy& tp, uint32_t port, Cluster& c) {
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

  // Finds or creates the cluster for (host, subset, port); -1 with `missing` set when the host
  // or subset is unknown.
  int clusterFor(const std::string& host_in, const std::string& subset, uint32_t port,
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
                      ? fmt::format("no DestinationRule for host '{}' defines subset '{}'",
                                    svc.fqdn, subset)
                      : fmt::format("DestinationRule {} for host '{}' has no subset '{}'",
                                    rule->name, svc.fqdn, subset);
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
    std::vector<Endpoint> eps;
    auto se = service_entry_of_.find(sidx);
    if (se != service_entry_of_.end()) {
      eps = serviceEntryEndpoints(*se->second, svc.fqdn, cport);
      c.original_destination = se->second->resolution == config::ServiceEntry::Resolution::kNone &&
                               eps.empty();
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

  static bool contains32(const std::vector<uint32_t>& v, uint32_t x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  // ---- routes ----------------------------------------------------------------------------

  WeightedCluster compileDestination(const config::Destination& d, const std::string& ctx,
                                     const config::Position& pos) {
    WeightedCluster wc;
    wc.host = toLower(d.host_fqdn.empty() ? d.host : d.host_fqdn);
    wc.subset = d.subset;
    wc.port = d.port.value_or(0);
    int sidx = serviceIndex(wc.host);
    if (sidx < 0 && !d.host.empty()) {
      // Names with a dot are not expanded; a raw registry name may still be meant as written.
      sidx = serviceIndex(d.host);
      if (sidx >= 0) wc.host = snap_->services[sidx].fqdn;
    }
    wc.cluster = clusterFor(wc.host, wc.subset, wc.port, wc.missing);
    if (wc.cluster < 0) {
      diag(fmt::format("{}{}: destination {}{}: {} (requests get 503)", where(pos), ctx, wc.host,
                       wc.subset.empty() ? "" : " subset " + wc.subset, wc.missing));
    }
    return wc;
  }

  std::optional<Route> compileRoute(const config::VirtualService& vs, size_t index,
                                    const config::HTTPRoute& hr, const std::string& context) {
    Route r;
    std::string ctx = fmt::format("VirtualService {} http[{}]", vsName(vs), index);
    r.name = vsName(vs) + "/" + (hr.name.empty() ? std::to_string(index) : hr.name);
    auto vs_gateways = normalizeGateways(vs.gateways, vs.meta.ns);
    for (const auto& m : hr.match) {
      if (!m.gateways.empty()) {
        auto g = normalizeGateways(m.gateways, vs.meta.ns);
        if (!contains(g, context)) continue;
      }
      if (!fromThisWorkload(m.source_labels, m.source_namespace)) continue;
      MatchBlock b;
      b.name = m.name;
      if (m.uri) b.uri = compileMatch(*m.uri, m.ignore_uri_case);
      if (m.scheme) b.scheme = compileMatch(*m.scheme);
      if (m.method) b.method = compileMatch(*m.method);
      if (m.authority) b.authority = compileMatch(*m.authority);
      for (const auto& [name, sm] : m.headers) {
        if (name == "uri" || name == "scheme" || name == "method" || name == "authority") continue;
        if (name.starts_with("@request.auth.claims")) {
          unenforced_.insert(ctx + ".match.headers['" + name + "'] (JWT claims; never matches)");
          b.headers.push_back({toLower(name), compileMatch(sm)});
          b.headers.back().match.kind = StringMatcher::Kind::kRegex;  // null re: never matches
          b.headers.back().match.re.reset();
          continue;
        }
        b.headers.push_back({toLower(name), compileMatch(sm)});
      }
      for (const auto& [name, sm] : m.without_headers) {
        b.without_headers.push_back({toLower(name), compileMatch(sm)});
      }
      for (const auto& [name, sm] : m.query_params) {
        b.query_params.push_back({name, compileMatch(sm)});
      }
      b.port = m.port.value_or(0);
      r.matches.push_back(std::move(b));
    }
    if (!hr.match.empty() && r.matches.empty()) return std::nullopt;  // not for this context

    if (hr.headers) {
      if (hr.headers->request) r.request_headers = compileHeaderOps(*hr.headers->request);
      if (hr.headers->response) r.response_headers = compileHeaderOps(*hr.headers->response);
    }
    // Setting Host through headers.request.set is an authority rewrite in Istio.
    for (auto it = r.request_headers.set.begin(); it != r.request_headers.set.end();) {
      if (equalsIgnoreCase(it->first, "host") || it->first == ":authority") {
        r.rewrite.authority = it->second;
        it = r.request_headers.set.erase(it);
      } else {
        ++it;
      }
    }
    if (hr.delegate) {
      diag(fmt::format("{}{}: delegate is not supported; the rule is skipped", where(hr.pos), ctx));
      return std::nullopt;
    }
    if (hr.redirect) {
      const auto& rd = *hr.redirect;
      r.action = Route::Action::kRedirect;
      r.redirect.uri = rd.uri.value_or("");
      r.redirect.prefix_rewrite = rd.prefix_rewrite.value_or("");
      r.redirect.authority = rd.authority.value_or("");
      r.redirect.scheme = rd.scheme.value_or("");
      r.redirect.port = rd.port.value_or(0);
      using D = config::HTTPRedirect::DerivePort;
      r.redirect.derive_port = rd.derive_port == D::kFromProtocolDefault
                                   ? Redirect::DerivePort::kFromProtocolDefault
                               : rd.derive_port == D::kFromRequestPort
                                   ? Redirect::DerivePort::kFromRequestPort
                                   : Redirect::DerivePort::kNone;
      r.redirect.code = static_cast<int>(rd.redirect_code == 0 ? 301 : rd.redirect_code);
    } else if (hr.direct_response) {
      r.action = Route::Action::kDirectResponse;
      r.direct_response.status = static_cast<int>(hr.direct_response->status);
      r.direct_response.body = hr.direct_response->body;
    } else {
      r.action = Route::Action::kRoute;
      bool several = hr.route.size() > 1;
      for (const auto& rd : hr.route) {
        if (several && rd.weight <= 0) continue;  // weight 0 gets no traffic
        WeightedCluster wc = compileDestination(rd.destination, ctx, rd.pos);
        wc.weight = several ? static_cast<uint32_t>(rd.weight) : 1;
        if (rd.headers) {
          if (rd.headers->request) wc.request_headers = compileHeaderOps(*rd.headers->request);
          if (rd.headers->response) wc.response_headers = compileHeaderOps(*rd.headers->response);
        }
        r.total_weight += wc.weight;
        r.clusters.push_back(std::move(wc));
      }
      if (r.clusters.empty()) {
        if (several) {
          diag(fmt::format("{}{}: total destination weight = 0; all destinations get equal "
                           "shares", where(hr.pos), ctx));
          for (const auto& rd : hr.route) {
            WeightedCluster wc = compileDestination(rd.destination, ctx, rd.pos);
            wc.weight = 1;
            r.total_weight += 1;
            r.clusters.push_back(std::move(wc));
          }
        } else {
          diag(fmt::format("{}{}: no route, redirect or directResponse; requests get 404",
                           where(hr.pos), ctx));
          return std::nullopt;
        }
      }
    }
    if (hr.rewrite) {
      if (hr.rewrite->uri) r.rewrite.uri = *hr.rewrite->uri;
      if (hr.rewrite->authority) r.rewrite.authority = *hr.rewrite->authority;
      if (hr.rewrite->uri_regex_rewrite) {
        const auto& rr = *hr.rewrite->uri_regex_rewrite;
        r.rewrite.uri_regex = rr.regex;
        if (r.rewrite.uri_regex == nullptr) {
          auto re = std::make_shared<re2::RE2>(rr.match, re2::RE2::Quiet);
          if (re->ok()) r.rewrite.uri_regex = re;
        }
        // Istio writes groups as \1; RE2 substitutions use the same spelling.
        r.rewrite.uri_regex_substitution = rr.rewrite;
      }
    }
    if (hr.timeout) r.timeout = toMs(*hr.timeout);
    if (hr.retries) {
      const auto& rt = *hr.retries;
      if (rt.attempts <= 0) {
        r.retry = RetryPolicy::none();
      } else {
        r.retry = RetryPolicy::parse(static_cast<uint32_t>(rt.attempts),
                                     rt.retry_on.value_or(
                                         "connect-failure,refused-stream,unavailable,cancelled,"
                                         "retriable-status-codes"));
        if (rt.per_try_timeout) r.retry.per_try_timeout = toMs(*rt.per_try_timeout);
        if (rt.backoff) r.retry.backoff_base = toMs(*rt.backoff);
        for (const auto& u : r.retry.unsupported) {
          diag(fmt::format("{}{}.retries.retryOn: '{}' is not supported; ignored", where(rt.pos),
                           ctx, u));
        }
      }
    }
    if (hr.fault) {
      if (hr.fault->delay) {
        const auto& d = *hr.fault->delay;
        if (d.fixed_delay) r.fault.delay = toMs(*d.fixed_delay);
        r.fault.delay_percent = d.percentage.value_or(0);
      }
      if (hr.fault->abort) {
        const auto& a = *hr.fault->abort;
        if (a.http_status) {
          r.fault.abort_status = static_cast<int>(*a.http_status);
        } else if (a.grpc_status) {
          unenforced_.insert(ctx + ".fault.abort.grpcStatus (HTTP/1.1 proxy)");
        }
        r.fault.abort_percent = a.percentage.value_or(0);
      }
    }
    if (hr.cors_policy) {
      const auto& c = *hr.cors_policy;
      r.cors.enabled = true;
      for (const auto& o : c.allow_origins) r.cors.allow_origins.push_back(compileMatch(o));
      r.cors.allow_methods = fmt::format("{}", fmt::join(c.allow_methods, ","));
      r.cors.allow_headers = fmt::format("{}", fmt::join(c.allow_headers, ","));
      r.cors.expose_headers = fmt::format("{}", fmt::join(c.expose_headers, ","));
      if (c.max_age) {
        r.cors.max_age = std::to_string(
            std::chrono::duration_cast<std::chrono::seconds>(c.max_age->value).count());
      }
      r.cors.allow_credentials = c.allow_credentials;
      r.cors.forward_unmatched_preflights = c.unmatched_preflights != "IGNORE";
    }
    auto addMirror = [&](const config::Destination& d, std::optional<double> pct) {
      Mirror m;
      WeightedCluster wc = compileDestination(d, ctx + ".mirror", d.pos);
      m.host = wc.host;
      m.subset = wc.subset;
      m.port = wc.port;
      m.cluster = wc.cluster;
      m.percent = pct.value_or(100);
      if (m.percent > 0) r.mirrors.push_back(std::move(m));
    };
    if (hr.mirror) addMirror(*hr.mirror, hr.mirror_percentage);
    for (const auto& mp : hr.mirrors) addMirror(mp.destination, mp.percentage);
    (void)vs_gateways;
    return r;
  }

  std::vector<Route> compileRoutes(const config::VirtualService& vs, const std::string& context) {
    std::vector<Route> routes;
    bool catch_all_seen = false;
    for (size_t i = 0; i < vs.http.size(); ++i) {
      if (catch_all_seen) {
        diag(fmt::format("{}VirtualService {} http[{}]: rule not used (a rule without matches "
                         "comes before it) [IST0130]", where(vs.http[i].pos), vsName(vs), i));
      }
      auto r = compileRoute(vs, i, vs.http[i], context);
      if (!r) continue;
      if (r->matches.empty()) catch_all_seen = true;
      routes.push_back(std::move(*r));
    }
    return routes;
  }

  Route defaultRoute(int service_index) {
    const MeshService& svc = snap_->services[service_index];
    Route r;
    r.name = "default/" + svc.fqdn;
    WeightedCluster wc;
    wc.host = svc.fqdn;
    wc.weight = 1;
    wc.cluster = default_cluster_[service_index];
    if (wc.cluster < 0) wc.missing = "no cluster for " + svc.fqdn;
    r.clusters.push_back(std::move(wc));
    r.total_weight = 1;
    return r;
  }

  std::vector<std::string> domainsFor(const std::string& host) {
    std::vector<std::string> out;
    for (const auto& [h, idx] : snap_->service_by_host) {
      if (snap_->services[idx].fqdn == host) out.push_back(h);
    }
    if (out.empty()) out.push_back(host);
    std::sort(out.begin(), out.end());
    return out;
  }

  void buildMeshRoutes() {
    RouteTable& table = snap_->mesh_routes;
    table.name = "mesh";
    std::set<int> covered;  // services that got a VirtualService
    std::map<std::string, std::string> claimed;  // host -> VS that claimed it
    for (const auto& vs : in_.config.virtual_services) {
      auto gateways = normalizeGateways(vs.gateways, vs.meta.ns);
      bool for_mesh = contains(gateways, "mesh");
      // A match-level `gateways: [mesh]` also brings a rule to the sidecars.
      for (const auto& hr : vs.http) {
        for (const auto& m : hr.match) {
          if (contains(normalizeGateways(m.gateways, vs.meta.ns), "mesh") && !m.gateways.empty()) {
            for_mesh = true;
          }
        }
      }
      if (!for_mesh || vs.http.empty()) continue;
      std::vector<Route> routes;
      bool compiled = false;
      for (size_t h = 0; h < vs.hosts_fqdn.size(); ++h) {
        const std::string host = toLower(vs.hosts_fqdn[h]);
        if (host == "*") {
          diag(fmt::format("{}VirtualService {}: wildcard host * is not allowed for virtual "
                           "services bound to the mesh gateway; ignored for sidecars",
                           where(vs.meta.pos), vsName(vs)));
          continue;
        }
        auto prev = claimed.find(host);
        if (prev != claimed.end()) {
          diag(fmt::format("{}VirtualService {}: host '{}' is already routed by VirtualService {} "
                           "(sidecars do not merge VirtualServices; the first wins) [IST0109]",
                           where(vs.meta.pos), vsName(vs), host, prev->second));
          continue;
        }
        claimed.emplace(host, vsName(vs));
        if (!compiled) {
          routes = compileRoutes(vs, "mesh");
          compiled = true;
        }
        VirtualHost vh;
        vh.name = host;
        vh.from_virtual_service = true;
        vh.routes = routes;
        if (host.starts_with("*.")) {
          vh.domains.push_back(host);
          // Known services under the wildcard take these routes too, unless they have their own.
          for (size_t i = 0; i < snap_->services.size(); ++i) {
            if (hostCovers(host, snap_->services[i].fqdn)) wildcard_vs_[static_cast<int>(i)] = host;
          }
        } else {
          int sidx = serviceIndex(host);
          if (sidx >= 0) covered.insert(sidx);
          vh.domains = domainsFor(sidx >= 0 ? snap_->services[sidx].fqdn : host);
        }
        table.vhosts.push_back(std::move(vh));
      }
    }
    for (size_t i = 0; i < snap_->services.size(); ++i) {
      int idx = static_cast<int>(i);
      if (covered.count(idx) != 0) continue;
      const MeshService& svc = snap_->services[i];
      VirtualHost vh;
      vh.name = svc.fqdn;
      vh.domains = domainsFor(svc.fqdn);
      auto wc = wildcard_vs_.find(idx);
      if (wc != wildcard_vs_.end()) {
        // Copy the wildcard VirtualService's routes onto the service's exact domains.
        for (const auto& v : table.vhosts) {
          if (v.name == wc->second) {
            vh.routes = v.routes;
            vh.from_virtual_service = true;
          }
        }
      } else {
        vh.routes.push_back(defaultRoute(idx));
      }
      table.vhosts.push_back(std::move(vh));
    }
    for (const auto& d : table.index()) {
      diag(fmt::format("mesh routes: domain '{}' is claimed twice; the first wins", d));
    }
    for (auto& svc : snap_->services) {
      const VirtualHost* vh = table.findVirtualHost(svc.fqdn);
      svc.mesh_vhost = vh == nullptr ? -1 : static_cast<int>(vh - table.vhosts.data());
    }
  }

  void buildGatewayListeners() {
    struct ServerRef {
      std::string gateway;  // ns/name
      const config::Server* server;
    };
    std::map<uint32_t, std::vector<ServerRef>> by_port;
    for (const auto& gw : in_.config.gateways) {
      std::string gname = gw.meta.ns + "/" + gw.meta.name;
      for (const auto& s : gw.servers) {
        if (!s.port) continue;
        const std::string& proto = s.port->protocol;
        if (proto != "HTTP" && proto != "HTTP2" && proto != "GRPC") {
          diag(fmt::format("{}Gateway {}: server port {} protocol {} is not served (only plain "
                           "HTTP gateway servers are supported)", where(s.pos), gname,
                           s.port->number, proto));
          continue;
        }
        by_port[s.port->number].push_back({gname, &s});
      }
    }
    for (const auto& [port, servers] : by_port) {
      GatewayListener gl;
      gl.port = port;
      gl.protocol = servers.front().server->port->protocol;
      gl.routes.name = fmt::format("gateway:{}", port);
      // domain -> index into gl.routes.vhosts (VirtualServices on one gateway host are merged)
      std::map<std::string, size_t> vhost_of;
      std::vector<std::vector<Route>> catch_alls;  // per vhost: rules moved to the end
      for (const auto& ref : servers) {
        if (!contains(gl.gateways, ref.gateway)) gl.gateways.push_back(ref.gateway);
        if (ref.server->tls && ref.server->tls->https_redirect) gl.https_redirect = true;
      }
      for (const auto& vs : in_.config.virtual_services) {
        auto gws = normalizeGateways(vs.gateways, vs.meta.ns);
        for (const auto& ref : servers) {
          bool bound = contains(gws, ref.gateway);
          for (const auto& hr : vs.http) {
            for (const auto& m : hr.match) {
              if (contains(normalizeGateways(m.gateways, vs.meta.ns), ref.gateway) &&
                  !m.gateways.empty()) {
                bound = true;
              }
            }
          }
          if (!bound) continue;
          std::vector<Route> routes = compileRoutes(vs, ref.gateway);
          bool any_host = false;
          for (const auto& vs_host_raw : vs.hosts_fqdn) {
            std::string vs_host = toLower(vs_host_raw);
            for (const auto& server_host_raw : ref.server->hosts) {
              std::string_view sh = server_host_raw;
              auto slash = sh.find('/');
              if (slash != std::string_view::npos) {
                std::string_view ns = sh.substr(0, slash);
                if (ns != "*" && !(ns == "." && vs.meta.ns == ref.gateway.substr(
                                                      0, ref.gateway.find('/'))) &&
                    ns != vs.meta.ns) {
                  continue;
                }
                sh = sh.substr(slash + 1);
              }
              std::string server_host = toLower(sh);
              if (!hostsOverlap(server_host, vs_host)) continue;
              any_host = true;
              // The narrower of the two names is what the gateway serves.
              std::string domain = hostCovers(server_host, vs_host) ? vs_host : server_host;
              auto it = vhost_of.find(domain);
              if (it == vhost_of.end()) {
                VirtualHost vh;
                vh.name = fmt::format("{}:{}", domain, port);
                vh.domains.push_back(domain);
                vh.from_virtual_service = true;
                gl.routes.vhosts.push_back(std::move(vh));
                catch_alls.emplace_back();
                it = vhost_of.emplace(domain, gl.routes.vhosts.size() - 1).first;
              }
              auto& vh = gl.routes.vhosts[it->second];
              for (const auto& r : routes) {
                // Merged VirtualServices keep their order; catch-all rules go last.
                if (r.matches.empty()) catch_alls[it->second].push_back(r);
                else vh.routes.push_back(r);
              }
              break;
            }
          }
          if (!any_host) {
            diag(fmt::format("{}VirtualService {}: none of its hosts is served by Gateway {} "
                             "[IST0132]", where(vs.meta.pos), vsName(vs), ref.gateway));
          }
        }
      }
      for (size_t i = 0; i < gl.routes.vhosts.size(); ++i) {
        for (auto& r : catch_alls[i]) gl.routes.vhosts[i].routes.push_back(std::move(r));
      }
      gl.routes.index();
      snap_->gateway_listeners.push_back(std::move(gl));
    }
  }

  // A match's sourceLabels / sourceNamespace select the client workload: this proxy's own.
  bool fromThisWorkload(const std::map<std::string, std::string>& source_labels,
                        const std::string& source_namespace) const {
    if (!labelsSuperset(in_.workload_labels, source_labels)) return false;
    if (source_namespace.empty()) return true;
    const std::string& ns =
        in_.workload_namespace.empty() ? in_.default_namespace : in_.workload_namespace;
    return source_namespace == ns;
  }

  // VirtualService `tcp` rules for the sidecars (gateways serve no TCP yet: reported).
  void buildTcpRoutes() {
    std::map<int, std::string> claimed;  // service -> VS that gave it TCP routes
    for (const auto& vs : in_.config.virtual_services) {
      if (vs.tcp.empty()) continue;
      auto gateways = normalizeGateways(vs.gateways, vs.meta.ns);
      if (!contains(gateways, "mesh")) {
        diag(fmt::format("{}VirtualService {}: tcp routes are only enforced by sidecars (gateway "
                         "TCP servers are not implemented); not applied",
                         where(vs.meta.pos), vsName(vs)));
        continue;
      }
      std::vector<TcpRoute> routes;
      for (size_t i = 0; i < vs.tcp.size(); ++i) {
        const auto& tr = vs.tcp[i];
        TcpRoute r;
        r.source = fmt::format("VirtualService {} tcp[{}]", vsName(vs), i);
        for (const auto& m : tr.match) {
          if (!fromThisWorkload(m.source_labels, m.source_namespace)) continue;
          TcpRoute::Match match;
          match.port = m.port;
          for (const auto& text : m.destination_subnets) {
            if (auto c = net::Cidr::parse(text)) match.destination_subnets.push_back(*c);
          }
          if (!m.gateways.empty()) {
            unenforced_.insert(r.source + ".match.gateways (tcp routes apply to sidecars only)");
          }
          r.matches.push_back(std::move(match));
        }
        if (!tr.match.empty() && r.matches.empty()) continue;  // for other workloads
        for (const auto& rd : tr.route) {
          WeightedCluster d;
          d.host = rd.destination.host_fqdn.empty() ? rd.destination.host
                                                    : rd.destination.host_fqdn;
          d.subset = rd.destination.subset;
          d.weight = tr.route.size() == 1 && rd.weight == 0 ? 100
                                                            : static_cast<uint32_t>(rd.weight);
          d.cluster = clusterFor(d.host, d.subset, rd.destination.port.value_or(0), d.missing);
          if (d.cluster < 0) diag(fmt::format("{}: {}", r.source, d.missing));
          r.total_weight += d.weight;
          r.destinations.push_back(std::move(d));
        }
        routes.push_back(std::move(r));
      }
      for (const auto& h : vs.hosts_fqdn) {
        int sidx = serviceIndex(toLower(h));
        if (sidx < 0) continue;  // wildcards and hosts without a service: nothing dials them
        auto [it, inserted] = claimed.emplace(sidx, vsName(vs));
        if (!inserted) {
          diag(fmt::format("{}VirtualService {}: tcp routes for '{}' are already given by "
                           "VirtualService {}; the first wins",
                           where(vs.meta.pos), vsName(vs), h, it->second));
          continue;
        }
        snap_->services[sidx].tcp_routes = routes;
      }
    }
  }

  void buildNacosRewrite() {
    for (const auto& nr : in_.config.nacos_rewrite) {
      snap_->nacos_rewrite_rules.push_back({nr.port, nr.filter_name});
    }
  }

  // An address inside the pod CIDRs of some reverse-DNS EnvoyFilter.
  bool insidePodCidrs(const std::string& text) const {
    auto ip = net::IpAddress::parse(text);
    if (!ip) return false;
    for (const auto& rule : snap_->reverse_dns_rules) {
      for (const auto& c : rule.pod_cidrs) {
        if (c.contains(*ip)) return true;
      }
    }
    return false;
  }

  void buildReverseDns() {
    for (const auto& rd : in_.config.reverse_dns) {
      MeshSnapshot::ReverseDnsRule rule;
      rule.port = rd.port;
      rule.pod_cidrs = rd.pod_cidrs;
      rule.filter_name = rd.filter_name;
      snap_->reverse_dns_rules.push_back(std::move(rule));
    }
    if (snap_->reverse_dns_rules.empty()) return;
    for (size_t i = 0; i < snap_->services.size(); ++i) {
      const auto& svc = snap_->services[i];
      if (svc.origin != MeshService::Origin::kRegistry) continue;
      for (const auto& ep : svc.endpoints) {
        if (!insidePodCidrs(ep.ip)) continue;
        auto [it, inserted] = snap_->reverse_dns.emplace(ep.address(), static_cast<int>(i));
        if (!inserted && it->second != static_cast<int>(i)) {
          diag(fmt::format("reverse DNS: address {} is an instance of both {} and {}; the first "
                           "wins", ep.address(), snap_->services[it->second].fqdn, svc.fqdn));
        }
      }
    }
    // Recently departed instances last, so a current instance at the same address wins.
    for (const auto& retired : in_.retired_instances) {
      int idx = serviceIndex(registryFqdn(retired.service));
      if (idx < 0 || !insidePodCidrs(retired.ip)) continue;
      net::HostPort address{retired.ip, retired.port};
      snap_->reverse_dns.emplace(address.toString(), idx);
    }
  }

  void noteUnenforced() {
    for (const auto& vs : in_.config.virtual_services) {
      if (!vs.tcp.empty() || !vs.tls.empty()) {
        unenforced_.insert("VirtualService " + vsName(vs) + ": tcp/tls routes (HTTP only)");
      }
      if (!vs.export_to.empty()) unenforced_.insert("VirtualService " + vsName(vs) + ".exportTo");
    }
    for (const auto& dr : in_.config.destination_rules) {
      std::string n = "DestinationRule " + dr.meta.ns + "/" + dr.meta.name;
      auto note = [&](const config::TrafficPolicy& tp, const std::string& at) {
        if (tp.tls) unenforced_.insert(n + at + ".tls (plain HTTP upstreams only)");
        if (tp.load_balancer && tp.load_balancer->locality_lb_setting) {
          unenforced_.insert(n + at + ".loadBalancer.localityLbSetting");
        }
        if (tp.load_balancer && tp.load_balancer->warmup_duration_secs) {
          unenforced_.insert(n + at + ".loadBalancer.warmup");
        }
      };
      if (dr.traffic_policy) note(*dr.traffic_policy, ".trafficPolicy");
      for (const auto& s : dr.subsets) {
        if (s.traffic_policy) note(*s.traffic_policy, ".subsets[" + s.name + "].trafficPolicy");
      }
      if (!dr.export_to.empty()) unenforced_.insert(n + ".exportTo");
      if (!dr.workload_selector.empty()) unenforced_.insert(n + ".workloadSelector");
    }
    if (!in_.config.sidecars.empty()) unenforced_.insert("Sidecar resources");
    snap_->unenforced.assign(unenforced_.begin(), unenforced_.end());
  }

  const SnapshotInputs& in_;
  std::shared_ptr<MeshSnapshot> snap_;
  std::map<std::string, MergedRule> dr_by_host_;
  std::map<int, const config::ServiceEntry*> service_entry_of_;
  std::vector<int> default_cluster_;
  std::map<int, std::string> wildcard_vs_;
  std::set<std::string> unenforced_;
};

}  // namespace

std::string clusterName(std::string_view host, std::string_view subset, uint32_t port) {
  return fmt::format("outbound|{}|{}|{}", port == 0 ? std::string() : std::to_string(port),
                     subset, host);
}

namespace {

// exportTo (Istio): "*" or absent = every namespace, "." = the object's own, "~" = none, else
// namespace names.
bool visibleTo(const std::vector<std::string>& export_to, const std::string& object_ns,
               const std::string& workload_ns) {
  if (export_to.empty()) return true;
  for (const auto& e : export_to) {
    if (e == "*" || e == workload_ns || (e == "." && object_ns == workload_ns)) return true;
  }
  return false;
}

template <typename T>
size_t dropInvisible(std::vector<T>& objects, const std::string& workload_ns) {
  size_t before = objects.size();
  std::erase_if(objects, [&](const T& o) { return !visibleTo(o.export_to, o.meta.ns, workload_ns); });
  return before - objects.size();
}

}  // namespace

std::shared_ptr<const MeshSnapshot> buildSnapshot(const SnapshotInputs& inputs) {
  // Objects not exported to this proxy's namespace do not exist for it.
  const std::string& ns =
      inputs.workload_namespace.empty() ? inputs.default_namespace : inputs.workload_namespace;
  auto scoped = [&](const auto& v) {
    for (const auto& o : v) {
      if (!visibleTo(o.export_to, o.meta.ns, ns)) return true;
    }
    return false;
  };
  const auto& c = inputs.config;
  if (!scoped(c.virtual_services) && !scoped(c.destination_rules) && !scoped(c.service_entries)) {
    return Builder(inputs).build();
  }
  SnapshotInputs visible = inputs;
  dropInvisible(visible.config.virtual_services, ns);
  dropInvisible(visible.config.destination_rules, ns);
  dropInvisible(visible.config.service_entries, ns);
  return Builder(visible).build();
}

const MeshService* MeshSnapshot::findService(std::string_view authority) const {
  char buf[256];
  std::string heap;
  auto host = lowerInto(splitAuthority(authority).first, buf, sizeof buf, heap);
  auto it = service_by_host.find(host);
  return it == service_by_host.end() ? nullptr : &services[it->second];
}

const MeshService* MeshSnapshot::findByVip(std::string_view ip) const {
  if (service_by_vip.empty()) return nullptr;
  auto it = service_by_vip.find(ip);
  if (it != service_by_vip.end()) return &services[it->second];
  // Not canonical: a dual-stack listener's v4-mapped form, or v6 written another way.
  auto addr = net::IpAddress::parse(ip);
  if (!addr) return nullptr;
  if (addr->v6) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, addr->bytes.begin())) {
      net::IpAddress v4;
      std::copy(addr->bytes.begin() + 12, addr->bytes.end(), v4.bytes.begin());
      addr = v4;
    }
  }
  it = service_by_vip.find(addr->toString());
  return it == service_by_vip.end() ? nullptr : &services[it->second];
}

std::map<std::string, std::string> MeshSnapshot::vipAssignments() const {
  std::map<std::string, std::string> out;
  for (const auto& s : services) {
    if (!s.vip.empty()) out.emplace(s.fqdn, s.vip);
  }
  return out;
}

bool TcpRoute::applies(const net::IpAddress& dialled, uint32_t port) const {
  if (matches.empty()) return true;
  for (const auto& m : matches) {
    if (m.port && *m.port != port) continue;
    if (!m.destination_subnets.empty()) {
      bool inside = false;
      for (const auto& c : m.destination_subnets) inside = inside || c.contains(dialled);
      if (!inside) continue;
    }
    return true;
  }
  return false;
}

const MeshSnapshot::NacosRewriteRule* MeshSnapshot::nacosRewriteFor(uint32_t port) const {
  for (const auto& r : nacos_rewrite_rules) {
    if (!r.port || *r.port == port) return &r;
  }
  return nullptr;
}

const MeshService* MeshSnapshot::findByAddress(std::string_view ip, uint16_t port) const {
  if (reverse_dns_rules.empty() || reverse_dns.empty()) return nullptr;
  auto addr = net::IpAddress::parse(ip);
  if (!addr) return nullptr;
  bool applies = false;
  for (const auto& rule : reverse_dns_rules) {
    if (rule.port && *rule.port != port) continue;
    for (const auto& c : rule.pod_cidrs) applies = applies || c.contains(*addr);
  }
  if (!applies) return nullptr;
  char buf[80];
  auto end = addr->v6 ? fmt::format_to_n(buf, sizeof buf, "[{}]:{}", ip, port)
                      : fmt::format_to_n(buf, sizeof buf, "{}:{}", ip, port);
  if (end.size > sizeof buf) return nullptr;
  auto it = reverse_dns.find(std::string_view(buf, end.size));
  return it == reverse_dns.end() ? nullptr : &services[it->second];
}

const GatewayListener* MeshSnapshot::findGatewayListener(uint32_t port) const {
  for (const auto& gl : gateway_listeners) {
    if (gl.port == port) return &gl;
  }
  return nullptr;
}

namespace {

nlohmann::json routeJson(const Route& r) {
  nlohmann::json j;
  j["name"] = r.name;
  auto& ms = j["match"] = nlohmann::json::array();
  for (const auto& m : r.matches) {
    nlohmann::json mj = nlohmann::json::object();
    if (!m.name.empty()) mj["name"] = m.name;
    if (m.uri) mj["uri"] = m.uri->describe();
    if (m.method) mj["method"] = m.method->describe();
    if (m.scheme) mj["scheme"] = m.scheme->describe();
    if (m.authority) mj["authority"] = m.authority->describe();
    for (const auto& h : m.headers) mj["headers"][h.name] = h.match.describe();
    for (const auto& h : m.without_headers) mj["withoutHeaders"][h.name] = h.match.describe();
    for (const auto& q : m.query_params) mj["queryParams"][q.name] = q.match.describe();
    if (m.port != 0) mj["port"] = m.port;
    ms.push_back(std::move(mj));
  }
  switch (r.action) {
    case Route::Action::kRoute: {
      auto& ds = j["route"] = nlohmann::json::array();
      for (const auto& c : r.clusters) {
        nlohmann::json cj;
        cj["host"] = c.host;
        if (!c.subset.empty()) cj["subset"] = c.subset;
        if (c.port != 0) cj["port"] = c.port;
        cj["weight"] = c.weight;
        if (c.cluster < 0) cj["error"] = c.missing;
        ds.push_back(std::move(cj));
      }
      break;
    }
    case Route::Action::kRedirect:
      j["redirect"] = {{"uri", r.redirect.uri}, {"authority", r.redirect.authority},
                       {"code", r.redirect.code}};
      break;
    case Route::Action::kDirectResponse:
      j["directResponse"] = {{"status", r.direct_response.status}};
      break;
  }
  if (r.timeout.count() > 0) j["timeout_ms"] = r.timeout.count();
  j["retries"] = r.retry.describe();
  if (r.fault.enabled()) {
    j["fault"] = {{"delay_ms", r.fault.delay.count()}, {"delay_percent", r.fault.delay_percent},
                  {"abort_status", r.fault.abort_status},
                  {"abort_percent", r.fault.abort_percent}};
  }
  for (const auto& m : r.mirrors) {
    j["mirrors"].push_back({{"host", m.host}, {"subset", m.subset}, {"percent", m.percent}});
  }
  return j;
}

nlohmann::json tableJson(const RouteTable& t) {
  nlohmann::json j;
  j["name"] = t.name;
  auto& vs = j["virtual_hosts"] = nlohmann::json::array();
  for (const auto& vh : t.vhosts) {
    nlohmann::json v;
    v["name"] = vh.name;
    v["domains"] = vh.domains;
    v["from_virtual_service"] = vh.from_virtual_service;
    auto& rs = v["routes"] = nlohmann::json::array();
    for (const auto& r : vh.routes) rs.push_back(routeJson(r));
    vs.push_back(std::move(v));
  }
  return j;
}

const char* lbName(LbPolicy p) {
  switch (p) {
    case LbPolicy::kRoundRobin: return "ROUND_ROBIN";
    case LbPolicy::kRandom: return "RANDOM";
    case LbPolicy::kLeastRequest: return "LEAST_REQUEST";
    case LbPolicy::kRingHash: return "RING_HASH";
    case LbPolicy::kMaglev: return "MAGLEV";
    case LbPolicy::kPassthrough: return "PASSTHROUGH";
  }
  return "?";
}

}  // namespace

nlohmann::json MeshSnapshot::toJson() const {
  nlohmann::json j;
  j["version"] = version;
  j["default_namespace"] = default_namespace;
  auto& svcs = j["services"] = nlohmann::json::array();
  for (const auto& s : services) {
    nlohmann::json sj;
    sj["fqdn"] = s.fqdn;
    sj["source"] = s.source;
    if (!s.ports.empty()) sj["ports"] = s.ports;
    if (!s.vip.empty()) sj["vip"] = s.vip;
    if (!s.addresses.empty()) sj["addresses"] = s.addresses;
    if (!s.tcp_routes.empty()) {
      auto& tr = sj["tcp_routes"] = nlohmann::json::array();
      for (const auto& r : s.tcp_routes) {
        nlohmann::json rj;
        rj["source"] = r.source;
        for (const auto& m : r.matches) {
          nlohmann::json mj = nlohmann::json::object();
          if (m.port) mj["port"] = *m.port;
          for (const auto& c : m.destination_subnets) mj["destination_subnets"].push_back(c.toString());
          rj["match"].push_back(std::move(mj));
        }
        for (const auto& d : r.destinations) {
          nlohmann::json dj = {{"host", d.host}, {"weight", d.weight}};
          if (!d.subset.empty()) dj["subset"] = d.subset;
          if (d.cluster >= 0) dj["cluster"] = clusters[d.cluster].name;
          else dj["missing"] = d.missing;
          rj["route"].push_back(std::move(dj));
        }
        tr.push_back(std::move(rj));
      }
    }
    auto& eps = sj["endpoints"] = nlohmann::json::array();
    for (const auto& e : s.endpoints) {
      eps.push_back({{"address", e.address()}, {"labels", e.labels}, {"weight", e.weight},
                     {"healthy", e.healthy}});
    }
    svcs.push_back(std::move(sj));
  }
  auto& cls = j["clusters"] = nlohmann::json::array();
  for (const auto& c : clusters) {
    nlohmann::json cj;
    cj["name"] = c.name;
    cj["lb_policy"] = lbName(c.lb.policy);
    if (c.lb.hash_key.kind != ConsistentHashKey::Kind::kNone) cj["hash_key"] = c.lb.hash_key.name;
    if (c.pool.max_connections != ConnectionPoolSettings::kUnlimited) {
      cj["max_connections"] = c.pool.max_connections;
    }
    if (c.pool.max_pending_requests != ConnectionPoolSettings::kUnlimited) {
      cj["http1_max_pending_requests"] = c.pool.max_pending_requests;
    }
    if (c.pool.max_requests_per_connection != 0) {
      cj["max_requests_per_connection"] = c.pool.max_requests_per_connection;
    }
    if (c.outlier.enabled) {
      cj["outlier_detection"] = {{"consecutive_5xx", c.outlier.consecutive_5xx},
                                 {"consecutive_gateway_errors", c.outlier.consecutive_gateway},
                                 {"interval_ms", c.outlier.interval.count()},
                                 {"base_ejection_ms", c.outlier.base_ejection.count()},
                                 {"max_ejection_percent", c.outlier.max_ejection_percent}};
    }
    if (!c.policy_source.empty()) cj["policy_source"] = c.policy_source;
    std::vector<std::string> eps;
    for (const auto& e : c.endpoints) eps.push_back(e.address());
    cj["endpoints"] = eps;
    cls.push_back(std::move(cj));
  }
  j["mesh_routes"] = tableJson(mesh_routes);
  auto& gls = j["gateway_listeners"] = nlohmann::json::array();
  for (const auto& gl : gateway_listeners) {
    nlohmann::json g = tableJson(gl.routes);
    g["port"] = gl.port;
    g["gateways"] = gl.gateways;
    gls.push_back(std::move(g));
  }
  auto& rd = j["reverse_dns"];
  rd["rules"] = nlohmann::json::array();
  for (const auto& r : reverse_dns_rules) {
    std::vector<std::string> cidrs;
    for (const auto& c : r.pod_cidrs) cidrs.push_back(c.toString());
    rd["rules"].push_back({{"filter", r.filter_name},
                           {"port", r.port ? nlohmann::json(*r.port) : nlohmann::json("all")},
                           {"pod_cidrs", cidrs}});
  }
  auto& nr = j["nacos_rewrite"] = nlohmann::json::array();
  for (const auto& r : nacos_rewrite_rules) {
    nr.push_back({{"filter", r.filter_name},
                  {"port", r.port ? nlohmann::json(*r.port) : nlohmann::json("all")}});
  }
  rd["addresses"] = nlohmann::json::object();
  for (const auto& [addr, idx] : reverse_dns) rd["addresses"][addr] = services[idx].fqdn;
  j["diagnostics"] = diagnostics;
  j["unenforced"] = unenforced;
  j["registry_status"] = registry_status;
  return j;
}

std::string Endpoint::address() const {
  if (ip.find(':') != std::string::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

}  // namespace sluice::proxy
