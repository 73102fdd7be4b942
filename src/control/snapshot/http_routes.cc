// HTTP routes: VirtualService `http` rules compiled for a context (the mesh, or one gateway), and
// the sidecars' `mesh` route table with a default route for every service.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "control/snapshot/builder.h"
#include "core/strings.h"
#include "proxy/grpc.h"

namespace sluice::control::snapshot {

using proxy::HeaderOps;
using proxy::MatchBlock;
using proxy::MeshService;
using proxy::Mirror;
using proxy::Redirect;
using proxy::RetryPolicy;
using proxy::Route;
using proxy::RouteTable;
using proxy::StringMatcher;
using proxy::VirtualHost;
using proxy::WeightedCluster;

namespace {

StringMatcher compileMatch(const config::StringMatch& m, bool ignore_case = false) {
  StringMatcher out;
  switch (m.kind) {
    case config::StringMatch::Kind::kExact:
      out.kind = StringMatcher::Kind::kExact;
      break;
    case config::StringMatch::Kind::kPrefix:
      out.kind = StringMatcher::Kind::kPrefix;
      break;
    case config::StringMatch::Kind::kRegex:
      out.kind = StringMatcher::Kind::kRegex;
      break;
    case config::StringMatch::Kind::kPresent:
      out.kind = StringMatcher::Kind::kPresent;
      break;
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
  if (ignore_case &&
      (out.kind == StringMatcher::Kind::kExact || out.kind == StringMatcher::Kind::kPrefix)) {
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

}  // namespace

WeightedCluster Builder::compileDestination(const config::Destination& d, const std::string& ctx,
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

std::optional<Route> Builder::compileRoute(const config::VirtualService& vs, size_t index,
                                           const config::HTTPRoute& hr,
                                           const std::string& context) {
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
    r.redirect.derive_port =
        rd.derive_port == D::kFromProtocolDefault ? Redirect::DerivePort::kFromProtocolDefault
        : rd.derive_port == D::kFromRequestPort   ? Redirect::DerivePort::kFromRequestPort
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
        diag(
            fmt::format("{}{}: total destination weight = 0; all destinations get equal "
                        "shares",
                        where(hr.pos), ctx));
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
      r.retry = RetryPolicy::parse(
          static_cast<uint32_t>(rt.attempts),
          rt.retry_on.value_or("connect-failure,refused-stream,unavailable,cancelled,"
                               "retriable-status-codes"));
      if (rt.per_try_timeout) r.retry.per_try_timeout = toMs(*rt.per_try_timeout);
      if (rt.backoff) r.retry.backoff_base = toMs(*rt.backoff);
      for (const auto& u : r.retry.unsupported) {
        diag(fmt::format("{}{}.retries.retryOn: '{}' is not supported; ignored", where(rt.pos), ctx,
                         u));
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
        r.fault.abort_grpc_status = proxy::grpc::codeForName(*a.grpc_status);
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

std::vector<Route> Builder::compileRoutes(const config::VirtualService& vs,
                                          const std::string& context) {
  std::vector<Route> routes;
  bool catch_all_seen = false;
  for (size_t i = 0; i < vs.http.size(); ++i) {
    if (catch_all_seen) {
      diag(
          fmt::format("{}VirtualService {} http[{}]: rule not used (a rule without matches "
                      "comes before it) [IST0130]",
                      where(vs.http[i].pos), vsName(vs), i));
    }
    auto r = compileRoute(vs, i, vs.http[i], context);
    if (!r) continue;
    if (r->matches.empty()) catch_all_seen = true;
    routes.push_back(std::move(*r));
  }
  return routes;
}

Route Builder::defaultRoute(int service_index) {
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

std::vector<std::string> Builder::domainsFor(const std::string& host) {
  if (!host_forms_) {
    host_forms_.emplace();
    for (const auto& [h, idx] : snap_->service_by_host) {
      (*host_forms_)[snap_->services[idx].fqdn].push_back(h);
    }
    for (auto& [fqdn, forms] : *host_forms_) std::sort(forms.begin(), forms.end());
  }
  auto it = host_forms_->find(host);
  if (it == host_forms_->end()) return {host};
  return it->second;
}

void Builder::buildMeshRoutes() {
  RouteTable& table = snap_->mesh_routes;
  table.name = "mesh";
  std::set<int> covered;                       // services that got a VirtualService
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
        diag(
            fmt::format("{}VirtualService {}: wildcard host * is not allowed for virtual "
                        "services bound to the mesh gateway; ignored for sidecars",
                        where(vs.meta.pos), vsName(vs)));
        continue;
      }
      auto prev = claimed.find(host);
      if (prev != claimed.end()) {
        diag(
            fmt::format("{}VirtualService {}: host '{}' is already routed by VirtualService {} "
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

// A match's sourceLabels / sourceNamespace select the client workload: this proxy's own.
bool Builder::fromThisWorkload(const std::map<std::string, std::string>& source_labels,
                               const std::string& source_namespace) const {
  if (!labelsSuperset(in_.workload_labels, source_labels)) return false;
  if (source_namespace.empty()) return true;
  const std::string& ns =
      in_.workload_namespace.empty() ? in_.default_namespace : in_.workload_namespace;
  return source_namespace == ns;
}

}  // namespace sluice::control::snapshot
