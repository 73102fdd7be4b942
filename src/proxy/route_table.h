#pragma once
// Compiled HTTP route tables: what VirtualServices become once a snapshot is built. Everything
// here is immutable after buildSnapshot() and shared read-only by every worker thread; matching
// never allocates on the happy path (regexes are precompiled RE2, names pre-lowercased).
//
// Istio semantics followed (research/istio-api.md §2):
// - a VirtualHost's routes are tried in order, the first matching route wins;
// - a route's match blocks are ORed, the fields inside one block are ANDed, no block = match all;
// - uri prefix is a plain string prefix (`/foo` matches `/foobar`), regex is an RE2 full match,
//   the uri is the path without the query string, ignoreUriCase affects exact/prefix only;
// - header/query `{}` means presence; withoutHeaders `{}` means absent, with a value an absent
//   header counts as "" (so the request passes);
// - host lookup: exact domain, then the longest wildcard suffix (`*.example.com`), then `*`.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "http/message.h"

namespace re2 {
class RE2;
}

namespace sluice::proxy {

// unordered_map keyed by std::string that can be searched with a string_view without building a
// std::string (C++20 heterogeneous lookup): the request path looks hosts up allocation-free.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename T>
using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

// Lower-cases `s` into `buf` when it fits (returns a view of it), else into `heap`.
std::string_view lowerInto(std::string_view s, char* buf, size_t cap, std::string& heap);

// Istio StringMatch (exact | prefix | regex), plus presence for header/query maps.
struct StringMatcher {
  enum class Kind : uint8_t { kExact, kPrefix, kRegex, kPresent };
  Kind kind = Kind::kExact;
  std::string value;                   // lowered when ignore_case
  std::shared_ptr<const re2::RE2> re;  // kRegex only; full match
  bool ignore_case = false;            // exact/prefix only (ignoreUriCase)

  bool matches(std::string_view input) const;
  std::string describe() const;  // "prefix:/echo", for config_dump
};

struct HeaderMatcher {
  std::string name;  // lower case
  StringMatcher match;
};

// One HTTPMatchRequest. Source-selecting fields (gateways, sourceLabels, sourceNamespace) were
// resolved when the table was compiled: a block that does not apply to this table is dropped.
struct MatchBlock {
  std::string name;
  std::optional<StringMatcher> uri;
  std::optional<StringMatcher> scheme;
  std::optional<StringMatcher> method;
  std::optional<StringMatcher> authority;
  std::vector<HeaderMatcher> headers;
  std::vector<HeaderMatcher> without_headers;
  std::vector<HeaderMatcher> query_params;
  uint32_t port = 0;  // 0 = any
};

// What the router looks at. Views into the request; valid for the duration of the call.
struct RequestView {
  std::string_view method;
  std::string_view scheme = "http";
  std::string_view authority;  // Host / absolute-form authority, as sent
  std::string_view path;       // path + query, origin-form
  const http::Headers* headers = nullptr;
  uint32_t port = 0;  // destination port (sidecar: authority port; gateway: server port)
};

struct HeaderOps {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;
  bool empty() const { return set.empty() && add.empty() && remove.empty(); }
  void apply(http::Headers& headers) const;  // remove, then set, then add
};

struct RetryPolicy {
  // Number of retries (not attempts): at most 1 + num_retries upstream requests.
  uint32_t num_retries = 2;
  std::chrono::milliseconds per_try_timeout{0};  // 0 = route timeout
  std::chrono::milliseconds backoff_base{25};
  bool on_5xx = false;
  bool on_gateway_error = false;
  bool on_connect_failure = false;
  bool on_refused_stream = false;
  bool on_retriable_4xx = false;  // 409
  bool on_reset = false;
  bool on_retriable_status_codes = false;
  std::vector<int> retriable_status_codes;
  // gRPC policies (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable): the
  // gRPC status codes they retry, read from a trailers-only answer's grpc-status (as Envoy).
  std::vector<int> retriable_grpc_statuses;
  std::vector<std::string> unsupported;  // policy names that have no meaning here

  // Istio's default when `retries` is absent: 2 retries on
  // connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes.
  static RetryPolicy istioDefault();
  static RetryPolicy none();
  // Parses an Envoy/Istio retryOn list; unknown names are kept in `unsupported`.
  static RetryPolicy parse(uint32_t attempts, std::string_view retry_on);

  enum class Outcome : uint8_t { kConnectFailure, kReset, kStatus };
  // Whether an attempt that ended in `outcome` (with `status` for kStatus) may be retried.
  bool shouldRetry(Outcome outcome, int status) const;
  // Whether a response whose head carries grpc-status `grpc_status` (-1: none) may be retried.
  bool shouldRetryGrpc(int grpc_status) const;
  std::string describe() const;
};

struct FaultPolicy {
  std::chrono::milliseconds delay{0};
  double delay_percent = 0;    // 0..100; absent percentage = 0 (Istio: nothing is delayed)
  int abort_status = 0;        // 0 = no abort
  int abort_grpc_status = -1;  // >= 0: abort with this gRPC status (a trailers-only answer)
  double abort_percent = 0;    // absent percentage = 0 (Istio: nothing is aborted)
  bool enabled() const {
    return (delay.count() > 0 && delay_percent > 0) ||
           ((abort_status > 0 || abort_grpc_status >= 0) && abort_percent > 0);
  }
};

struct CorsPolicy {
  std::vector<StringMatcher> allow_origins;
  std::string allow_methods;   // joined ", "
  std::string allow_headers;   // joined ", "
  std::string expose_headers;  // joined ", "
  std::string max_age;         // whole seconds, "" = unset
  std::optional<bool> allow_credentials;
  bool forward_unmatched_preflights = true;
  bool enabled = false;
  // Origin value to echo when `origin` is allowed.
  bool originAllowed(std::string_view origin) const;
};

// One weighted destination of a route, resolved to a cluster of the snapshot.
struct WeightedCluster {
  std::string host;     // FQDN
  std::string subset;   // "" = whole service
  uint32_t port = 0;    // 0 = not specified
  uint32_t weight = 0;  // relative
  int cluster = -1;     // index into MeshSnapshot::clusters; -1 = not found
  std::string missing;  // when cluster == -1: why ("no subset v3 in DestinationRule of ...")
  HeaderOps request_headers;
  HeaderOps response_headers;
};

// The destination a `roll` in [0, total_weight) lands on; the first when there is one or the
// weights are all 0; nullptr when empty.
const WeightedCluster* pickWeighted(const std::vector<WeightedCluster>& destinations,
                                    uint64_t total_weight, uint64_t roll);

struct Redirect {
  std::string uri;             // replaces the whole path
  std::string prefix_rewrite;  // replaces the matched prefix
  std::string authority;
  std::string scheme;  // "" = keep
  uint32_t port = 0;   // explicit
  enum class DerivePort : uint8_t { kNone, kFromProtocolDefault, kFromRequestPort };
  DerivePort derive_port = DerivePort::kNone;
  int code = 301;
};

struct DirectResponse {
  int status = 200;
  std::optional<std::string> body;
};

struct Rewrite {
  std::optional<std::string> uri;
  std::shared_ptr<const re2::RE2> uri_regex;  // uriRegexRewrite.match
  std::string uri_regex_substitution;         // uriRegexRewrite.rewrite (\1 groups)
  std::string authority;
  bool empty() const { return !uri && !uri_regex && authority.empty(); }
};

struct Mirror {
  std::string host;
  std::string subset;
  uint32_t port = 0;
  int cluster = -1;
  double percent = 100;  // absent mirrorPercentage = 100%
};

struct Route {
  enum class Action : uint8_t { kRoute, kRedirect, kDirectResponse };

  std::string name;                 // "<vs namespace>/<vs name>/<rule name or index>"
  std::vector<MatchBlock> matches;  // empty = match everything
  Action action = Action::kRoute;
  std::vector<WeightedCluster> clusters;
  uint64_t total_weight = 0;
  Redirect redirect;
  DirectResponse direct_response;
  Rewrite rewrite;
  HeaderOps request_headers;
  HeaderOps response_headers;
  std::chrono::milliseconds timeout{0};  // 0 = none (Istio default: disabled)
  RetryPolicy retry = RetryPolicy::istioDefault();
  FaultPolicy fault;
  CorsPolicy cors;
  std::vector<Mirror> mirrors;

  // Index of the matching block (0 when `matches` is empty), or -1.
  int match(const RequestView& request) const;
  // Weighted pick; `roll` is uniform in [0, total_weight).
  const WeightedCluster* pickCluster(uint64_t roll) const;
};

struct VirtualHost {
  std::string name;                  // e.g. the service FQDN or "gateway:80:*"
  std::vector<std::string> domains;  // lower case; "*.x.com" and "*" allowed
  std::vector<Route> routes;
  bool from_virtual_service = false;  // false: the service's default route
};

struct RouteMatch {
  const VirtualHost* vhost = nullptr;
  const Route* route = nullptr;  // nullptr with vhost set = no route matched (404 NR)
  int block = -1;
};

// A route table for one listener context: the mesh (sidecars) or one gateway port.
class RouteTable {
 public:
  std::string name;
  std::vector<VirtualHost> vhosts;

  // Builds the domain indexes; call after vhosts is final. Later duplicates of a domain are
  // ignored (Istio: the first one wins for sidecars); they are returned for diagnostics.
  std::vector<std::string> index();
  // Finds the virtual host for an authority (port stripped, case-insensitive).
  const VirtualHost* findVirtualHost(std::string_view authority) const;
  RouteMatch route(const RequestView& request) const;

 private:
  StringMap<int> exact_;
  std::vector<std::pair<std::string, int>> wildcards_;  // suffix incl. leading '.', longest first
  int catch_all_ = -1;
};

// Splits "host:port" / "[v6]:port"; the port is 0 when absent.
std::pair<std::string_view, uint32_t> splitAuthority(std::string_view authority);

// Applies a rewrite to a path (path + query) given the matched block; returns the new path.
std::string rewritePath(const Rewrite& rewrite, const MatchBlock* matched, std::string_view path);

// Builds the Location value of a redirect for `request`.
std::string redirectLocation(const Redirect& redirect, const MatchBlock* matched,
                             const RequestView& request);

}  // namespace sluice::proxy
