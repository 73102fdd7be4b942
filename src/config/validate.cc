#include "config/validate.h"

#include <map>
#include <set>

#include "config/diagnostic_reporter.h"
#include "config/names.h"
#include "core/strings.h"

namespace sluice::config {

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

bool isMeshBound(const std::vector<std::string>& gateways) {
  if (gateways.empty()) return true;
  for (auto& g : gateways) {
    if (g == "mesh") return true;
  }
  return false;
}

void checkExportTo(DiagnosticReporter& r, const std::vector<std::string>& export_to,
                   bool allow_none) {
  std::set<std::string> seen;
  bool has_public = false;
  bool has_other = false;
  bool has_none = false;
  for (size_t i = 0; i < export_to.size(); ++i) {
    const auto& e = export_to[i];
    const std::string path = fmt::format("spec.exportTo[{}]", i);
    if (!seen.insert(e).second) {
      r.error({}, path, fmt::format("duplicate entries in exportTo for entry {}", e));
      continue;
    }
    if (e == "*") {
      has_public = true;
    } else if (e == "~") {
      if (!allow_none) {
        r.error({}, path, "exportTo ~ (none) is not allowed for Istio configuration objects");
      }
      has_none = true;
    } else if (e == "." || isDns1123Label(e)) {
      has_other = true;
      if (e == r.resource().ns && seen.count(".")) {
        r.error({}, path,
                fmt::format("duplicate entries in exportTo: . and current namespace {}", e));
      }
    } else {
      r.error({}, path, "only .,*, or a valid DNS 1123 label is allowed as exportTo entry");
    }
  }
  if (has_public && (has_other || has_none)) {
    r.error({}, "spec.exportTo",
            "cannot have both public (*) and non-public exportTo values for a resource");
  }
  if (has_none && has_other) {
    r.error({}, "spec.exportTo", "cannot export service entry to no one (~) and someone");
  }
}

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

void checkLabels(DiagnosticReporter& r, const StringMap& labels, const Position& at,
                 const std::string& path) {
  for (auto& [k, v] : labels) {
    std::string_view name = k;
    auto slash = name.find('/');
    bool ok = true;
    if (slash != std::string_view::npos) {
      ok = isDns1123Subdomain(name.substr(0, slash));
      name = name.substr(slash + 1);
    }
    auto labelChars = [](std::string_view s) {
      if (s.size() > 63) return false;
      if (s.empty()) return true;
      auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      };
      if (!alnum(s.front()) || !alnum(s.back())) return false;
      for (char c : s) {
        if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
      }
      return true;
    };
    if (!ok || name.empty() || !labelChars(name)) {
      r.error(at, path + "." + k, fmt::format("invalid tag key: \"{}\"", k));
    }
    if (!labelChars(v)) r.error(at, path + "." + k, fmt::format("invalid tag value: \"{}\"", v));
  }
}

void checkTrafficPolicy(DiagnosticReporter& r, const TrafficPolicy& tp, const std::string& path) {
  auto lb = [&](const LoadBalancerSettings& l, const std::string& p) {
    if (l.simple && l.consistent_hash) {
      r.error(l.pos, p, "only one of simple or consistentHash may be set");
    }
  };
  auto tls = [&](const ClientTLSSettings& t, const std::string& p) {
    if (t.mode == "ISTIO_MUTUAL" &&
        (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty() ||
         !t.credential_name.empty() || !t.subject_alt_names.empty() || !t.sni.empty())) {
      r.error(t.pos, p,
              "ISTIO_MUTUAL TLS cannot have client certificates, keys, CA "
              "certificates, credentialName, subjectAltNames or sni");
    }
    if (!t.credential_name.empty() &&
        (!t.client_certificate.empty() || !t.private_key.empty() || !t.ca_certificates.empty())) {
      r.error(t.pos, p,
              "cannot specify client certificates or CA certificate or CA CRL If "
              "credentialName is set");
    }
    if (t.insecure_skip_verify.value_or(false) &&
        (!t.ca_certificates.empty() || !t.credential_name.empty() ||
         !t.subject_alt_names.empty())) {
      r.error(t.pos, p,
              "cannot specify CaCertificates or CredentialName or SubjectAltNames "
              "when InsecureSkipVerify is set true");
    }
  };
  if (tp.load_balancer) lb(*tp.load_balancer, path + ".loadBalancer");
  if (tp.tls) tls(*tp.tls, path + ".tls");
  std::set<uint32_t> ports;
  for (size_t i = 0; i < tp.port_level_settings.size(); ++i) {
    const auto& pl = tp.port_level_settings[i];
    const std::string p = fmt::format("{}.portLevelSettings[{}]", path, i);
    if (pl.load_balancer) lb(*pl.load_balancer, p + ".loadBalancer");
    if (pl.tls) tls(*pl.tls, p + ".tls");
    if (pl.port && !ports.insert(*pl.port).second) {
      r.error(pl.pos, p + ".port",
              fmt::format("duplicate port level setting for port {}", *pl.port));
    }
    if (!pl.load_balancer && !pl.connection_pool && !pl.outlier_detection && !pl.tls) {
      r.error(pl.pos, p, "port traffic policy must have at least one field");
    }
  }
}

void validateDestinationRule(ConfigSet& set, const DestinationRule& dr) {
  DiagnosticReporter r(set.diagnostics, dr.meta);
  std::set<std::string> names;
  for (size_t i = 0; i < dr.subsets.size(); ++i) {
    const auto& s = dr.subsets[i];
    const std::string path = fmt::format("spec.subsets[{}]", i);
    if (!s.name.empty() && !names.insert(s.name).second) {
      r.error(s.pos, path + ".name", fmt::format("duplicate subset names: {}", s.name));
    }
    checkLabels(r, s.labels, s.pos, path + ".labels");
    if (s.traffic_policy) checkTrafficPolicy(r, *s.traffic_policy, path + ".trafficPolicy");
  }
  if (dr.traffic_policy) checkTrafficPolicy(r, *dr.traffic_policy, "spec.trafficPolicy");
  checkExportTo(r, dr.export_to, false);
  if (!dr.workload_selector.empty()) {
    if (dr.export_to.size() > 1) {
      r.error({}, "spec.exportTo",
              "destination rule with workload selector cannot have multiple entries in exportTo");
    } else if (dr.export_to.size() == 1 && dr.export_to[0] != "." &&
               dr.export_to[0] != dr.meta.ns) {
      r.error({}, "spec.exportTo",
              "destination rule with workload selector cannot have exportTo beyond current "
              "namespace");
    }
  }
}

void validateGateway(ConfigSet& set, const Gateway& gw) {
  DiagnosticReporter r(set.diagnostics, gw.meta);
  if (gw.servers.empty()) r.error({}, "spec.servers", "gateway must have at least one server");
  checkLabels(r, gw.selector, gw.meta.pos, "spec.selector");
  static const std::set<std::string> kProtocols = {"HTTP",  "HTTPS", "GRPC",  "GRPC-WEB", "HTTP2",
                                                   "MONGO", "REDIS", "MYSQL", "TCP",      "TLS"};
  std::map<std::string, size_t> port_names;
  for (size_t i = 0; i < gw.servers.size(); ++i) {
    const auto& s = gw.servers[i];
    const std::string path = fmt::format("spec.servers[{}]", i);
    if (s.hosts.empty()) {
      r.error(s.pos, path + ".hosts", "server config must contain at least one host");
    }
    for (size_t k = 0; k < s.hosts.size(); ++k) {
      const std::string hp = fmt::format("{}.hosts[{}]", path, k);
      std::string_view host = s.hosts[k];
      auto slash = host.find('/');
      if (slash != std::string_view::npos) {
        auto ns = host.substr(0, slash);
        host = host.substr(slash + 1);
        if (ns.empty() || host.empty()) {
          r.error(s.pos, hp, "config namespace and dnsName in host entry cannot be empty");
          continue;
        }
        if (ns != "*" && ns != "." && !isDns1123Label(ns)) {
          r.error(s.pos, hp, fmt::format("invalid namespace value \"{}\" in gateway", ns));
          continue;
        }
      }
      if (host == "*") continue;
      if (host.find('.') == std::string_view::npos && !isIpAddress(host)) {
        r.error(s.pos, hp, "short names (non FQDN) are not allowed");
        continue;
      }
      if (auto problem = checkHost(host)) r.error(s.pos, hp, *problem);
    }
    if (!s.port) {
      r.error(s.pos, path + ".port", "port is required");
      continue;
    }
    const auto& port = *s.port;
    const bool unix_bind = s.bind.starts_with("unix://");
    if (port.number == 0 && !unix_bind) {
      r.error(s.pos, path + ".port.number", "port number 0 must be in the range 1..65535");
    } else if (port.number != 0 && unix_bind) {
      r.error(s.pos, path + ".port.number",
              fmt::format("port number must be 0 for unix domain socket: {}", port.number));
    }
    if (port.name.empty()) {
      r.error(s.pos, path + ".port.name", fmt::format("port name must be set: {}", port.number));
    } else {
      auto [it, inserted] = port_names.emplace(port.name, i);
      if (!inserted) {
        r.error(s.pos, path + ".port.name",
                fmt::format("port names in servers must be unique: duplicate name {}", port.name));
      }
    }
    if (!kProtocols.count(port.protocol)) {
      r.error(s.pos, path + ".port.protocol",
              fmt::format("invalid protocol \"{}\", supported protocols are HTTP, HTTP2, GRPC, "
                          "GRPC-WEB, MONGO, REDIS, MYSQL, TCP, HTTPS, TLS",
                          port.protocol));
      continue;
    }
    const bool tls_proto = port.protocol == "HTTPS" || port.protocol == "TLS";
    if (tls_proto && !s.tls) {
      r.error(s.pos, path + ".tls", "server must have TLS settings for HTTPS/TLS protocols");
    } else if (s.tls && !tls_proto) {
      const bool redirect_only = s.tls->https_redirect && s.tls->mode.empty() &&
                                 s.tls->server_certificate.empty() &&
                                 s.tls->credential_name.empty();
      if (!redirect_only) {
        r.error(s.tls->pos, path + ".tls",
                port.protocol == "HTTP"
                    ? "server cannot have TLS settings for plain text HTTP ports"
                    : "server cannot have TLS settings for non HTTPS/TLS ports");
      }
    }
    if (s.tls && s.tls->https_redirect && port.protocol != "HTTP") {
      r.warn(s.tls->pos, path + ".tls.httpsRedirect",
             "tls.httpsRedirect should only be used with http servers");
    }
    if (s.tls && tls_proto && s.tls->credential_name.empty()) {
      const auto& t = *s.tls;
      if (t.mode == "SIMPLE" || t.mode == "MUTUAL") {
        if (t.server_certificate.empty()) {
          r.error(t.pos, path + ".tls.serverCertificate",
                  fmt::format("{} TLS requires a server certificate", t.mode));
        }
        if (t.private_key.empty()) {
          r.error(t.pos, path + ".tls.privateKey",
                  fmt::format("{} TLS requires a private key", t.mode));
        }
        if (t.mode == "MUTUAL" && t.ca_certificates.empty()) {
          r.error(t.pos, path + ".tls.caCertificates", "MUTUAL TLS requires a client CA bundle");
        }
      }
    }
  }
}

bool isValidSeProtocol(const std::string& p) {
  static const std::set<std::string> kProtocols = {
      "HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "REDIS", "MYSQL", "TCP", "TLS", "UDP"};
  return kProtocols.count(p) > 0;
}

void validateServiceEntry(ConfigSet& set, const ServiceEntry& se) {
  DiagnosticReporter r(set.diagnostics, se.meta);
  using Res = ServiceEntry::Resolution;
  if (se.hosts.empty()) r.error({}, "spec.hosts", "service entry must have at least one host");
  if (se.workload_selector && !se.endpoints.empty()) {
    r.error({}, "spec.endpoints",
            "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
  }
  std::set<std::string> names;
  std::set<uint32_t> numbers;
  for (size_t i = 0; i < se.ports.size(); ++i) {
    const auto& p = se.ports[i];
    const std::string path = fmt::format("spec.ports[{}]", i);
    if (!isDns1123Label(p.name)) {
      r.error(p.pos, path + ".name", fmt::format("invalid port name: {}", p.name));
    } else if (!names.insert(p.name).second) {
      r.error(p.pos, path + ".name",
              fmt::format("service entry port name \"{}\" already defined", p.name));
    }
    if (p.number != 0 && !numbers.insert(p.number).second) {
      r.error(p.pos, path + ".number",
              fmt::format("service entry port {} already defined", p.number));
    }
    if (!p.protocol.empty() && !isValidSeProtocol(p.protocol)) {
      r.error(p.pos, path + ".protocol", fmt::format("unsupported protocol: {}", p.protocol));
    }
  }
  for (size_t i = 0; i < se.addresses.size(); ++i) {
    const auto& a = se.addresses[i];
    if (a.find('/') != std::string::npos && se.resolution != Res::kNone &&
        se.resolution != Res::kStatic) {
      r.error({}, fmt::format("spec.addresses[{}]", i),
              "CIDR addresses are allowed only for NONE/STATIC resolution types");
    }
  }
  const char* mode = se.resolution == Res::kDns ? "DNS" : "DNS_ROUND_ROBIN";
  switch (se.resolution) {
    case Res::kNone:
      if (!se.endpoints.empty()) {
        r.error({}, "spec.endpoints", "no endpoints should be provided for resolution type none");
      }
      break;
    case Res::kStatic:
      for (size_t i = 0; i < se.endpoints.size(); ++i) {
        const auto& e = se.endpoints[i];
        if (e.address.empty()) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i), "address is required");
        } else if (!e.address.starts_with("unix://") && !isIpAddress(e.address)) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i),
                  fmt::format("endpoint address \"{}\" is not a valid IP address", e.address));
        }
      }
      break;
    case Res::kDns:
    case Res::kDnsRoundRobin:
      if (se.endpoints.empty()) {
        for (size_t i = 0; i < se.hosts.size(); ++i) {
          if (se.hosts[i].find('*') != std::string::npos) {
            r.error({}, fmt::format("spec.hosts[{}]", i),
                    fmt::format("hosts must be FQDN if no endpoints are provided for resolution "
                                "mode {}",
                                mode));
          }
        }
      }
      if (se.resolution == Res::kDnsRoundRobin && se.endpoints.size() > 1) {
        r.error({}, "spec.endpoints",
                fmt::format("there must only be 0 or 1 endpoint for resolution mode {}", mode));
      }
      for (size_t i = 0; i < se.endpoints.size(); ++i) {
        const auto& e = se.endpoints[i];
        if (e.address.empty()) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i), "address is required");
        } else if (!isIpAddress(e.address) && checkHost(e.address, false)) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i),
                  fmt::format("endpoint address \"{}\" is not a valid IP address or host name",
                              e.address));
        }
      }
      break;
  }
  for (size_t i = 0; i < se.endpoints.size(); ++i) {
    const auto& e = se.endpoints[i];
    for (auto& [name, number] : e.ports) {
      if (!names.count(name)) {
        r.error(e.pos, fmt::format("spec.endpoints[{}].ports.{}", i, name),
                fmt::format("endpoint port {} is not defined by the service entry", name));
      }
    }
    checkLabels(r, e.labels, e.pos, fmt::format("spec.endpoints[{}].labels", i));
  }
  checkExportTo(r, se.export_to, true);
}

void validateWorkloadEntry(ConfigSet& set, const WorkloadEntry& we) {
  DiagnosticReporter r(set.diagnostics, we.meta);
  const auto& a = we.spec.address;
  if (!a.empty() && !a.starts_with("unix://") && !isIpAddress(a) && checkHost(a, false)) {
    r.error(we.spec.pos, "spec.address",
            fmt::format("endpoint address \"{}\" is not a valid IP address", a));
  }
  checkLabels(r, we.spec.labels, we.spec.pos, "spec.labels");
}

// Gateway reference as written in a VirtualService -> "namespace/name".
std::string gatewayKey(const std::string& ref, const std::string& vs_ns) {
  auto slash = ref.find('/');
  if (slash != std::string::npos) {
    auto ns = ref.substr(0, slash);
    return (ns == "." ? vs_ns : ns) + "/" + ref.substr(slash + 1);
  }
  auto dot = ref.find('.');
  if (dot != std::string::npos) {
    // Legacy "name.namespace.svc.cluster.local".
    auto parts = split(ref, '.');
    return std::string(parts[1]) + "/" + std::string(parts[0]);
  }
  return vs_ns + "/" + ref;
}

}  // namespace

void validateResources(ConfigSet& set) {
  for (const auto& vs : set.virtual_services) validateVirtualService(set, vs);
  for (const auto& dr : set.destination_rules) validateDestinationRule(set, dr);
  for (const auto& gw : set.gateways) validateGateway(set, gw);
  for (const auto& se : set.service_entries) validateServiceEntry(set, se);
  for (const auto& we : set.workload_entries) validateWorkloadEntry(set, we);
}

void validateCrossResource(ConfigSet& set) {
  // Duplicate names per kind.
  std::map<std::string, const Meta*> names;
  auto checkDuplicate = [&](const Meta& meta) {
    const std::string key = meta.kind + "/" + meta.ns + "/" + meta.name;
    auto [it, inserted] = names.emplace(key, &meta);
    if (!inserted) {
      DiagnosticReporter(set.diagnostics, meta)
          .error({}, "metadata.name",
                 fmt::format("duplicate {} {}/{} (first defined at {})", meta.kind, meta.ns,
                             meta.name, it->second->pos.toString()));
    }
  };
  for (auto& r : set.virtual_services) checkDuplicate(r.meta);
  for (auto& r : set.destination_rules) checkDuplicate(r.meta);
  for (auto& r : set.gateways) checkDuplicate(r.meta);
  for (auto& r : set.service_entries) checkDuplicate(r.meta);
  for (auto& r : set.envoy_filters) checkDuplicate(r.meta);
  for (auto& r : set.sidecars) checkDuplicate(r.meta);
  for (auto& r : set.workload_entries) checkDuplicate(r.meta);

  // Subsets referenced by VirtualServices (IST0101).
  auto subsetDefined = [&](const Destination& d) {
    for (auto& dr : set.destination_rules) {
      const bool host_match = dr.host_fqdn == d.host_fqdn ||
                              (dr.host_fqdn.starts_with("*") &&
                               (dr.host_fqdn == "*" ||
                                d.host_fqdn.ends_with(std::string_view(dr.host_fqdn).substr(1))));
      if (!host_match) continue;
      for (auto& s : dr.subsets) {
        if (s.name == d.subset) return true;
      }
    }
    return false;
  };
  std::map<std::string, const Gateway*> gateways;
  for (auto& gw : set.gateways) gateways.emplace(gw.meta.ns + "/" + gw.meta.name, &gw);
  // Does a server host entry ([ns/]dnsName) of gateway `gw` admit `host` of a VirtualService in
  // namespace `vs_ns`?
  auto serverAdmits = [](const Gateway& gw, std::string_view entry, const std::string& host,
                         const std::string& vs_ns) {
    std::string_view dns = entry;
    auto slash = entry.find('/');
    if (slash != std::string_view::npos) {
      auto ns = entry.substr(0, slash);
      dns = entry.substr(slash + 1);
      if (ns == "." && vs_ns != gw.meta.ns) return false;
      if (ns != "*" && ns != "." && ns != vs_ns) return false;
    }
    return hostsOverlap(dns, host);
  };

  for (auto& vs : set.virtual_services) {
    DiagnosticReporter r(set.diagnostics, vs.meta);
    auto checkSubset = [&](const Destination& d, const std::string& path) {
      if (d.subset.empty() || d.host.empty()) return;
      if (!subsetDefined(d)) {
        r.error(d.subset_pos.line > 0 ? d.subset_pos : d.pos, path + ".subset",
                fmt::format("Referenced host+subset in destinationrule not found: \"{}+{}\"",
                            d.host, d.subset),
                "IST0101");
      }
    };
    auto checkGateway = [&](const std::string& ref, const std::string& path) {
      if (ref == "mesh" || ref.empty()) return;
      auto it = gateways.find(gatewayKey(ref, vs.meta.ns));
      if (it == gateways.end()) {
        r.error({}, path, fmt::format("Referenced gateway not found: \"{}\"", ref), "IST0101");
        return;
      }
      for (size_t h = 0; h < vs.hosts.size(); ++h) {
        bool found = false;
        for (const auto& server : it->second->servers) {
          for (const auto& entry : server.hosts) {
            if (serverAdmits(*it->second, entry, vs.hosts[h], vs.meta.ns)) found = true;
          }
        }
        if (!found) {
          r.warn({}, fmt::format("spec.hosts[{}]", h),
                 fmt::format("one or more host [{}] defined in VirtualService {}/{} not found in "
                             "Gateway {}",
                             vs.hosts[h], vs.meta.ns, vs.meta.name, it->first),
                 "IST0132");
        }
      }
    };
    for (size_t i = 0; i < vs.gateways.size(); ++i) {
      checkGateway(vs.gateways[i], fmt::format("spec.gateways[{}]", i));
    }
    for (size_t i = 0; i < vs.http.size(); ++i) {
      const auto& h = vs.http[i];
      for (size_t k = 0; k < h.route.size(); ++k) {
        checkSubset(h.route[k].destination,
                    fmt::format("spec.http[{}].route[{}].destination", i, k));
      }
      if (h.mirror) checkSubset(*h.mirror, fmt::format("spec.http[{}].mirror", i));
      for (size_t k = 0; k < h.mirrors.size(); ++k) {
        checkSubset(h.mirrors[k].destination,
                    fmt::format("spec.http[{}].mirrors[{}].destination", i, k));
      }
      for (size_t k = 0; k < h.match.size(); ++k) {
        for (size_t g = 0; g < h.match[k].gateways.size(); ++g) {
          checkGateway(h.match[k].gateways[g],
                       fmt::format("spec.http[{}].match[{}].gateways[{}]", i, k, g));
        }
      }
    }
    for (size_t i = 0; i < vs.tcp.size(); ++i) {
      for (size_t k = 0; k < vs.tcp[i].route.size(); ++k) {
        checkSubset(vs.tcp[i].route[k].destination,
                    fmt::format("spec.tcp[{}].route[{}].destination", i, k));
      }
    }
    for (size_t i = 0; i < vs.tls.size(); ++i) {
      for (size_t k = 0; k < vs.tls[i].route.size(); ++k) {
        checkSubset(vs.tls[i].route[k].destination,
                    fmt::format("spec.tls[{}].route[{}].destination", i, k));
      }
    }
  }

  // Several DestinationRules for one host (Istio merges them; usually a mistake).
  std::map<std::string, const DestinationRule*> by_host;
  for (auto& dr : set.destination_rules) {
    if (dr.host_fqdn.empty() || !dr.workload_selector.empty()) continue;
    auto [it, inserted] = by_host.emplace(dr.host_fqdn, &dr);
    if (!inserted) {
      DiagnosticReporter(set.diagnostics, dr.meta)
          .warn({}, "spec.host",
                fmt::format("multiple DestinationRules for host \"{}\" (also {}/{} at {}): Istio "
                            "merges them (first trafficPolicy wins, duplicate subsets dropped)",
                            dr.host, it->second->meta.ns, it->second->meta.name,
                            it->second->meta.pos.toString()));
    }
  }

  // Several mesh VirtualServices for one host (IST0109): the first one wins, undefined order.
  std::map<std::string, const VirtualService*> mesh_hosts;
  for (auto& vs : set.virtual_services) {
    if (!isMeshBound(vs.gateways)) continue;
    for (size_t i = 0; i < vs.hosts_fqdn.size(); ++i) {
      auto [it, inserted] = mesh_hosts.emplace(vs.hosts_fqdn[i], &vs);
      if (!inserted && it->second != &vs) {
        DiagnosticReporter(set.diagnostics, vs.meta)
            .warn({}, fmt::format("spec.hosts[{}]", i),
                  fmt::format("The VirtualServices {}/{},{}/{} associated with mesh define the "
                              "same host or wildcard host {}; this leads to undefined behavior",
                              it->second->meta.ns, it->second->meta.name, vs.meta.ns, vs.meta.name,
                              vs.hosts[i]),
                  "IST0109");
      }
    }
  }
}

}  // namespace sluice::config
