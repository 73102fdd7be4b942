// VirtualService: hosts, gateways, HTTP routes (match, route, redirect, direct response,
// delegate, rewrite, timeout, retries, fault, mirrors, CORS, headers), TCP and TLS routes.

#include <limits>
#include <set>

#include "config/decode/decoder.h"
#include "config/names.h"
#include "core/base64.h"
#include "core/strings.h"

namespace sluice::config::decode {

namespace {

// --- string matches --------------------------------------------------------------------------

struct StringMatchDecoding {
  bool allow_presence;      // headers/queryParams: `{}` and regex "*" mean "present"
  bool allow_empty_prefix;  // uri: prefix "" matches everything
  StringMatch match;
  int set = 0;
  bool bad = false;
};

// The common part of exact/prefix/regex: the value as a string, counted. Empty when absent.
std::optional<std::string> matchValue(Decoder& d, const At& v, StringMatchDecoding& s) {
  auto value = d.str(v);
  if (!value) {
    if (!v.node.IsNull()) s.bad = true;
    return std::nullopt;
  }
  ++s.set;
  s.match.value = *value;
  return value;
}

constexpr Field<StringMatchDecoding> kStringMatchFields[] = {
    {"exact",
     [](Decoder& d, const At& v, StringMatchDecoding& s) {
       if (matchValue(d, v, s)) s.match.kind = StringMatch::Kind::kExact;
     }},
    {"prefix",
     [](Decoder& d, const At& v, StringMatchDecoding& s) {
       auto value = matchValue(d, v, s);
       if (!value) return;
       s.match.kind = StringMatch::Kind::kPrefix;
       if (value->empty() && !s.allow_empty_prefix) {
         d.error(v, "prefix string match should not be empty");
         s.bad = true;
       }
     }},
    {"regex",
     [](Decoder& d, const At& v, StringMatchDecoding& s) {
       auto value = matchValue(d, v, s);
       if (!value) return;
       s.match.kind = StringMatch::Kind::kRegex;
       if (s.allow_presence && *value == "*") {
         s.match.kind = StringMatch::Kind::kPresent;  // Istio turns regex "*" into a presence check
         return;
       }
       auto re = compileRegex(*value);
       if (!re) {
         d.error(v, re.error().message);
         s.bad = true;
         return;
       }
       s.match.regex = *re;
     }},
};

std::optional<StringMatch> stringMatch(Decoder& d, const At& n, bool allow_presence,
                                       bool allow_empty_prefix) {
  if (!n.node.IsDefined() || n.node.IsNull()) {
    if (allow_presence && n.node.IsDefined()) {
      return StringMatch{StringMatch::Kind::kPresent, "", {}};
    }
    return std::nullopt;
  }
  StringMatchDecoding s{allow_presence, allow_empty_prefix, {}};
  const bool present = d.object(n, kStringMatchFields, s);
  if (!present || s.bad) return std::nullopt;
  if (s.set > 1) {
    d.error(n, "only one of exact, prefix or regex may be set");
    return std::nullopt;
  }
  if (s.set == 0) {
    if (allow_presence) return StringMatch{StringMatch::Kind::kPresent, "", {}};
    d.error(n, "string match must set one of exact, prefix or regex");
    return std::nullopt;
  }
  return s.match;
}

// headers / withoutHeaders / queryParams: name -> string match.
std::map<std::string, StringMatch> matchMap(Decoder& d, const At& n, bool header_names) {
  std::map<std::string, StringMatch> out;
  if (!n.node.IsDefined() || n.node.IsNull()) return out;
  if (!n.node.IsMap()) {
    d.error(n, fmt::format("expected an object, got {}", Decoder::nodeTypeName(n.node)));
    return out;
  }
  for (auto it = n.node.begin(); it != n.node.end(); ++it) {
    if (!d.spend()) return out;
    if (!it->first.IsScalar()) {
      d.error(it->first, n.path, "keys must be strings");
      continue;
    }
    const std::string key = it->first.Scalar();
    const std::string p = Decoder::child(n.path, key);
    if (key.empty()) {
      d.error(it->first, p, "header name cannot be empty");
      continue;
    }
    if (header_names) {
      std::string_view name = key;
      const bool pseudo = name.starts_with(":");
      const bool claim = name.starts_with("@request.auth.claims");
      if (!claim && !isHeaderToken(pseudo ? name.substr(1) : name)) {
        d.error(it->first, p, fmt::format("header name {} is not a valid header name", key));
        continue;
      }
      if (!claim && toLower(key) != key) {
        d.error(it->first, p, fmt::format("header name \"{}\" must be lower case", key));
        continue;
      }
    }
    auto m = stringMatch(d, At{it->second, p}, /*allow_presence=*/true,
                         /*allow_empty_prefix=*/false);
    if (m) out[key] = std::move(*m);
  }
  return out;
}

// The object `n` decoded with `table`, remembering where it stood (when it has a pos).
template <typename T>
T decodeObject(Decoder& d, const At& n, std::span<const Field<T>> table) {
  T x;
  if constexpr (requires { x.pos; }) x.pos = d.pos(n.node);
  d.object(n, table, x);
  return x;
}
template <typename T, size_t N>
T decodeObject(Decoder& d, const At& n, const Field<T> (&table)[N]) {
  return decodeObject(d, n, std::span<const Field<T>>(table));
}

// A list of such objects.
template <typename T>
std::vector<T> objectList(Decoder& d, const At& n, std::span<const Field<T>> table) {
  std::vector<T> out;
  d.list(n, [&](const At& item) { out.push_back(decodeObject(d, item, table)); });
  return out;
}
template <typename T, size_t N>
std::vector<T> objectList(Decoder& d, const At& n, const Field<T> (&table)[N]) {
  return objectList(d, n, std::span<const Field<T>>(table));
}

// --- destinations ----------------------------------------------------------------------------

constexpr Field<Destination> kDestinationFields[] = {
    {"host", [](Decoder& d, const At& v, Destination& x) { x.host = d.strOr(v); }},
    {"subset",
     [](Decoder& d, const At& v, Destination& x) {
       x.subset = d.strOr(v);
       x.subset_pos = d.pos(v.node);
     }},
    {"port", [](Decoder& d, const At& v, Destination& x) { x.port = d.portSelector(v); }},
};

Destination destination(Decoder& d, const At& n) {
  Destination x;
  x.pos = d.pos(n.node);
  d.object(n, kDestinationFields, x);
  x.host_fqdn = resolveShortName(x.host, d.meta().ns);
  return x;
}

int32_t weight(Decoder& d, const At& v) {
  auto w = d.integer(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
  if (!w) return 0;
  if (*w < 0) {
    d.error(v, fmt::format("weight {} < 0", *w));
    return 0;
  }
  return static_cast<int32_t>(*w);
}

// Keys every route destination has (HTTP, TCP and TLS routes).
constexpr auto kDestinationField = [](Decoder& d, const At& v, auto& x) {
  x.destination = destination(d, v);
};
constexpr auto kWeightField = [](Decoder& d, const At& v, auto& x) { x.weight = weight(d, v); };

// --- header operations -----------------------------------------------------------------------

bool checkHeaderOpName(Decoder& d, const YAML::Node& at, const std::string& path,
                       std::string_view name) {
  if (name.starts_with(":")) {
    d.error(at, path, fmt::format("invalid header \"{}\": header cannot have \":\" prefix", name));
    return false;
  }
  if (!isHeaderToken(name)) {
    d.error(at, path, fmt::format("header name {} is not a valid header name", name));
    return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> headerPairs(Decoder& d, const At& n) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!n.node.IsDefined() || n.node.IsNull()) return out;
  if (!n.node.IsMap()) {
    d.error(n, fmt::format("expected an object, got {}", Decoder::nodeTypeName(n.node)));
    return out;
  }
  for (auto it = n.node.begin(); it != n.node.end(); ++it) {
    if (!d.spend()) return out;
    if (!it->first.IsScalar()) continue;
    const std::string key = it->first.Scalar();
    const std::string p = Decoder::child(n.path, key);
    auto value = d.str(At{it->second, p});
    if (!checkHeaderOpName(d, it->first, p, key)) continue;
    out.emplace_back(key, value.value_or(""));
  }
  return out;
}

struct HeaderOpsDecoding {
  bool response;  // the response side: Host cannot be set there
  HeaderOperations ops;
};

void headerPairsInto(Decoder& d, const At& v, bool response,
                     std::vector<std::pair<std::string, std::string>>& into) {
  for (auto& [name, value] : headerPairs(d, v)) {
    if (response && equalsIgnoreCase(name, "host")) {
      d.error(v.node, Decoder::child(v.path, name),
              fmt::format("invalid header \"{}\": cannot set Host header", name));
      continue;
    }
    into.emplace_back(name, value);
  }
}

constexpr Field<HeaderOpsDecoding> kHeaderOpsFields[] = {
    {"set", [](Decoder& d, const At& v,
               HeaderOpsDecoding& h) { headerPairsInto(d, v, h.response, h.ops.set); }},
    {"add", [](Decoder& d, const At& v,
               HeaderOpsDecoding& h) { headerPairsInto(d, v, h.response, h.ops.add); }},
    {"remove",
     [](Decoder& d, const At& v, HeaderOpsDecoding& h) {
       d.list(v, [&](const At& item) {
         auto s = d.str(item);
         if (!s) return;
         if (!checkHeaderOpName(d, item.node, item.path, *s)) return;
         if (equalsIgnoreCase(*s, "host")) {
           d.error(item, fmt::format("invalid header \"{}\": cannot set Host header", *s));
           return;
         }
         h.ops.remove.push_back(*s);
       });
     }},
};

HeaderOperations headerOps(Decoder& d, const At& n, bool response) {
  HeaderOpsDecoding h{response, {}};
  d.object(n, kHeaderOpsFields, h);
  return std::move(h.ops);
}

constexpr Field<Headers> kHeadersFields[] = {
    {"request",
     [](Decoder& d, const At& v, Headers& h) {
       if (!v.node.IsNull()) h.request = headerOps(d, v, false);
     }},
    {"response",
     [](Decoder& d, const At& v, Headers& h) {
       if (!v.node.IsNull()) h.response = headerOps(d, v, true);
     }},
};

Headers headers(Decoder& d, const At& n) {
  Headers h;
  d.object(n, kHeadersFields, h);
  return h;
}

// --- HTTP match ------------------------------------------------------------------------------

constexpr Field<HTTPMatchRequest> kHttpMatchFields[] = {
    {"name", [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.name = d.strOr(v); }},
    {"uri",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.uri = stringMatch(d, v, false, true); }},
    {"scheme", [](Decoder& d, const At& v,
                  HTTPMatchRequest& m) { m.scheme = stringMatch(d, v, false, false); }},
    {"method", [](Decoder& d, const At& v,
                  HTTPMatchRequest& m) { m.method = stringMatch(d, v, false, false); }},
    {"authority", [](Decoder& d, const At& v,
                     HTTPMatchRequest& m) { m.authority = stringMatch(d, v, false, false); }},
    {"headers",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.headers = matchMap(d, v, true); }},
    {"withoutHeaders", [](Decoder& d, const At& v,
                          HTTPMatchRequest& m) { m.without_headers = matchMap(d, v, true); }},
    {"queryParams",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.query_params = matchMap(d, v, false); }},
    {"ignoreUriCase",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) {
       m.ignore_uri_case = d.boolean(v).value_or(false);
     }},
    {"port", [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.port = d.port(v); }},
    {"sourceLabels",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.source_labels = d.stringMap(v); }},
    {"gateways",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.gateways = d.stringList(v); }},
    {"sourceNamespace",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) {
       m.source_namespace = d.strOr(v);
       if (!m.source_namespace.empty() && !isDns1123Label(m.source_namespace)) {
         d.error(v, fmt::format("sourceNamespace match {} is invalid", m.source_namespace));
       }
     }},
    {"statPrefix",
     [](Decoder& d, const At& v, HTTPMatchRequest& m) { m.stat_prefix = d.strOr(v); }},
};

HTTPMatchRequest httpMatch(Decoder& d, const At& n) {
  HTTPMatchRequest m;
  m.pos = d.pos(n.node);
  if (n.node.IsMap() && n.node.size() == 0) return m;
  d.object(n, kHttpMatchFields, m);
  return m;
}

// --- redirect, direct response, rewrite ------------------------------------------------------

constexpr Field<HTTPRedirect> kRedirectFields[] = {
    {"uri", [](Decoder& d, const At& v, HTTPRedirect& r) { r.uri = d.str(v); }},
    {"authority", [](Decoder& d, const At& v, HTTPRedirect& r) { r.authority = d.str(v); }},
    {"port", [](Decoder& d, const At& v, HTTPRedirect& r) { r.port = d.port(v); }},
    {"derivePort",
     [](Decoder& d, const At& v, HTTPRedirect& r) {
       std::string s = d.strOr(v);
       if (s == "FROM_PROTOCOL_DEFAULT") {
         r.derive_port = HTTPRedirect::DerivePort::kFromProtocolDefault;
       } else if (s == "FROM_REQUEST_PORT") {
         r.derive_port = HTTPRedirect::DerivePort::kFromRequestPort;
       } else if (!s.empty()) {
         d.error(v, fmt::format("invalid derivePort \"{}\" (FROM_PROTOCOL_DEFAULT or "
                                "FROM_REQUEST_PORT)",
                                s));
       }
     }},
    {"scheme",
     [](Decoder& d, const At& v, HTTPRedirect& r) {
       r.scheme = d.str(v);
       if (r.scheme && *r.scheme != "http" && *r.scheme != "https") {
         d.error(v, "invalid redirect scheme, must be \"http\" or \"https\"");
       }
     }},
    {"redirectCode",
     [](Decoder& d, const At& v, HTTPRedirect& r) {
       auto code = d.u32(v);
       if (!code) return;
       if (*code < 300 || *code > 399) {
         d.error(v, fmt::format("{} is not a valid redirect code, must be 3xx", *code));
         return;
       }
       r.redirect_code = *code;
     }},
    {"prefixRewrite",
     [](Decoder& d, const At& v, HTTPRedirect& r) { r.prefix_rewrite = d.str(v); }},
};

HTTPRedirect redirect(Decoder& d, const At& n) { return decodeObject(d, n, kRedirectFields); }

// The common part of body.string and body.bytes: one of them, as a string.
std::optional<std::string> bodyValue(Decoder& d, const At& v,
                                     const std::optional<std::string>& body) {
  if (body) {
    d.error(v, "only one of body.string or body.bytes may be set");
    return std::nullopt;
  }
  return d.str(v);
}

constexpr Field<std::optional<std::string>> kBodyFields[] = {
    {"string",
     [](Decoder& d, const At& v, std::optional<std::string>& body) {
       if (auto s = bodyValue(d, v, body)) body = *s;
     }},
    {"bytes",
     [](Decoder& d, const At& v, std::optional<std::string>& body) {
       auto s = bodyValue(d, v, body);
       if (!s) return;
       auto decoded = decodeBase64(*s, Base64Input::kLenient);
       if (!decoded) {
         d.error(v, "body.bytes is not valid base64");
         return;
       }
       body = *decoded;
     }},
};

struct DirectResponseDecoding {
  HTTPDirectResponse response;
  bool has_status = false;  // a valid integer was given
};

constexpr Field<DirectResponseDecoding> kDirectResponseFields[] = {
    {"status",
     [](Decoder& d, const At& v, DirectResponseDecoding& r) {
       auto s = d.u32(v);
       if (!s) return;
       r.has_status = true;
       if (*s < 200 || *s > 599) {
         d.error(v, fmt::format("HTTP status {} is not in range 200-599", *s));
       }
       r.response.status = *s;
     }},
    {"body", [](Decoder& d, const At& v,
                DirectResponseDecoding& r) { d.object(v, kBodyFields, r.response.body); }},
};

HTTPDirectResponse directResponse(Decoder& d, const At& n) {
  DirectResponseDecoding r;
  r.response.pos = d.pos(n.node);
  d.object(n, kDirectResponseFields, r);
  if (!r.has_status && n.node.IsMap()) d.error(n.node, n.path + ".status", "status is required");
  return std::move(r.response);
}

struct RegexRewriteDecoding {
  RegexRewrite rewrite;
  bool ok = true;  // match compiled
};

constexpr Field<RegexRewriteDecoding> kRegexRewriteFields[] = {
    {"match",
     [](Decoder& d, const At& v, RegexRewriteDecoding& r) {
       r.rewrite.match = d.strOr(v);
       auto re = compileRegex(r.rewrite.match);
       if (!re) {
         d.error(v, re.error().message);
         r.ok = false;
       } else {
         r.rewrite.regex = *re;
       }
     }},
    {"rewrite",
     [](Decoder& d, const At& v, RegexRewriteDecoding& r) { r.rewrite.rewrite = d.strOr(v); }},
};

constexpr Field<HTTPRewrite> kRewriteFields[] = {
    {"uri", [](Decoder& d, const At& v, HTTPRewrite& r) { r.uri = d.str(v); }},
    {"authority", [](Decoder& d, const At& v, HTTPRewrite& r) { r.authority = d.str(v); }},
    {"uriRegexRewrite",
     [](Decoder& d, const At& v, HTTPRewrite& r) {
       if (v.node.IsNull()) return;
       RegexRewriteDecoding rr;
       d.object(v, kRegexRewriteFields, rr);
       if (rr.ok && (rr.rewrite.match.empty() || get(v.node, "rewrite").IsNull())) {
         d.error(v, "UriRegexRewrite requires both Rewrite and Match fields to be specified");
       }
       r.uri_regex_rewrite = std::move(rr.rewrite);
     }},
};

HTTPRewrite rewrite(Decoder& d, const At& n) { return decodeObject(d, n, kRewriteFields); }

// --- retries, fault injection, CORS ----------------------------------------------------------

constexpr Field<HTTPRetry> kRetryFields[] = {
    {"attempts",
     [](Decoder& d, const At& v, HTTPRetry& r) {
       auto a = d.i32(v);
       if (a && *a < 0) {
         d.error(v, "attempts cannot be negative");
         return;
       }
       r.attempts = a.value_or(0);
     }},
    {"perTryTimeout",
     [](Decoder& d, const At& v, HTTPRetry& r) { r.per_try_timeout = d.duration(v); }},
    {"retryOn", [](Decoder& d, const At& v, HTTPRetry& r) { r.retry_on = d.str(v); }},
    {"retryRemoteLocalities",
     [](Decoder& d, const At& v, HTTPRetry& r) { r.retry_remote_localities = d.boolean(v); }},
    {"retryIgnorePreviousHosts", [](Decoder& d, const At& v, HTTPRetry&) { d.boolean(v); }},
    {"backoff", [](Decoder& d, const At& v, HTTPRetry& r) { r.backoff = d.duration(v); }},
};

HTTPRetry retries(Decoder& d, const At& n) { return decodeObject(d, n, kRetryFields); }

constexpr Field<FaultDelay> kFaultDelayFields[] = {
    {"fixedDelay", [](Decoder& d, const At& v, FaultDelay& f) { f.fixed_delay = d.duration(v); }},
    {"exponentialDelay", [](Decoder& d, const At& v,
                            FaultDelay&) { d.error(v, "exponentialDelay not supported yet"); }},
    {"percentage", [](Decoder& d, const At& v, FaultDelay& f) { f.percentage = d.percent(v); }},
    {"percent",
     [](Decoder& d, const At& v, FaultDelay& f) {
       auto x = d.integer(v, 0, 100);
       if (x) f.percentage = static_cast<double>(*x);
     }},
};

constexpr Field<FaultAbort> kFaultAbortFields[] = {
    {"httpStatus",
     [](Decoder& d, const At& v, FaultAbort& a) {
       auto s = d.u32(v);
       if (s && (*s < 200 || *s > 599)) {
         d.error(v, fmt::format("httpStatus {} must be in range 200..599", *s));
         return;
       }
       a.http_status = s;
     }},
    {"grpcStatus", [](Decoder& d, const At& v, FaultAbort& a) { a.grpc_status = d.str(v); }},
    {"http2Error",
     [](Decoder& d, const At& v, FaultAbort&) {
       d.error(v, "HTTP/2 abort fault injection not supported yet");
     }},
    {"percentage", [](Decoder& d, const At& v, FaultAbort& a) { a.percentage = d.percent(v); }},
};

constexpr Field<HTTPFaultInjection> kFaultFields[] = {
    {"delay",
     [](Decoder& d, const At& v, HTTPFaultInjection& f) {
       if (v.node.IsNull()) return;
       FaultDelay delay;
       d.object(v, kFaultDelayFields, delay);
       f.delay = delay;
     }},
    {"abort",
     [](Decoder& d, const At& v, HTTPFaultInjection& f) {
       if (v.node.IsNull()) return;
       FaultAbort abort;
       d.object(v, kFaultAbortFields, abort);
       f.abort = abort;
     }},
};

HTTPFaultInjection fault(Decoder& d, const At& n) { return decodeObject(d, n, kFaultFields); }

constexpr Field<CorsPolicy> kCorsFields[] = {
    {"allowOrigins",
     [](Decoder& d, const At& v, CorsPolicy& c) {
       d.list(v, [&](const At& item) {
         auto m = stringMatch(d, item, false, false);
         if (m) c.allow_origins.push_back(std::move(*m));
       });
     }},
    {"allowOrigin",
     [](Decoder& d, const At& v, CorsPolicy& c) {
       for (auto& s : d.stringList(v)) {
         c.allow_origins.push_back(StringMatch{StringMatch::Kind::kExact, s, {}});
       }
     }},
    {"allowMethods",
     [](Decoder& d, const At& v, CorsPolicy& c) {
       c.allow_methods = d.stringList(v);
       static const std::set<std::string> kMethods = {
           "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE", "*"};
       for (auto& m : c.allow_methods) {
         if (!kMethods.count(m))
           d.error(v, fmt::format("\"{}\" is not a supported HTTP method", m));
       }
     }},
    {"allowHeaders",
     [](Decoder& d, const At& v, CorsPolicy& c) { c.allow_headers = d.stringList(v); }},
    {"exposeHeaders",
     [](Decoder& d, const At& v, CorsPolicy& c) { c.expose_headers = d.stringList(v); }},
    {"maxAge",
     [](Decoder& d, const At& v, CorsPolicy& c) {
       c.max_age = d.duration(v);
       if (c.max_age && c.max_age->value % std::chrono::seconds(1) != std::chrono::seconds(0)) {
         d.error(v, "max_age duration is accurate only to seconds precision");
       }
     }},
    {"allowCredentials",
     [](Decoder& d, const At& v, CorsPolicy& c) { c.allow_credentials = d.boolean(v); }},
    {"unmatchedPreflights",
     [](Decoder& d, const At& v, CorsPolicy& c) {
       c.unmatched_preflights = d.strOr(v);
       if (!c.unmatched_preflights.empty() && c.unmatched_preflights != "FORWARD" &&
           c.unmatched_preflights != "IGNORE" && c.unmatched_preflights != "UNSPECIFIED") {
         d.error(v, fmt::format("invalid unmatchedPreflights \"{}\"", c.unmatched_preflights));
       }
     }},
};

CorsPolicy cors(Decoder& d, const At& n) { return decodeObject(d, n, kCorsFields); }

// --- HTTP route ------------------------------------------------------------------------------

constexpr Field<HTTPRouteDestination> kHttpRouteDestinationFields[] = {
    {"destination", kDestinationField, "destination is required"},
    {"weight", kWeightField},
    {"headers",
     [](Decoder& d, const At& v, HTTPRouteDestination& x) { x.headers = headers(d, v); }},
};

constexpr Field<HTTPMirrorPolicy> kMirrorFields[] = {
    {"destination",
     [](Decoder& d, const At& v, HTTPMirrorPolicy& m) { m.destination = destination(d, v); },
     "destination is required for mirrors"},
    {"percentage",
     [](Decoder& d, const At& v, HTTPMirrorPolicy& m) { m.percentage = d.percent(v); }},
};

constexpr Field<Delegate> kDelegateFields[] = {
    {"name", [](Decoder& d, const At& v, Delegate& x) { x.name = d.strOr(v); }},
    {"namespace",
     [](Decoder& d, const At& v, Delegate& x) { x.ns = d.str(v).value_or(d.meta().ns); }},
};

constexpr Field<HTTPRoute> kHttpRouteFields[] = {
    {"name", [](Decoder& d, const At& v, HTTPRoute& r) { r.name = d.strOr(v); }},
    {"match",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       d.list(v, [&](const At& item) { r.match.push_back(httpMatch(d, item)); });
     }},
    {"route", [](Decoder& d, const At& v,
                 HTTPRoute& r) { r.route = objectList(d, v, kHttpRouteDestinationFields); }},
    {"redirect",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.redirect = redirect(d, v);
     }},
    {"directResponse",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.direct_response = directResponse(d, v);
     }},
    {"delegate",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (v.node.IsNull()) return;
       Delegate x;
       x.ns = d.meta().ns;
       d.object(v, kDelegateFields, x);
       r.delegate = x;
     }},
    {"rewrite",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.rewrite = rewrite(d, v);
     }},
    {"timeout", [](Decoder& d, const At& v, HTTPRoute& r) { r.timeout = d.duration(v); }},
    {"retries",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.retries = retries(d, v);
     }},
    {"fault",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.fault = fault(d, v);
     }},
    {"mirror",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.mirror = destination(d, v);
     }},
    {"mirrorPercentage",
     [](Decoder& d, const At& v, HTTPRoute& r) { r.mirror_percentage = d.percent(v); }},
    {"mirrorPercent",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       d.warn(v, "using deprecated setting \"mirrorPercent\", use \"mirrorPercentage\" instead");
       auto x = d.integer(v, 0, 100);
       if (x) r.mirror_percentage = static_cast<double>(*x);
     }},
    {"mirrors",
     [](Decoder& d, const At& v, HTTPRoute& r) { r.mirrors = objectList(d, v, kMirrorFields); }},
    {"corsPolicy",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.cors_policy = cors(d, v);
     }},
    {"headers",
     [](Decoder& d, const At& v, HTTPRoute& r) {
       if (!v.node.IsNull()) r.headers = headers(d, v);
     }},
};

HTTPRoute httpRoute(Decoder& d, const At& n) { return decodeObject(d, n, kHttpRouteFields); }

// --- TCP and TLS routes ----------------------------------------------------------------------

constexpr Field<RouteDestination> kRouteDestinationFields[] = {
    {"destination", kDestinationField, "destination is required"},
    {"weight", kWeightField},
};

std::vector<std::string> subnets(Decoder& d, const At& n) {
  std::vector<std::string> out;
  d.list(n, [&](const At& item) {
    auto s = d.str(item);
    if (!s) return;
    if (!net::Cidr::parse(*s)) {
      d.error(item, fmt::format("{} is not a valid CIDR block", *s));
      return;
    }
    out.push_back(*s);
  });
  return out;
}

// Keys TCP and TLS matches share (written once, for either attribute type).
constexpr auto kSubnetsField = [](Decoder& d, const At& v, auto& m) {
  m.destination_subnets = subnets(d, v);
};
constexpr auto kL4PortField = [](Decoder& d, const At& v, auto& m) { m.port = d.port(v); };
constexpr auto kSourceLabelsField = [](Decoder& d, const At& v, auto& m) {
  m.source_labels = d.stringMap(v);
};
constexpr auto kGatewaysField = [](Decoder& d, const At& v, auto& m) {
  m.gateways = d.stringList(v);
};
constexpr auto kSourceNamespaceField = [](Decoder& d, const At& v, auto& m) {
  m.source_namespace = d.strOr(v);
};

constexpr Field<L4MatchAttributes> kTcpMatchFields[] = {
    {"destinationSubnets", kSubnetsField},
    {"port", kL4PortField},
    {"sourceLabels", kSourceLabelsField},
    {"gateways", kGatewaysField},
    {"sourceNamespace", kSourceNamespaceField},
    // Deprecated in Istio; accepted, not stored.
    {"sourceSubnet", ignoreString<L4MatchAttributes>},
};

constexpr Field<TLSMatchAttributes> kTlsMatchFields[] = {
    {"sniHosts",
     [](Decoder& d, const At& v, TLSMatchAttributes& m) { m.sni_hosts = d.stringList(v); }},
    {"destinationSubnets", kSubnetsField},
    {"port", kL4PortField},
    {"sourceLabels", kSourceLabelsField},
    {"gateways", kGatewaysField},
    {"sourceNamespace", kSourceNamespaceField},
};

template <typename Match>
constexpr std::span<const Field<Match>> matchFields() {
  if constexpr (std::is_same_v<Match, TLSMatchAttributes>) {
    return kTlsMatchFields;
  } else {
    return kTcpMatchFields;
  }
}

template <typename Route>
constexpr Field<Route> kL4RouteFields[] = {
    {"match",
     [](Decoder& d, const At& v, Route& r) {
       using Match = typename decltype(Route::match)::value_type;
       r.match = objectList(d, v, matchFields<Match>());
     }},
    {"route", [](Decoder& d, const At& v,
                 Route& r) { r.route = objectList(d, v, kRouteDestinationFields); }},
};

template <typename Route>
Route l4Route(Decoder& d, const At& n) {
  return decodeObject(d, n, kL4RouteFields<Route>);
}

// --- the resource ----------------------------------------------------------------------------

constexpr Field<VirtualService> kVirtualServiceFields[] = {
    {"hosts",
     [](Decoder& d, const At& v, VirtualService& vs) {
       d.list(v, [&](const At& item) {
         auto s = d.str(item);
         if (!s) {
           if (item.node.IsNull()) d.error(item, "empty domain name not allowed");
           return;
         }
         if (auto problem = checkHost(*s)) d.error(item, *problem);
         vs.hosts.push_back(*s);
       });
     }},
    {"gateways",
     [](Decoder& d, const At& v, VirtualService& vs) { vs.gateways = d.stringList(v); }},
    {"http",
     [](Decoder& d, const At& v, VirtualService& vs) {
       d.list(v, [&](const At& item) { vs.http.push_back(httpRoute(d, item)); });
     }},
    {"tls",
     [](Decoder& d, const At& v, VirtualService& vs) {
       d.list(v, [&](const At& item) { vs.tls.push_back(l4Route<TLSRoute>(d, item)); });
     }},
    {"tcp",
     [](Decoder& d, const At& v, VirtualService& vs) {
       d.list(v, [&](const At& item) { vs.tcp.push_back(l4Route<TCPRoute>(d, item)); });
     }},
    {"exportTo",
     [](Decoder& d, const At& v, VirtualService& vs) { vs.export_to = d.stringList(v); }},
};

}  // namespace

void decodeVirtualService(Decoder& d, const YAML::Node& spec) {
  VirtualService vs;
  vs.meta = d.meta();
  d.object(At{spec, "spec"}, kVirtualServiceFields, vs);
  for (auto& h : vs.hosts) vs.hosts_fqdn.push_back(resolveShortName(h, vs.meta.ns));
  d.out().virtual_services.push_back(std::move(vs));
}

}  // namespace sluice::config::decode
