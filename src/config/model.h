#pragma once
// The typed Istio networking model (networking.istio.io v1alpha3 / v1beta1 / v1: one schema).
//
// Contract:
// - These are plain value types produced by config/loader.h. A ConfigSet is immutable once the
//   loader returns it; readers on any thread may share it.
// - Field names follow the YAML lowerCamelCase names in snake_case (`ignoreUriCase` ->
//   `ignore_uri_case`). A scalar the user did not write is std::nullopt (or empty for strings and
//   containers), so the consumer applies Istio's documented default itself.
// - Every resource carries Meta with the position of its document; sub-objects that diagnostics
//   or the proxy may need to point at (routes, destinations, subsets, servers...) carry their own
//   Position.
// - Host names are kept as written; the loader also fills the `*_fqdn` fields with the short name
//   resolved in the rule's namespace (`service-provider` in `default` ->
//   `service-provider.default.svc.cluster.local`). Names with a dot are never expanded.
// - Regexes in StringMatch are compiled once by the loader (RE2, full-match semantics, as Envoy's
//   safe_regex). A StringMatch with kind kRegex always has a non-null `regex` after a load that
//   reported no error for it.
// - Fields that are parsed but not yet enforced by the data plane are listed in
//   config/unenforced.h; the loader warns when a config uses them.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "net/address.h"

namespace re2 {
class RE2;
}

namespace sluice::config {

// ---------------------------------------------------------------------------------------------
// Basic value types

// 1-based line and column in `file` (0 when unknown).
struct Position {
  std::string file;
  int line = 0;
  int column = 0;
  std::string toString() const;  // "file:line:column"
  bool operator==(const Position&) const = default;
};

// A protobuf Duration as Istio accepts it in YAML: a decimal number with a unit suffix
// ("1.5s", "200ms", "1m", "1h", "10us", "5ns"; several may be concatenated: "1m30s").
struct Duration {
  std::chrono::nanoseconds value{0};

  // Rejects empty text, missing or unknown units, junk, negative values and overflow; the error
  // message says what is wrong.
  static Result<Duration> parse(std::string_view text);
  std::string toString() const;  // "1.5s", "200ms", "0s"
  double seconds() const { return std::chrono::duration<double>(value).count(); }
  auto operator<=>(const Duration&) const = default;
};

// A percentage in [0, 100] (Istio's Percent{value: double}).
using Percent = double;

using StringMap = std::map<std::string, std::string>;

// Istio's StringMatch oneof {exact, prefix, regex}. For header and query-parameter matches an
// empty object `{}` means "present with any value" (kPresent).
struct StringMatch {
  enum class Kind { kExact, kPrefix, kRegex, kPresent };
  Kind kind = Kind::kExact;
  std::string value;                      // the exact string, prefix, or regex source
  std::shared_ptr<const re2::RE2> regex;  // compiled once when kind == kRegex

  // Envoy semantics: exact equality, plain string prefix (not path-segment aware), regex
  // FULL match (not a search), kPresent matches any value. `ignore_case` applies to exact and
  // prefix only (Istio's ignoreUriCase does not change a regex).
  bool matches(std::string_view text, bool ignore_case = false) const;
};

// Compiles `pattern` as Istio does (RE2, at most 1024 characters). The error message names the
// problem; callers prefix the field path.
Result<std::shared_ptr<const re2::RE2>> compileRegex(std::string_view pattern);
// RE2 full match of `text` against `re`.
bool regexFullMatch(const re2::RE2& re, std::string_view text);

// Resolves a short name (no dot) to `<name>.<ns>.svc.cluster.local`; `*`, IPs and names with a
// dot are returned unchanged. Lower-cases the result.
std::string resolveShortName(std::string_view host, std::string_view ns);

// Metadata shared by every resource.
struct Meta {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string ns = "default";  // metadata.namespace
  StringMap labels;
  StringMap annotations;
  Position pos;  // the document (its `kind:` key)
  // Hash of the document's text (and, for a `kind: List` item, its index): two loads of the same
  // text give the same digest, so a reload can tell an unchanged resource from a new version.
  // 0 when the resource was not loaded from text (always treated as changed).
  uint64_t digest = 0;
};

// ---------------------------------------------------------------------------------------------
// VirtualService

struct Destination {
  std::string host;       // as written
  std::string host_fqdn;  // resolved with the rule's namespace
  std::string subset;     // empty: the whole service
  std::optional<uint32_t> port;
  Position pos;         // the destination object
  Position subset_pos;  // the subset value (line 0 when absent)
};

struct HeaderOperations {
  std::vector<std::pair<std::string, std::string>> set;  // in document order
  std::vector<std::pair<std::string, std::string>> add;
  std::vector<std::string> remove;
};

struct Headers {
  std::optional<HeaderOperations> request;
  std::optional<HeaderOperations> response;
};

struct HTTPMatchRequest {
  std::string name;
  std::optional<StringMatch> uri;
  std::optional<StringMatch> scheme;
  std::optional<StringMatch> method;
  std::optional<StringMatch> authority;
  std::map<std::string, StringMatch> headers;          // lower-cased names
  std::map<std::string, StringMatch> without_headers;  // lower-cased names
  std::map<std::string, StringMatch> query_params;
  bool ignore_uri_case = false;
  std::optional<uint32_t> port;
  StringMap source_labels;
  std::vector<std::string> gateways;
  std::string source_namespace;
  std::string stat_prefix;
  Position pos;
};

struct HTTPRouteDestination {
  Destination destination;
  // Relative weight. Unset is 0: a single destination takes all traffic; with several, a
  // destination with weight 0 gets none (Istio >= 1.15: weights need not sum to 100).
  int32_t weight = 0;
  std::optional<Headers> headers;  // applied only when this destination is chosen
  Position pos;
};

struct HTTPRedirect {
  enum class DerivePort { kUnset, kFromProtocolDefault, kFromRequestPort };
  std::optional<std::string> uri;
  std::optional<std::string> prefix_rewrite;
  std::optional<std::string> authority;
  std::optional<std::string> scheme;  // "http" or "https"
  std::optional<uint32_t> port;
  DerivePort derive_port = DerivePort::kUnset;
  uint32_t redirect_code = 301;
  Position pos;
};

struct HTTPDirectResponse {
  uint32_t status = 0;
  std::optional<std::string> body;  // body.string, or body.bytes base64-decoded
  Position pos;
};

struct Delegate {
  std::string name;
  std::string ns;  // defaults to the root VirtualService's namespace
};

struct RegexRewrite {
  std::string match;  // RE2 pattern
  std::shared_ptr<const re2::RE2> regex;
  std::string rewrite;  // substitution, \1-style groups
};

struct HTTPRewrite {
  std::optional<std::string> uri;
  std::optional<std::string> authority;
  std::optional<RegexRewrite> uri_regex_rewrite;
  Position pos;
};

struct HTTPRetry {
  int32_t attempts = 0;
  std::optional<Duration> per_try_timeout;
  std::optional<std::string> retry_on;  // comma-separated Envoy policies / status codes
  std::optional<bool> retry_remote_localities;
  std::optional<Duration> backoff;
  Position pos;
};

struct FaultDelay {
  std::optional<Duration> fixed_delay;
  std::optional<Percent> percentage;  // absent: nothing is delayed
};

struct FaultAbort {
  std::optional<uint32_t> http_status;
  std::optional<std::string> grpc_status;
  std::optional<Percent> percentage;  // absent: nothing is aborted
};

struct HTTPFaultInjection {
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
  Position pos;
};

struct HTTPMirrorPolicy {
  Destination destination;
  std::optional<Percent> percentage;  // absent: 100
};

struct CorsPolicy {
  std::vector<StringMatch> allow_origins;  // allowOrigins, and the deprecated allowOrigin (exact)
  std::vector<std::string> allow_methods;
  std::vector<std::string> allow_headers;
  std::vector<std::string> expose_headers;
  std::optional<Duration> max_age;
  std::optional<bool> allow_credentials;
  std::string unmatched_preflights;  // "", "FORWARD", "IGNORE"
  Position pos;
};

struct HTTPRoute {
  std::string name;
  std::vector<HTTPMatchRequest> match;  // ORed; empty matches everything
  std::vector<HTTPRouteDestination> route;
  std::optional<HTTPRedirect> redirect;
  std::optional<HTTPDirectResponse> direct_response;
  std::optional<Delegate> delegate;
  std::optional<HTTPRewrite> rewrite;
  std::optional<Duration> timeout;   // absent or 0: no timeout
  std::optional<HTTPRetry> retries;  // absent: mesh default (2 attempts)
  std::optional<HTTPFaultInjection> fault;
  std::optional<Destination> mirror;
  std::optional<Percent> mirror_percentage;  // absent: 100
  std::vector<HTTPMirrorPolicy> mirrors;
  std::optional<CorsPolicy> cors_policy;
  std::optional<Headers> headers;
  Position pos;
};

struct RouteDestination {
  Destination destination;
  int32_t weight = 0;
  Position pos;
};

struct L4MatchAttributes {
  std::vector<std::string> destination_subnets;
  std::optional<uint32_t> port;
  StringMap source_labels;
  std::vector<std::string> gateways;
  std::string source_namespace;
  Position pos;
};

struct TLSMatchAttributes {
  std::vector<std::string> sni_hosts;
  std::vector<std::string> destination_subnets;
  std::optional<uint32_t> port;
  StringMap source_labels;
  std::vector<std::string> gateways;
  std::string source_namespace;
  Position pos;
};

struct TCPRoute {
  std::vector<L4MatchAttributes> match;
  std::vector<RouteDestination> route;
  Position pos;
};

struct TLSRoute {
  std::vector<TLSMatchAttributes> match;
  std::vector<RouteDestination> route;
  Position pos;
};

struct VirtualService {
  Meta meta;
  std::vector<std::string> hosts;       // as written
  std::vector<std::string> hosts_fqdn;  // resolved, lower-cased, same order
  std::vector<std::string> gateways;    // as written; empty means ["mesh"]
  std::vector<HTTPRoute> http;
  std::vector<TLSRoute> tls;
  std::vector<TCPRoute> tcp;
  std::vector<std::string> export_to;
};

// ---------------------------------------------------------------------------------------------
// DestinationRule

struct HTTPCookie {
  std::string name;
  std::string path;
  std::optional<Duration> ttl;
};

struct ConsistentHash {
  // Exactly one hash key is set.
  std::optional<std::string> http_header_name;
  std::optional<HTTPCookie> http_cookie;
  bool use_source_ip = false;
  std::optional<std::string> http_query_parameter_name;
  // Algorithm: ring hash (default) or maglev.
  std::optional<uint64_t> ring_hash_minimum_ring_size;  // ringHash.minimumRingSize
  std::optional<uint64_t> maglev_table_size;            // maglev.tableSize
  std::optional<uint64_t> minimum_ring_size;            // deprecated top-level field
  bool use_maglev = false;
};

struct LocalityLbSetting {
  struct Distribute {
    std::string from;
    std::map<std::string, uint32_t> to;
  };
  struct Failover {
    std::string from;
    std::string to;
  };
  std::vector<Distribute> distribute;
  std::vector<Failover> failover;
  std::vector<std::string> failover_priority;
  std::optional<bool> enabled;
};

struct LoadBalancerSettings {
  enum class Simple { kUnspecified, kLeastConn, kRandom, kPassthrough, kRoundRobin, kLeastRequest };
  std::optional<Simple> simple;
  std::optional<ConsistentHash> consistent_hash;
  std::optional<LocalityLbSetting> locality_lb_setting;
  std::optional<Duration> warmup_duration_secs;
  Position pos;
};

struct TcpKeepalive {
  std::optional<uint32_t> probes;
  std::optional<Duration> time;
  std::optional<Duration> interval;
};

struct ConnectionPoolSettings {
  struct Tcp {
    std::optional<int32_t> max_connections;
    std::optional<Duration> connect_timeout;
    std::optional<TcpKeepalive> tcp_keepalive;
    std::optional<Duration> max_connection_duration;
    std::optional<Duration> idle_timeout;
  };
  struct Http {
    enum class H2UpgradePolicy { kDefault, kDoNotUpgrade, kUpgrade };
    std::optional<int32_t> http1_max_pending_requests;
    std::optional<int32_t> http2_max_requests;
    std::optional<int32_t> max_requests_per_connection;  // 0: unlimited, 1: no keep-alive
    std::optional<int32_t> max_retries;
    std::optional<Duration> idle_timeout;
    H2UpgradePolicy h2_upgrade_policy = H2UpgradePolicy::kDefault;
    std::optional<bool> use_client_protocol;
    std::optional<int32_t> max_concurrent_streams;
  };
  std::optional<Tcp> tcp;
  std::optional<Http> http;
  Position pos;
};

struct OutlierDetection {
  std::optional<uint32_t> consecutive_5xx_errors;      // Envoy default 5; 0 disables
  std::optional<uint32_t> consecutive_gateway_errors;  // default disabled
  std::optional<Duration> interval;                    // default 10s
  std::optional<Duration> base_ejection_time;          // default 30s
  std::optional<int32_t> max_ejection_percent;         // default 10
  std::optional<int32_t> min_health_percent;           // default 0
  Position pos;
};

struct ClientTLSSettings {
  std::string mode;  // DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL
  std::string client_certificate;
  std::string private_key;
  std::string ca_certificates;
  std::string credential_name;
  std::vector<std::string> subject_alt_names;
  std::string sni;
  std::optional<bool> insecure_skip_verify;
  Position pos;
};

struct PortTrafficPolicy {
  std::optional<uint32_t> port;  // port.number
  std::optional<LoadBalancerSettings> load_balancer;
  std::optional<ConnectionPoolSettings> connection_pool;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<ClientTLSSettings> tls;
  Position pos;
};

struct TrafficPolicy {
  std::optional<LoadBalancerSettings> load_balancer;
  std::optional<ConnectionPoolSettings> connection_pool;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<ClientTLSSettings> tls;
  std::vector<PortTrafficPolicy> port_level_settings;  // replace, not merge, per port
  Position pos;
};

struct Subset {
  std::string name;
  StringMap labels;  // an endpoint is in the subset if its labels are a superset
  std::optional<TrafficPolicy> traffic_policy;
  Position pos;
};

struct DestinationRule {
  Meta meta;
  std::string host;       // as written
  std::string host_fqdn;  // resolved with the rule's namespace
  std::optional<TrafficPolicy> traffic_policy;
  std::vector<Subset> subsets;
  std::vector<std::string> export_to;
  StringMap workload_selector;  // workloadSelector.matchLabels
};

// ---------------------------------------------------------------------------------------------
// Gateway

struct ServerTLSSettings {
  bool https_redirect = false;
  std::string mode;  // PASSTHROUGH (default), SIMPLE, MUTUAL, AUTO_PASSTHROUGH, ISTIO_MUTUAL...
  std::string server_certificate;
  std::string private_key;
  std::string ca_certificates;
  std::string credential_name;
  std::vector<std::string> subject_alt_names;
  std::string min_protocol_version;
  std::string max_protocol_version;
  std::vector<std::string> cipher_suites;
  Position pos;
};

struct GatewayPort {
  uint32_t number = 0;
  std::string name;
  std::string protocol;  // upper-cased: HTTP, HTTPS, GRPC, HTTP2, TCP, TLS, ...
  std::optional<uint32_t> target_port;
};

struct Server {
  std::optional<GatewayPort> port;
  std::vector<std::string> hosts;  // [namespace/]dnsName
  std::optional<ServerTLSSettings> tls;
  std::string bind;
  std::string name;
  Position pos;
};

struct Gateway {
  Meta meta;
  StringMap selector;
  std::vector<Server> servers;
};

// ---------------------------------------------------------------------------------------------
// ServiceEntry and WorkloadEntry

struct ServicePort {
  uint32_t number = 0;
  std::string protocol;  // upper-cased; empty when not given
  std::string name;
  std::optional<uint32_t> target_port;
  Position pos;
};

// WorkloadEntry spec; also a ServiceEntry endpoint.
struct WorkloadEndpoint {
  std::string address;
  std::map<std::string, uint32_t> ports;  // port name -> number
  StringMap labels;
  std::string network;
  std::string locality;
  std::optional<uint32_t> weight;
  std::string service_account;
  Position pos;
};

struct ServiceEntry {
  enum class Location { kMeshExternal, kMeshInternal };
  enum class Resolution { kNone, kStatic, kDns, kDnsRoundRobin };
  Meta meta;
  std::vector<std::string> hosts;
  std::vector<std::string> addresses;
  std::vector<ServicePort> ports;
  Location location = Location::kMeshExternal;
  Resolution resolution = Resolution::kNone;
  std::vector<WorkloadEndpoint> endpoints;
  std::optional<StringMap> workload_selector;  // workloadSelector.labels
  std::vector<std::string> export_to;
  std::vector<std::string> subject_alt_names;
};

struct WorkloadEntry {
  Meta meta;
  WorkloadEndpoint spec;
};

// ---------------------------------------------------------------------------------------------
// Sidecar (parsed for later; not enforced)

struct Sidecar {
  struct Egress {
    std::optional<uint32_t> port;
    std::vector<std::string> hosts;
    Position pos;
  };
  Meta meta;
  StringMap workload_selector;
  std::vector<Egress> egress;
  std::string outbound_traffic_policy_mode;  // "", ALLOW_ANY, REGISTRY_ONLY
  nlohmann::json spec;                       // everything, for later
};

// ---------------------------------------------------------------------------------------------
// EnvoyFilter: kept raw; the few shapes Sluice understands are recognised into settings below.

struct EnvoyFilterPatch {
  std::string apply_to;
  nlohmann::json match;
  nlohmann::json patch;
  Position pos;
};

struct EnvoyFilter {
  Meta meta;
  StringMap workload_selector;
  int32_t priority = 0;
  std::vector<EnvoyFilterPatch> config_patches;
  nlohmann::json spec;      // the whole spec as written
  bool recognised = false;  // at least one patch became a setting below
};

// The seed's method 1: an HTTP filter named `com.aliyun.reverse_dns` with `pod_cidrs`.
struct ReverseDnsSetting {
  std::optional<uint16_t> port;  // match.listener.portNumber; absent: all ports
  std::vector<net::Cidr> pod_cidrs;
  Position pos;
  std::string filter_name;  // "<namespace>/<EnvoyFilter name>"
};

// Method 2 (registry interception): an EnvoyFilter asking the sidecar to rewrite the instance
// lists an application fetches from its registry on one port (envoy_filter.h: the seed's Nacos Lua
// filter, the same shape for Eureka and Consul, or Sluice's own `sluice.registry_interception`).
struct RegistryInterceptionSetting {
  std::string registry;          // the registry plug-in's name: "nacos", "eureka", "consul", ...
  std::optional<uint16_t> port;  // match.listener.portNumber (the registry's port); absent: all
  Position pos;
  std::string filter_name;  // "<namespace>/<EnvoyFilter name>"
  std::string field_path;   // where `registry` came from, for messages ("spec.configPatches[0]...")
  // Sluice's own filter shape only: the other typed_config.value keys (ZooKeeper's `root`), for
  // the registry plug-in to apply or refuse; options_path is their typed_config.value path.
  std::map<std::string, std::string> options;
  std::string options_path;
};

// ---------------------------------------------------------------------------------------------
// Diagnostics and the loaded set

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  Position pos;
  std::string kind;  // resource kind; empty for file-level problems
  std::string ns;
  std::string name;
  std::string field_path;  // "spec.http[0].route[1].weight"; empty when not about a field
  std::string message;
  std::string code;  // Istio analyzer code ("IST0101") where one exists
  // The document of the resource this is about (Meta::pos; line 0 when the problem is not
  // attributed to a decoded resource: YAML syntax, a document without kind...). Together with
  // `kind` it tells which resource of a ConfigSet a problem belongs to.
  Position resource_pos;

  // "file:line:col: Kind/namespace/name: field.path: message" (parts left out when empty).
  std::string format() const;
};

struct ConfigSet {
  std::vector<VirtualService> virtual_services;
  std::vector<DestinationRule> destination_rules;
  std::vector<Gateway> gateways;
  std::vector<ServiceEntry> service_entries;
  std::vector<EnvoyFilter> envoy_filters;
  std::vector<Sidecar> sidecars;
  std::vector<WorkloadEntry> workload_entries;

  std::vector<ReverseDnsSetting> reverse_dns;
  std::vector<RegistryInterceptionSetting> registry_interception;

  std::vector<Diagnostic> diagnostics;
  // Usage problems (a path that is missing or unreadable): `analyze` exits 2 when non-empty.
  std::vector<std::string> io_errors;
  size_t files_read = 0;

  size_t resourceCount() const;
  size_t errorCount() const;
  size_t warningCount() const;
  bool ok() const { return io_errors.empty() && errorCount() == 0; }
};

}  // namespace sluice::config
