// /config_dump: the JSON rendering of a MeshSnapshot (MeshSnapshot::toJson). Off the request
// path: called by the admin endpoint on demand.
#include <nlohmann/json.hpp>

#include "proxy/snapshot.h"

namespace sluice::proxy {

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
      j["redirect"] = {
          {"uri", r.redirect.uri}, {"authority", r.redirect.authority}, {"code", r.redirect.code}};
      break;
    case Route::Action::kDirectResponse:
      j["directResponse"] = {{"status", r.direct_response.status}};
      break;
  }
  if (r.timeout.count() > 0) j["timeout_ms"] = r.timeout.count();
  j["retries"] = r.retry.describe();
  if (r.fault.enabled()) {
    j["fault"] = {{"delay_ms", r.fault.delay.count()},
                  {"delay_percent", r.fault.delay_percent},
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
    case LbPolicy::kRoundRobin:
      return "ROUND_ROBIN";
    case LbPolicy::kRandom:
      return "RANDOM";
    case LbPolicy::kLeastRequest:
      return "LEAST_REQUEST";
    case LbPolicy::kRingHash:
      return "RING_HASH";
    case LbPolicy::kMaglev:
      return "MAGLEV";
    case LbPolicy::kPassthrough:
      return "PASSTHROUGH";
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
          for (const auto& c : m.destination_subnets)
            mj["destination_subnets"].push_back(c.toString());
          rj["match"].push_back(std::move(mj));
        }
        for (const auto& d : r.destinations) {
          nlohmann::json dj = {{"host", d.host}, {"weight", d.weight}};
          if (!d.subset.empty()) dj["subset"] = d.subset;
          if (d.cluster >= 0)
            dj["cluster"] = clusters[d.cluster].name;
          else
            dj["missing"] = d.missing;
          rj["route"].push_back(std::move(dj));
        }
        tr.push_back(std::move(rj));
      }
    }
    auto& eps = sj["endpoints"] = nlohmann::json::array();
    for (const auto& e : s.endpoints) {
      eps.push_back({{"address", e.address()},
                     {"labels", e.labels},
                     {"weight", e.weight},
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
    if (c.pool.max_requests != ConnectionPoolSettings::kUnlimited) {
      cj["http2_max_requests"] = c.pool.max_requests;
    }
    if (c.pool.max_concurrent_streams != ConnectionPoolSettings::kUnlimited) {
      cj["max_concurrent_streams"] = c.pool.max_concurrent_streams;
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
  auto& nr = j["registry_interception"] = nlohmann::json::array();
  for (const auto& r : interception_rules) {
    nlohmann::json rule = {{"filter", r.filter_name},
                           {"port", r.port ? nlohmann::json(*r.port) : nlohmann::json("all")},
                           {"registry", std::string(r.registry())},
                           {"protocol", r.stream ? "tcp" : "http"}};
    if (r.grpc_rewriter) rule["grpc_port"] = r.grpc_rewriter->grpcPort(r.port);
    if (r.stream) {
      for (const auto& [name, value] : r.stream->options()) rule["options"][name] = value;
    }
    nr.push_back(std::move(rule));
  }
  rd["addresses"] = nlohmann::json::object();
  for (const auto& [addr, idx] : reverse_dns) rd["addresses"][addr] = services[idx].fqdn;
  j["diagnostics"] = diagnostics;
  j["unenforced"] = unenforced;
  j["registry_status"] = registry_status;
  j["config_held_back"] = config_held_back;
  if (sidecar_resource.empty()) {
    j["sidecar"] = nullptr;
  } else {
    j["sidecar"] = {{"resource", sidecar_resource}, {"egress_hosts", sidecar_egress_hosts}};
  }
  if (loads_on_demand) {
    j["on_demand"] = {{"loaded_hosts", loaded_on_demand}};
  } else {
    j["on_demand"] = nullptr;
  }
  return j;
}

}  // namespace sluice::proxy
