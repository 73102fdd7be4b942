// VirtualService: hosts, gateways, HTTP routes (exclusive actions, weights, redirect, rewrite,
// retries, fault injection, mirrors), unreachable and duplicate matches (IST0130, IST0131),
// TCP and TLS routes.

#include <map>
#include <set>

#include "config/names.h"
#include "config/validate/rules.h"
#include "core/strings.h"

namespace sluice::config::validation {

namespace {

void checkDestination(DiagnosticReporter& r, const Destination& d, const std::string& path) {
  if (d.host.empty()) {
    r.error(d.pos, path + ".host", "destination.host is required");
    return;
  }
  if (d.host == "*") {
    r.error(d.pos, path + ".host", "invalid destination host *");
  } else if (auto problem = checkHost(d.host)) {
    r.error(d.pos, path + ".host", *problem);
  }
  if (!d.subset.empty() && !isDns1123Label(d.subset)) {
    r.error(d.subset_pos.line > 0 ? d.subset_pos : d.pos, path + ".subset",
            fmt::format("subset name is invalid: {}", d.subset));
  }
}

void checkWeights(DiagnosticReporter& r, const std::vector<int32_t>& weights, const Position& at,
                  const std::string& path) {
  if (weights.size() <= 1) return;
  int64_t total = 0;
  for (auto w : weights) total += w;
  if (total == 0) r.error(at, path, "total destination weight = 0");
}

// Duration rules of Istio's ValidateDuration: >= 1ms, millisecond precision.
void checkDurationMs(DiagnosticReporter& r, const Duration& d, const Position& at,
                     const std::string& path, bool allow_zero) {
  if (allow_zero && d.value.count() == 0) return;
  if (d.value < std::chrono::milliseconds(1)) {
    r.error(at, path, "duration must be greater than 1ms");
  } else if (d.value % std::chrono::milliseconds(1) != std::chrono::nanoseconds(0)) {
    r.error(at, path, "only durations to ms precision are supported");
  }
}

void checkFaultPercent(DiagnosticReporter& r, const std::optional<Percent>& p, const Position& at,
                       const std::string& path) {
  if (!p) return;
  if (*p != 0.0 && (*p < 0.0001 || *p > 100.0)) {
    r.error(at, path,
            fmt::format("percentage {} is neither 0.0, nor in range [0.0001, 100.0]", *p));
  }
}

const std::set<std::string>& retryPolicies() {
  static const std::set<std::string> kPolicies = {"5xx",
                                                  "gateway-error",
                                                  "reset",
                                                  "reset-before-request",
                                                  "connect-failure",
                                                  "retriable-4xx",
                                                  "refused-stream",
                                                  "retriable-status-codes",
                                                  "retriable-headers",
                                                  "envoy-ratelimited",
                                                  "http3-post-connect-failure",
                                                  "cancelled",
                                                  "deadline-exceeded",
                                                  "internal",
                                                  "resource-exhausted",
                                                  "unavailable"};
  return kPolicies;
}

const std::set<std::string>& grpcStatuses() {
  static const std::set<std::string> kCodes = {"OK",
                                               "CANCELLED",
                                               "UNKNOWN",
                                               "INVALID_ARGUMENT",
                                               "DEADLINE_EXCEEDED",
                                               "NOT_FOUND",
                                               "ALREADY_EXISTS",
                                               "PERMISSION_DENIED",
                                               "RESOURCE_EXHAUSTED",
                                               "FAILED_PRECONDITION",
                                               "ABORTED",
                                               "OUT_OF_RANGE",
                                               "UNIMPLEMENTED",
                                               "INTERNAL",
                                               "UNAVAILABLE",
                                               "DATA_LOSS",
                                               "UNAUTHENTICATED"};
  return kCodes;
}

std::string matchKey(const std::optional<StringMatch>& m) {
  if (!m) return "-";
  return fmt::format("{}:{}", static_cast<int>(m->kind), m->value);
}

std::string matchMapKey(const std::map<std::string, StringMatch>& m) {
  std::string out;
  for (auto& [k, v] : m) out += k + "=" + matchKey(v) + ";";
  return out;
}

// A canonical text of a match block, for duplicate detection (IST0131).
std::string canonicalMatch(const HTTPMatchRequest& m) {
  std::string out = matchKey(m.uri) + "|" + matchKey(m.scheme) + "|" + matchKey(m.method) + "|" +
                    matchKey(m.authority) + "|" + matchMapKey(m.headers) + "|" +
                    matchMapKey(m.without_headers) + "|" + matchMapKey(m.query_params) + "|" +
                    (m.ignore_uri_case ? "i" : "") + "|" + (m.port ? std::to_string(*m.port) : "") +
                    "|" + m.source_namespace + "|" + join(m.gateways, ",") + "|";
  for (auto& [k, v] : m.source_labels) out += k + "=" + v + ";";
  return out;
}

// Matches every request: nothing but (optionally) uri prefix "/" or regex ".*".
bool isCatchAll(const HTTPMatchRequest& m) {
  if (m.scheme || m.method || m.authority || !m.headers.empty() || !m.without_headers.empty() ||
      !m.query_params.empty() || m.port || !m.source_labels.empty() || !m.gateways.empty() ||
      !m.source_namespace.empty()) {
    return false;
  }
  if (!m.uri) return true;
  return (m.uri->kind == StringMatch::Kind::kPrefix && m.uri->value == "/") ||
         (m.uri->kind == StringMatch::Kind::kRegex && m.uri->value == ".*");
}

std::string ruleLabel(const HTTPRoute& route, size_t index) {
  return route.name.empty() ? fmt::format("#{}", index) : route.name;
}

void checkHttpRoute(DiagnosticReporter& r, const HTTPRoute& h, const std::string& path) {
  const bool has_route = !h.route.empty();
  const bool has_redirect = h.redirect.has_value();
  const bool has_direct = h.direct_response.has_value();
  const bool has_delegate = h.delegate.has_value();
  if (!has_route && !has_redirect && !has_direct && !has_delegate) {
    r.error(h.pos, path, "HTTP route, redirect or direct_response is required");
  }
  if (has_route && has_redirect) {
    r.error(h.pos, path, "HTTP route cannot contain both route and redirect");
  }
  if (h.fault && has_redirect) {
    r.error(h.pos, path, "HTTP route cannot contain both fault and redirect");
  }
  if (h.rewrite && has_redirect) {
    r.error(h.pos, path, "HTTP route rule cannot contain both rewrite and redirect");
  }
  if (has_direct && has_redirect) {
    r.error(h.pos, path, "HTTP route rule cannot contain both direct_response and redirect");
  }
  if (has_route && has_direct) {
    r.error(h.pos, path, "HTTP route cannot contain both route and direct_response");
  }
  if (h.fault && has_direct) {
    r.error(h.pos, path, "HTTP route cannot contain both fault and direct_response");
  }
  if (h.rewrite && has_direct) {
    r.error(h.pos, path, "HTTP route rule cannot contain both rewrite and direct_response");
  }
  if (h.mirror && !h.mirrors.empty()) {
    r.error(h.pos, path, "HTTP route cannot contain both mirror and mirrors");
  }
  if (has_delegate) {
    const std::string label = h.name.empty() ? path : h.name;
    if (has_route) {
      r.error(h.pos, path, fmt::format("root HTTP route {} must not specify route", label));
    }
    if (has_redirect) {
      r.error(h.pos, path, fmt::format("root HTTP route {} must not specify redirect", label));
    }
    if (h.delegate->name.empty()) r.error(h.pos, path + ".delegate.name", "name is required");
  }

  std::vector<int32_t> weights;
  for (size_t i = 0; i < h.route.size(); ++i) {
    const auto& d = h.route[i];
    weights.push_back(d.weight);
    checkDestination(r, d.destination, fmt::format("{}.route[{}].destination", path, i));
  }
  checkWeights(r, weights, h.pos, path + ".route");

  if (h.redirect) {
    const auto& rd = *h.redirect;
    const std::string rp = path + ".redirect";
    if (rd.uri && rd.prefix_rewrite) {
      r.error(rd.pos, rp, "redirect may only specify one of uri or prefix_rewrite");
    }
    if (!rd.uri && !rd.prefix_rewrite && !rd.authority && !rd.scheme && !rd.port &&
        rd.derive_port == HTTPRedirect::DerivePort::kUnset) {
      r.error(rd.pos, rp, "redirect must specify URI, authority, scheme, or port");
    }
    if (rd.prefix_rewrite) {
      for (auto& m : h.match) {
        if (m.uri && m.uri->kind != StringMatch::Kind::kPrefix) {
          r.error(rd.pos, rp + ".prefixRewrite",
                  "redirect prefix_rewrite requires all URI matches to use prefix match type");
          break;
        }
      }
    }
    if (rd.port && rd.derive_port != HTTPRedirect::DerivePort::kUnset) {
      r.error(rd.pos, rp, "redirect may only specify one of port or derivePort");
    }
  }
  if (h.direct_response && h.direct_response->body) {
    const size_t size = h.direct_response->body->size();
    if (size > 1024 * 1024) {
      r.error(h.direct_response->pos, path + ".directResponse.body",
              "large direct_responses may impact control plane performance, must be less than "
              "1MB");
    } else if (size > 100 * 1024) {
      r.warn(h.direct_response->pos, path + ".directResponse.body",
             "large direct_responses may impact control plane performance");
    }
  }
  if (h.rewrite) {
    const auto& rw = *h.rewrite;
    if (rw.uri && rw.uri_regex_rewrite) {
      r.error(rw.pos, path + ".rewrite", "rewrite may only contain one of URI or UriRegexRewrite");
    } else if (!rw.uri && !rw.uri_regex_rewrite && !rw.authority) {
      r.error(rw.pos, path + ".rewrite",
              "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one "
              "of URI or UriRegexRewrite may be specified");
    }
  }
  if (h.timeout) checkDurationMs(r, *h.timeout, h.pos, path + ".timeout", /*allow_zero=*/true);
  if (h.retries) {
    const auto& rt = *h.retries;
    const std::string rp = path + ".retries";
    if (rt.attempts == 0 && (rt.per_try_timeout || rt.retry_on || rt.retry_remote_localities)) {
      r.error(rt.pos, rp, "http retry policy configured when attempts are set to 0 (disabled)");
    }
    if (rt.per_try_timeout) {
      checkDurationMs(r, *rt.per_try_timeout, rt.pos, rp + ".perTryTimeout", false);
    }
    if (rt.backoff) checkDurationMs(r, *rt.backoff, rt.pos, rp + ".backoff", false);
    if (rt.retry_on) {
      for (auto part : split(*rt.retry_on, ',')) {
        auto policy = std::string(trim(part));
        if (policy.empty()) continue;
        if (retryPolicies().count(policy)) continue;
        auto code = parseUint(policy, 599);
        if (code && *code >= 100) continue;
        r.error(rt.pos, rp + ".retryOn",
                fmt::format("\"{}\" is not a valid retryOn policy", policy));
      }
    }
  }
  if (h.fault) {
    const auto& f = *h.fault;
    const std::string fp = path + ".fault";
    if (!f.delay && !f.abort) {
      r.error(f.pos, fp, "HTTP fault injection must have an abort and/or a delay");
    }
    if (f.delay) {
      checkFaultPercent(r, f.delay->percentage, f.pos, fp + ".delay.percentage");
      if (!f.delay->fixed_delay) {
        r.error(f.pos, fp + ".delay.fixedDelay", "fixedDelay is required");
      } else {
        checkDurationMs(r, *f.delay->fixed_delay, f.pos, fp + ".delay.fixedDelay", false);
      }
    }
    if (f.abort) {
      checkFaultPercent(r, f.abort->percentage, f.pos, fp + ".abort.percentage");
      if (f.abort->http_status && f.abort->grpc_status) {
        r.error(f.pos, fp + ".abort", "only one of httpStatus or grpcStatus may be set");
      } else if (!f.abort->http_status && !f.abort->grpc_status) {
        r.warn(f.pos, fp + ".abort", "abort configured, but error type not set");
      }
      if (f.abort->grpc_status && !grpcStatuses().count(*f.abort->grpc_status)) {
        r.error(f.pos, fp + ".abort.grpcStatus",
                fmt::format("gRPC status \"{}\" is not supported. See "
                            "https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a "
                            "list of supported codes, for example 'NOT_FOUND'",
                            *f.abort->grpc_status));
      }
    }
  }
  if (h.mirror) checkDestination(r, *h.mirror, path + ".mirror");
  for (size_t i = 0; i < h.mirrors.size(); ++i) {
    checkDestination(r, h.mirrors[i].destination,
                     fmt::format("{}.mirrors[{}].destination", path, i));
  }
}

}  // namespace

void validateVirtualService(ConfigSet& set, const VirtualService& vs) {
  DiagnosticReporter r(set.diagnostics, vs.meta);
  if (vs.http.empty() && vs.tcp.empty() && vs.tls.empty()) {
    r.error({}, "spec", "http, tcp or tls must be provided in virtual service");
  }
  if (vs.hosts.empty()) {
    // A delegate VirtualService.
    if (!vs.gateways.empty()) {
      r.error({}, "spec.gateways", "delegate virtual service must have no gateways specified");
    }
    if (!vs.tls.empty()) {
      r.error({}, "spec.tls", "delegate virtual service must have no tls route specified");
    }
    if (!vs.tcp.empty()) {
      r.error({}, "spec.tcp", "delegate virtual service must have no tcp route specified");
    }
    for (size_t i = 0; i < vs.http.size(); ++i) {
      if (vs.http[i].delegate) {
        r.error(vs.http[i].pos, fmt::format("spec.http[{}].delegate", i),
                "delegate HTTP route cannot contain delegate");
      }
    }
  }
  const bool mesh = isMeshBound(vs.gateways);
  // Exact duplicates through a map; wildcard overlaps pairwise against the (few) wildcards, so a
  // huge host list stays linear.
  std::map<std::string, size_t> exact;
  std::vector<size_t> wildcards;
  for (size_t i = 0; i < vs.hosts.size(); ++i) {
    const std::string path = fmt::format("spec.hosts[{}]", i);
    if (vs.hosts[i] == "*" && mesh) {
      r.error({}, path,
              "wildcard host * is not allowed for virtual services bound to the mesh gateway");
    }
    std::optional<size_t> clash;
    auto [it, inserted] = exact.emplace(vs.hosts_fqdn[i], i);
    if (!inserted) clash = it->second;
    for (size_t j : wildcards) {
      if (!clash && hostsOverlap(vs.hosts_fqdn[i], vs.hosts_fqdn[j])) clash = j;
    }
    if (vs.hosts_fqdn[i].starts_with("*")) {
      for (size_t j = 0; j < i && !clash && wildcards.size() < 64; ++j) {
        if (hostsOverlap(vs.hosts_fqdn[i], vs.hosts_fqdn[j])) clash = j;
      }
      wildcards.push_back(i);
    }
    if (clash) {
      r.error({}, path,
              fmt::format("duplicate hosts in virtual service: {} & {}", vs.hosts[*clash],
                          vs.hosts[i]));
    }
  }
  for (size_t i = 0; i < vs.gateways.size(); ++i) {
    const auto& g = vs.gateways[i];
    const std::string path = fmt::format("spec.gateways[{}]", i);
    if (g == "mesh") continue;
    auto slash = g.find('/');
    if (slash != std::string::npos) {
      auto ns = g.substr(0, slash);
      auto name = g.substr(slash + 1);
      if (ns.empty() || name.empty()) {
        r.error({}, path, "config namespace and gateway name cannot be empty");
      } else if (ns != "." && !isDns1123Label(ns)) {
        r.error({}, path, fmt::format("invalid value for namespace: \"{}\"", ns));
      } else if (!isDns1123Subdomain(name)) {
        r.error({}, path, fmt::format("invalid value for gateway name: \"{}\"", name));
      }
    } else if (!isDns1123Subdomain(g)) {
      r.error({}, path, fmt::format("invalid value for gateway name: \"{}\"", g));
    } else if (g.find('.') != std::string::npos) {
      auto parts = split(g, '.');
      r.warn({}, path,
             fmt::format("using legacy gatewayName format \"{}\"; prefer the "
                         "<namespace>/<name> format: \"{}/{}\"",
                         g, parts[1], parts[0]));
    }
  }

  // HTTP routes, then unreachable rules (IST0130) and duplicate matches (IST0131).
  std::map<std::string, std::pair<size_t, size_t>> seen_matches;  // canonical -> (rule, match)
  std::optional<size_t> catch_all;
  for (size_t i = 0; i < vs.http.size(); ++i) {
    const auto& h = vs.http[i];
    const std::string path = fmt::format("spec.http[{}]", i);
    checkHttpRoute(r, h, path);
    if (catch_all) {
      r.warn(h.pos, path,
             fmt::format("VirtualService rule {} not used (route without matches defined "
                         "before: rule {})",
                         ruleLabel(h, i), ruleLabel(vs.http[*catch_all], *catch_all)),
             "IST0130");
      continue;
    }
    bool rule_catch_all = h.match.empty();
    for (size_t k = 0; k < h.match.size(); ++k) {
      if (isCatchAll(h.match[k])) rule_catch_all = true;
      auto key = canonicalMatch(h.match[k]);
      auto [it, inserted] = seen_matches.emplace(key, std::make_pair(i, k));
      if (!inserted) {
        r.warn(
            h.match[k].pos, fmt::format("{}.match[{}]", path, k),
            fmt::format("VirtualService rule {} match #{} is not used (duplicate/overlapping "
                        "match in rule {})",
                        ruleLabel(h, i), k, ruleLabel(vs.http[it->second.first], it->second.first)),
            "IST0131");
      }
    }
    if (rule_catch_all) catch_all = i;
  }

  for (size_t i = 0; i < vs.tcp.size(); ++i) {
    const auto& t = vs.tcp[i];
    const std::string path = fmt::format("spec.tcp[{}]", i);
    if (t.route.empty()) r.error(t.pos, path + ".route", "TCP route is required");
    std::vector<int32_t> weights;
    for (size_t k = 0; k < t.route.size(); ++k) {
      weights.push_back(t.route[k].weight);
      checkDestination(r, t.route[k].destination, fmt::format("{}.route[{}].destination", path, k));
    }
    checkWeights(r, weights, t.pos, path + ".route");
  }
  for (size_t i = 0; i < vs.tls.size(); ++i) {
    const auto& t = vs.tls[i];
    const std::string path = fmt::format("spec.tls[{}]", i);
    if (t.match.empty()) {
      r.error(t.pos, path + ".match", "TLS route must have at least one match condition");
    }
    for (size_t k = 0; k < t.match.size(); ++k) {
      const auto& m = t.match[k];
      const std::string mp = fmt::format("{}.match[{}]", path, k);
      if (m.sni_hosts.empty()) r.error(m.pos, mp, "TLS match must have at least one SNI host");
      for (auto& sni : m.sni_hosts) {
        if (isIpAddress(sni)) {
          r.warn(m.pos, mp + ".sniHosts",
                 fmt::format("using an IP address (\"{}\") goes against SNI spec and most "
                             "clients do not support this",
                             sni));
          continue;
        }
        bool covered = false;
        for (auto& h : vs.hosts_fqdn) {
          std::string s = resolveShortName(sni, vs.meta.ns);
          if (h == "*" || s == h ||
              (h.starts_with("*.") && s.ends_with(std::string_view(h).substr(1)))) {
            covered = true;
          }
        }
        if (!covered) {
          r.error(m.pos, mp + ".sniHosts",
                  fmt::format("SNI host \"{}\" is not a compatible subset of any of the virtual "
                              "service hosts: [{}]",
                              sni, join(vs.hosts, ", ")));
        }
      }
    }
    if (t.route.empty()) r.error(t.pos, path + ".route", "TLS route is required");
    std::vector<int32_t> weights;
    for (size_t k = 0; k < t.route.size(); ++k) {
      weights.push_back(t.route[k].weight);
      checkDestination(r, t.route[k].destination, fmt::format("{}.route[{}].destination", path, k));
    }
    checkWeights(r, weights, t.pos, path + ".route");
  }
  checkExportTo(r, vs.export_to, false);
}

}  // namespace sluice::config::validation
