#include "proxy/route_table.h"

#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>

#include "core/strings.h"

namespace sluice::proxy {

namespace {

bool prefixIgnoreCase(std::string_view s, std::string_view lowered_prefix) {
  if (s.size() < lowered_prefix.size()) return false;
  for (size_t i = 0; i < lowered_prefix.size(); ++i) {
    if (asciiLower(s[i]) != lowered_prefix[i]) return false;
  }
  return true;
}

std::string_view pathOnly(std::string_view path) {
  auto q = path.find('?');
  return q == std::string_view::npos ? path : path.substr(0, q);
}

// Value of query parameter `name` in `path`; nullopt when absent, "" for `?name` or `?name=`.
std::optional<std::string_view> queryParam(std::string_view path, std::string_view name) {
  auto q = path.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = path.substr(q + 1);
  auto hash = query.find('#');
  if (hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

// Header value for matching: several fields of one name are joined with "," as Envoy does.
// Returns false when absent. `scratch` holds a joined value when needed.
bool headerValue(const http::Headers& headers, std::string_view name, std::string_view& out,
                 std::string& scratch) {
  bool found = false;
  for (const auto& [k, v] : headers.entries()) {
    if (!equalsIgnoreCase(k, name)) continue;
    if (!found) {
      out = v;
      found = true;
    } else {
      if (scratch.empty()) scratch.assign(out);
      scratch.push_back(',');
      scratch.append(v);
      out = scratch;
    }
  }
  return found;
}

bool matchBlock(const MatchBlock& m, const RequestView& r) {
  if (m.port != 0 && m.port != r.port) return false;
  if (m.uri && !m.uri->matches(pathOnly(r.path))) return false;
  if (m.method && !m.method->matches(r.method)) return false;
  if (m.scheme && !m.scheme->matches(r.scheme)) return false;
  if (m.authority && !m.authority->matches(r.authority)) return false;
  std::string scratch;
  for (const auto& h : m.headers) {
    std::string_view value;
    scratch.clear();
    if (r.headers == nullptr || !headerValue(*r.headers, h.name, value, scratch)) return false;
    if (!h.match.matches(value)) return false;
  }
  for (const auto& h : m.without_headers) {
    std::string_view value;
    scratch.clear();
    bool present = r.headers != nullptr && headerValue(*r.headers, h.name, value, scratch);
    if (h.match.kind == StringMatcher::Kind::kPresent) {
      if (present) return false;
      continue;
    }
    // Envoy's treat_missing_header_as_empty: an absent header is "" for the inverted match.
    if (h.match.matches(present ? value : std::string_view())) return false;
  }
  for (const auto& q : m.query_params) {
    auto value = queryParam(r.path, q.name);
    if (!value || !q.match.matches(*value)) return false;
  }
  return true;
}

}  // namespace

bool StringMatcher::matches(std::string_view input) const {
  switch (kind) {
    case Kind::kExact:
      return ignore_case ? equalsIgnoreCase(input, value) : input == value;
    case Kind::kPrefix:
      return ignore_case ? prefixIgnoreCase(input, value) : input.starts_with(value);
    case Kind::kRegex:
      return re != nullptr && RE2::FullMatch(re2::StringPiece(input.data(), input.size()), *re);
    case Kind::kPresent:
      return true;
  }
  return false;
}

std::string StringMatcher::describe() const {
  switch (kind) {
    case Kind::kExact:
      return (ignore_case ? "exact(ignoreCase):" : "exact:") + value;
    case Kind::kPrefix:
      return (ignore_case ? "prefix(ignoreCase):" : "prefix:") + value;
    case Kind::kRegex:
      return "regex:" + value;
    case Kind::kPresent:
      return "present";
  }
  return "";
}

void HeaderOps::apply(http::Headers& headers) const {
  for (const auto& name : remove) headers.remove(name);
  for (const auto& [name, value] : set) headers.set(name, value);
  for (const auto& [name, value] : add) {
    // Istio `add` appends to an existing value, making a comma-separated list.
    bool appended = false;
    for (auto& [k, v] : headers.entries()) {
      if (equalsIgnoreCase(k, name)) {
        v.append(",");
        v.append(value);
        appended = true;
        break;
      }
    }
    if (!appended) headers.add(name, value);
  }
}

RetryPolicy RetryPolicy::istioDefault() {
  RetryPolicy p;
  p.num_retries = 2;
  p.on_connect_failure = true;
  p.on_refused_stream = true;
  p.on_retriable_status_codes = true;   // with no codes listed: no retry on a status code
  p.retriable_grpc_statuses = {1, 14};  // cancelled, unavailable
  return p;
}

RetryPolicy RetryPolicy::none() {
  RetryPolicy p;
  p.num_retries = 0;
  return p;
}

RetryPolicy RetryPolicy::parse(uint32_t attempts, std::string_view retry_on) {
  RetryPolicy p;
  p.num_retries = attempts;
  for (auto part : split(retry_on, ',')) {
    auto name = trim(part);
    if (name.empty()) continue;
    if (auto code = parseUint(name, 599)) {
      if (*code >= 100) {
        p.retriable_status_codes.push_back(static_cast<int>(*code));
        p.on_retriable_status_codes = true;
        continue;
      }
    }
    if (name == "5xx")
      p.on_5xx = true;
    else if (name == "gateway-error")
      p.on_gateway_error = true;
    else if (name == "connect-failure")
      p.on_connect_failure = true;
    else if (name == "refused-stream")
      p.on_refused_stream = true;
    else if (name == "retriable-4xx")
      p.on_retriable_4xx = true;
    else if (name == "reset" || name == "reset-before-request")
      p.on_reset = true;
    else if (name == "retriable-status-codes")
      p.on_retriable_status_codes = true;
    else if (name == "cancelled")
      p.retriable_grpc_statuses.push_back(1);
    else if (name == "deadline-exceeded")
      p.retriable_grpc_statuses.push_back(4);
    else if (name == "resource-exhausted")
      p.retriable_grpc_statuses.push_back(8);
    else if (name == "internal")
      p.retriable_grpc_statuses.push_back(13);
    else if (name == "unavailable")
      p.retriable_grpc_statuses.push_back(14);
    else {
      p.unsupported.emplace_back(name);
    }
  }
  return p;
}

bool RetryPolicy::shouldRetry(Outcome outcome, int status) const {
  if (num_retries == 0) return false;
  switch (outcome) {
    case Outcome::kConnectFailure:
      // Envoy: a connect failure is also covered by 5xx, gateway-error and reset.
      return on_connect_failure || on_5xx || on_gateway_error || on_reset;
    case Outcome::kReset:
      return on_reset || on_5xx || on_refused_stream;
    case Outcome::kStatus:
      if (on_5xx && status >= 500 && status <= 599) return true;
      if (on_gateway_error && (status == 502 || status == 503 || status == 504)) return true;
      if (on_retriable_4xx && status == 409) return true;
      if (on_retriable_status_codes &&
          std::find(retriable_status_codes.begin(), retriable_status_codes.end(), status) !=
              retriable_status_codes.end()) {
        return true;
      }
      return false;
  }
  return false;
}

bool RetryPolicy::shouldRetryGrpc(int grpc_status) const {
  if (num_retries == 0 || grpc_status < 0) return false;
  return std::find(retriable_grpc_statuses.begin(), retriable_grpc_statuses.end(), grpc_status) !=
         retriable_grpc_statuses.end();
}

std::string RetryPolicy::describe() const {
  std::vector<std::string> on;
  if (on_5xx) on.emplace_back("5xx");
  if (on_gateway_error) on.emplace_back("gateway-error");
  if (on_connect_failure) on.emplace_back("connect-failure");
  if (on_refused_stream) on.emplace_back("refused-stream");
  if (on_retriable_4xx) on.emplace_back("retriable-4xx");
  if (on_reset) on.emplace_back("reset");
  if (on_retriable_status_codes) on.emplace_back("retriable-status-codes");
  for (int c : retriable_status_codes) on.emplace_back(std::to_string(c));
  for (int c : retriable_grpc_statuses) on.emplace_back("grpc-" + std::to_string(c));
  return fmt::format("attempts={} perTryTimeout={}ms retryOn={}", num_retries,
                     per_try_timeout.count(), fmt::join(on, ","));
}

bool CorsPolicy::originAllowed(std::string_view origin) const {
  for (const auto& m : allow_origins) {
    if (m.matches(origin)) return true;
  }
  return false;
}

int Route::match(const RequestView& request) const {
  if (matches.empty()) return 0;
  for (size_t i = 0; i < matches.size(); ++i) {
    if (matchBlock(matches[i], request)) return static_cast<int>(i);
  }
  return -1;
}

const WeightedCluster* pickWeighted(const std::vector<WeightedCluster>& destinations,
                                    uint64_t total_weight, uint64_t roll) {
  if (destinations.empty()) return nullptr;
  if (destinations.size() == 1 || total_weight == 0) return &destinations.front();
  uint64_t acc = 0;
  for (const auto& c : destinations) {
    acc += c.weight;
    if (roll < acc) return &c;
  }
  return &destinations.back();
}

const WeightedCluster* Route::pickCluster(uint64_t roll) const {
  return pickWeighted(clusters, total_weight, roll);
}

std::vector<std::string> RouteTable::index() {
  exact_.clear();
  wildcards_.clear();
  catch_all_ = -1;
  std::vector<std::string> duplicates;
  for (size_t i = 0; i < vhosts.size(); ++i) {
    for (const auto& d : vhosts[i].domains) {
      int idx = static_cast<int>(i);
      if (d == "*") {
        if (catch_all_ < 0)
          catch_all_ = idx;
        else
          duplicates.push_back(d);
      } else if (d.starts_with("*.")) {
        std::string suffix = d.substr(1);
        bool dup = std::any_of(wildcards_.begin(), wildcards_.end(),
                               [&](const auto& w) { return w.first == suffix; });
        if (dup)
          duplicates.push_back(d);
        else
          wildcards_.emplace_back(std::move(suffix), idx);
      } else if (!exact_.emplace(d, idx).second) {
        duplicates.push_back(d);
      }
    }
  }
  std::stable_sort(wildcards_.begin(), wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return duplicates;
}

std::pair<std::string_view, uint32_t> splitAuthority(std::string_view authority) {
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return {authority, 0};
    std::string_view host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (rest.starts_with(':')) {
      auto port = parseUint(rest.substr(1), 65535);
      return {host, port ? static_cast<uint32_t>(*port) : 0};
    }
    return {host, 0};
  }
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.find(':') != colon) return {authority, 0};
  auto port = parseUint(authority.substr(colon + 1), 65535);
  return {authority.substr(0, colon), port ? static_cast<uint32_t>(*port) : 0};
}

std::string_view lowerInto(std::string_view s, char* buf, size_t cap, std::string& heap) {
  if (s.size() <= cap) {
    for (size_t i = 0; i < s.size(); ++i) buf[i] = asciiLower(s[i]);
    return {buf, s.size()};
  }
  heap = toLower(s);
  return heap;
}

const VirtualHost* RouteTable::findVirtualHost(std::string_view authority) const {
  std::string_view host = splitAuthority(authority).first;
  char buf[256];
  std::string heap;
  std::string_view lowered = lowerInto(host, buf, sizeof buf, heap);
  auto it = exact_.find(lowered);
  if (it != exact_.end()) return &vhosts[it->second];
  for (const auto& [suffix, idx] : wildcards_) {
    if (lowered.size() > suffix.size() && lowered.ends_with(suffix)) return &vhosts[idx];
  }
  if (catch_all_ >= 0) return &vhosts[catch_all_];
  return nullptr;
}

RouteMatch RouteTable::route(const RequestView& request) const {
  RouteMatch out;
  out.vhost = findVirtualHost(request.authority);
  if (out.vhost == nullptr) return out;
  for (const auto& r : out.vhost->routes) {
    int block = r.match(request);
    if (block >= 0) {
      out.route = &r;
      out.block = block;
      return out;
    }
  }
  return out;
}

std::string rewritePath(const Rewrite& rewrite, const MatchBlock* matched, std::string_view path) {
  if (rewrite.uri_regex) {
    std::string_view p = pathOnly(path);
    std::string out(p);
    RE2::GlobalReplace(&out, *rewrite.uri_regex, rewrite.uri_regex_substitution);
    out.append(path.substr(p.size()));
    return out;
  }
  if (!rewrite.uri) return std::string(path);
  const std::string& replacement = *rewrite.uri;
  if (matched != nullptr && matched->uri && matched->uri->kind == StringMatcher::Kind::kPrefix) {
    // Only the matched prefix is replaced (Envoy prefix_rewrite).
    size_t n = matched->uri->value.size();
    std::string out = replacement;
    out.append(path.substr(std::min(n, path.size())));
    return out;
  }
  // Exact match (or no uri match): the whole path is replaced; the query string is kept.
  std::string_view p = pathOnly(path);
  std::string out = replacement;
  out.append(path.substr(p.size()));
  return out;
}

std::string redirectLocation(const Redirect& redirect, const MatchBlock* matched,
                             const RequestView& request) {
  std::string scheme = redirect.scheme.empty() ? std::string(request.scheme) : redirect.scheme;
  if (scheme.empty()) scheme = "http";
  auto [req_host, req_port] = splitAuthority(request.authority);
  std::string host = redirect.authority.empty() ? std::string(req_host) : redirect.authority;
  uint32_t port = 0;
  if (redirect.port != 0) {
    port = redirect.port;
  } else if (redirect.derive_port == Redirect::DerivePort::kFromProtocolDefault) {
    port = scheme == "https" ? 443 : 80;
  } else if (redirect.derive_port == Redirect::DerivePort::kFromRequestPort) {
    port = request.port;
  } else if (redirect.authority.empty() && redirect.scheme.empty()) {
    port = req_port;  // keep the port the client used
  }
  std::string path;
  if (!redirect.uri.empty()) {
    path = redirect.uri;
  } else if (!redirect.prefix_rewrite.empty() && matched != nullptr && matched->uri &&
             matched->uri->kind == StringMatcher::Kind::kPrefix) {
    std::string_view p = pathOnly(request.path);
    path = redirect.prefix_rewrite;
    path.append(p.substr(std::min(matched->uri->value.size(), p.size())));
  } else {
    path = std::string(pathOnly(request.path));
  }
  // Envoy keeps the query string unless the redirect replaces the path with one of its own.
  std::string_view query = request.path.substr(pathOnly(request.path).size());
  if (path.find('?') == std::string::npos) path.append(query);
  bool default_port =
      port == 0 || (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  if (default_port) return fmt::format("{}://{}{}", scheme, host, path);
  return fmt::format("{}://{}:{}{}", scheme, host, port, path);
}

}  // namespace sluice::proxy
