// One failing and one passing configuration per validation rule. The failing one must produce an
// error containing `message`; the passing one must produce no error at all.

#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

using testing::doc;
using testing::dump;
using testing::hasError;

struct RuleCase {
  const char* rule;
  std::string bad;
  std::string good;
  const char* message;
};

std::string vs(std::string_view spec) { return doc("VirtualService", "vs", spec); }
std::string dr(std::string_view spec) { return doc("DestinationRule", "dr", spec); }
std::string gw(std::string_view spec) { return doc("Gateway", "gw", spec); }
std::string se(std::string_view spec) { return doc("ServiceEntry", "se", spec); }

// A VirtualService for host svc with one HTTP rule whose body is `rule` (unindented).
std::string vsRule(std::string_view rule) {
  return vs("hosts: [svc]\nhttp:\n- " + testing::indent(rule, 2).substr(2));
}

const char* kRoute = "route:\n- destination: {host: svc}";
const std::string kGateway =
    gw("selector: {istio: ingressgateway}\nservers:\n- port: {number: 80, name: http, protocol: "
       "HTTP}\n  hosts: [\"*\"]");
const std::string kSubsetsDr =
    dr("host: svc\nsubsets:\n- name: v1\n  labels: {version: v1}\n- name: v2\n  labels: "
       "{version: v2}");

std::vector<RuleCase> cases() {
  std::vector<RuleCase> c;
  // ---- VirtualService
  c.push_back(
      {"vs_needs_routes", vs("hosts: [svc]"), vsRule(kRoute), "http, tcp or tls must be provided"});
  c.push_back({"vs_host_format", vs("hosts: [\"bad_host!\"]\nhttp:\n- " + std::string(kRoute)),
               vs("hosts: [svc.example.com]\nhttp:\n- route:\n  - destination: {host: svc}"),
               "invalid (label"});
  c.push_back({"vs_wildcard_mesh",
               vs("hosts: [\"*\"]\nhttp:\n- route:\n  - destination: {host: svc}"),
               vs("hosts: [\"*\"]\ngateways: [gw]\nhttp:\n- route:\n  - destination: {host: svc}") +
                   kGateway,
               "wildcard host * is not allowed for virtual services bound to the mesh gateway"});
  c.push_back({"vs_duplicate_hosts",
               vs("hosts: [a.example.com, a.example.com]\nhttp:\n- route:\n  - destination: {host: "
                  "svc}"),
               vs("hosts: [a.example.com, b.example.com]\nhttp:\n- route:\n  - destination: {host: "
                  "svc}"),
               "duplicate hosts in virtual service"});
  c.push_back({"vs_duplicate_wildcard_hosts",
               vs("hosts: [\"*.foo.com\", \"*.com\"]\ngateways: [gw]\nhttp:\n- route:\n  - "
                  "destination: {host: svc}") +
                   kGateway,
               vs("hosts: [\"*.foo.com\", \"*.bar.org\"]\ngateways: [gw]\nhttp:\n- route:\n  - "
                  "destination: {host: svc}") +
                   kGateway,
               "duplicate hosts in virtual service"});
  c.push_back({"route_and_redirect",
               vsRule("route:\n- destination: {host: svc}\nredirect: {uri: /x}"),
               vsRule("redirect: {uri: /x}"), "cannot contain both route and redirect"});
  c.push_back({"redirect_and_direct_response",
               vsRule("redirect: {uri: /x}\ndirectResponse: {status: 200}"),
               vsRule("directResponse: {status: 200, body: {string: hi}}"),
               "cannot contain both direct_response and redirect"});
  c.push_back({"rewrite_and_redirect", vsRule("redirect: {uri: /x}\nrewrite: {uri: /y}"),
               vsRule("route:\n- destination: {host: svc}\nrewrite: {uri: /y}"),
               "cannot contain both rewrite and redirect"});
  c.push_back({"route_and_direct_response",
               vsRule("route:\n- destination: {host: svc}\ndirectResponse: {status: 404}"),
               vsRule("directResponse: {status: 404}"),
               "cannot contain both route and direct_response"});
  c.push_back({"mirror_and_mirrors",
               vsRule("route:\n- destination: {host: svc}\nmirror: {host: m}\nmirrors:\n- "
                      "destination: {host: m2}"),
               vsRule("route:\n- destination: {host: svc}\nmirrors:\n- destination: {host: m2}"),
               "cannot contain both mirror and mirrors"});
  c.push_back({"delegate_and_route",
               vsRule("route:\n- destination: {host: svc}\ndelegate: {name: d}"),
               vsRule("delegate: {name: d}"), "must not specify route"});
  c.push_back({"action_required", vsRule("match:\n- uri: {prefix: /a}"),
               vsRule("match:\n- uri: {prefix: /a}\nroute:\n- destination: {host: svc}"),
               "HTTP route, redirect or direct_response is required"});
  c.push_back({"weight_negative", vsRule("route:\n- destination: {host: svc}\n  weight: -1"),
               vsRule("route:\n- destination: {host: svc}\n  weight: 1"), "weight -1 < 0"});
  c.push_back({"weight_total_zero",
               vsRule("route:\n- destination: {host: a}\n  weight: 0\n- destination: {host: b}\n  "
                      "weight: 0"),
               vsRule("route:\n- destination: {host: a}\n  weight: 10\n- destination: {host: b}\n "
                      " weight: 10"),
               "total destination weight = 0"});
  c.push_back({"destination_host_required", vsRule("route:\n- destination: {port: {number: 80}}"),
               vsRule("route:\n- destination: {host: svc, port: {number: 80}}"),
               "destination.host is required"});
  c.push_back({"destination_required", vsRule("route:\n- weight: 100"),
               vsRule("route:\n- destination: {host: svc}\n  weight: 100"),
               "destination is required"});
  c.push_back({"destination_host_star", vsRule("route:\n- destination: {host: \"*\"}"),
               vsRule("route:\n- destination: {host: svc}"), "invalid destination host *"});
  c.push_back({"subset_name_format",
               vsRule("route:\n- destination: {host: svc, subset: \"V_1\"}") + kSubsetsDr,
               vsRule("route:\n- destination: {host: svc, subset: v1}") + kSubsetsDr,
               "subset name is invalid: V_1"});
  c.push_back({"regex_compiles",
               vsRule("match:\n- uri: {regex: \"/a(\"}\nroute:\n- destination: {host: svc}"),
               vsRule("match:\n- uri: {regex: \"/a(b)?\"}\nroute:\n- destination: {host: svc}"),
               "Istio uses RE2 style regex-based match"});
  c.push_back({"regex_length",
               vsRule("match:\n- uri: {regex: \"" + std::string(1025, 'a') +
                      "\"}\nroute:\n- destination: {host: svc}"),
               vsRule("match:\n- uri: {regex: \"" + std::string(1024, 'a') +
                      "\"}\nroute:\n- destination: {host: svc}"),
               "regex is too large, max length allowed is 1024"});
  c.push_back({"timeout_unit", vsRule(std::string(kRoute) + "\ntimeout: 1x"),
               vsRule(std::string(kRoute) + "\ntimeout: 0s"), "unknown unit 'x'"});
  c.push_back({"timeout_negative", vsRule(std::string(kRoute) + "\ntimeout: -1s"),
               vsRule(std::string(kRoute) + "\ntimeout: 1.5s"), "must not be negative"});
  c.push_back({"timeout_precision", vsRule(std::string(kRoute) + "\ntimeout: 1500us"),
               vsRule(std::string(kRoute) + "\ntimeout: 2ms"),
               "only durations to ms precision are supported"});
  c.push_back({"per_try_timeout_min",
               vsRule(std::string(kRoute) + "\nretries: {attempts: 2, perTryTimeout: 0s}"),
               vsRule(std::string(kRoute) + "\nretries: {attempts: 2, perTryTimeout: 1ms}"),
               "duration must be greater than 1ms"});
  c.push_back({"retries_disabled_with_policy",
               vsRule(std::string(kRoute) + "\nretries: {attempts: 0, retryOn: 5xx}"),
               vsRule(std::string(kRoute) + "\nretries: {attempts: 0}"),
               "http retry policy configured when attempts are set to 0"});
  c.push_back({"retries_negative", vsRule(std::string(kRoute) + "\nretries: {attempts: -1}"),
               vsRule(std::string(kRoute) + "\nretries: {attempts: 3}"),
               "attempts cannot be negative"});
  c.push_back({"retry_on_policy",
               vsRule(std::string(kRoute) + "\nretries: {attempts: 1, retryOn: \"5xx,bogus\"}"),
               vsRule(std::string(kRoute) +
                      "\nretries: {attempts: 1, retryOn: \"5xx,reset,503,connect-failure\"}"),
               "\"bogus\" is not a valid retryOn policy"});
  c.push_back(
      {"fault_percentage_range",
       vsRule(std::string(kRoute) +
              "\nfault: {abort: {httpStatus: 503, percentage: {value: 150}}}"),
       vsRule(std::string(kRoute) + "\nfault: {abort: {httpStatus: 503, percentage: {value: 50}}}"),
       "percentage 150 is not in range 0..100"});
  c.push_back({"fault_percentage_tiny",
               vsRule(std::string(kRoute) +
                      "\nfault: {abort: {httpStatus: 503, percentage: {value: 0.00001}}}"),
               vsRule(std::string(kRoute) +
                      "\nfault: {abort: {httpStatus: 503, percentage: {value: 0.0001}}}"),
               "is neither 0.0, nor in range [0.0001, 100.0]"});
  c.push_back(
      {"fault_needs_action", vsRule(std::string(kRoute) + "\nfault: {}"),
       vsRule(std::string(kRoute) + "\nfault: {delay: {fixedDelay: 1s, percentage: {value: 10}}}"),
       "HTTP fault injection must have an abort and/or a delay"});
  c.push_back({"fault_delay_needs_fixed_delay",
               vsRule(std::string(kRoute) + "\nfault: {delay: {percentage: {value: 10}}}"),
               vsRule(std::string(kRoute) + "\nfault: {delay: {fixedDelay: 5ms}}"),
               "fixedDelay is required"});
  c.push_back({"mirror_percentage_range",
               vsRule(std::string(kRoute) + "\nmirror: {host: m}\nmirrorPercentage: {value: 101}"),
               vsRule(std::string(kRoute) + "\nmirror: {host: m}\nmirrorPercentage: {value: 100}"),
               "percentage 101 is not in range 0..100"});
  c.push_back({"match_port_range",
               vsRule("match:\n- port: 65536\nroute:\n- destination: {host: svc}"),
               vsRule("match:\n- port: 65535\nroute:\n- destination: {host: svc}"),
               "port number 65536 must be in the range 1..65535"});
  c.push_back({"match_port_zero", vsRule("match:\n- port: 0\nroute:\n- destination: {host: svc}"),
               vsRule("match:\n- port: 1\nroute:\n- destination: {host: svc}"),
               "port number 0 must be in the range 1..65535"});
  c.push_back({"destination_port_range",
               vsRule("route:\n- destination: {host: svc, port: {number: 70000}}"),
               vsRule("route:\n- destination: {host: svc, port: {number: 8080}}"),
               "port number 70000 must be in the range 1..65535"});
  c.push_back({"match_header_lower_case",
               vsRule("match:\n- headers: {X-User: {exact: a}}\nroute:\n- destination: {host: "
                      "svc}"),
               vsRule("match:\n- headers: {x-user: {exact: a}}\nroute:\n- destination: {host: "
                      "svc}"),
               "must be lower case"});
  c.push_back({"match_header_name_valid",
               vsRule("match:\n- headers: {\"x user\": {exact: a}}\nroute:\n- destination: "
                      "{host: svc}"),
               vsRule("match:\n- headers: {x-user: {}}\nroute:\n- destination: {host: svc}"),
               "is not a valid header name"});
  c.push_back({"header_prefix_not_empty",
               vsRule("match:\n- headers: {x-user: {prefix: \"\"}}\nroute:\n- destination: "
                      "{host: svc}"),
               vsRule("match:\n- uri: {prefix: \"\"}\nroute:\n- destination: {host: svc}"),
               "prefix string match should not be empty"});
  c.push_back({"string_match_one_of",
               vsRule("match:\n- uri: {exact: /a, prefix: /b}\nroute:\n- destination: {host: "
                      "svc}"),
               vsRule("match:\n- uri: {exact: /a}\nroute:\n- destination: {host: svc}"),
               "only one of exact, prefix or regex"});
  c.push_back({"header_op_pseudo",
               vsRule(std::string(kRoute) + "\nheaders: {request: {set: {\":path\": /x}}}"),
               vsRule(std::string(kRoute) + "\nheaders: {request: {set: {X-Sluice: yes}}}"),
               "header cannot have \":\" prefix"});
  c.push_back({"header_op_remove_host",
               vsRule(std::string(kRoute) + "\nheaders: {request: {remove: [Host]}}"),
               vsRule(std::string(kRoute) + "\nheaders: {request: {remove: [x-debug]}}"),
               "cannot set Host header"});
  c.push_back({"unknown_field", vsRule("route:\n- destinaton: {host: svc}"),
               vsRule("route:\n- destination: {host: svc}"), "unknown field \"destinaton\""});
  c.push_back({"wrong_type_int", vsRule("route:\n- destination: {host: svc}\n  weight: abc"),
               vsRule("route:\n- destination: {host: svc}\n  weight: \"100\""),
               "expected an integer"});
  c.push_back({"wrong_type_string",
               vsRule("route:\n- destination: {host: svc, subset: 1}") + kSubsetsDr,
               vsRule("route:\n- destination: {host: svc, subset: v1}") + kSubsetsDr,
               "expected a string, got number 1"});
  c.push_back({"wrong_type_list", vs("hosts: svc\nhttp:\n- " + std::string(kRoute)),
               vs("hosts: [svc]\nhttp:\n- route:\n  - destination: {host: svc}"),
               "expected a list"});
  c.push_back({"redirect_code", vsRule("redirect: {uri: /x, redirectCode: 200}"),
               vsRule("redirect: {uri: /x, redirectCode: 308}"), "is not a valid redirect code"});
  c.push_back({"redirect_scheme", vsRule("redirect: {scheme: ftp}"),
               vsRule("redirect: {scheme: https}"), "invalid redirect scheme"});
  c.push_back({"redirect_needs_target", vsRule("redirect: {redirectCode: 302}"),
               vsRule("redirect: {authority: example.com, redirectCode: 302}"),
               "redirect must specify URI, authority, scheme, or port"});
  c.push_back({"redirect_uri_and_prefix", vsRule("redirect: {uri: /a, prefixRewrite: /b}"),
               vsRule("match:\n- uri: {prefix: /p}\nredirect: {prefixRewrite: /b}"),
               "redirect may only specify one of uri or prefix_rewrite"});
  c.push_back({"direct_response_status", vsRule("directResponse: {status: 700}"),
               vsRule("directResponse: {status: 599}"), "HTTP status 700 is not in range"});
  c.push_back({"rewrite_one_of",
               vsRule(std::string(kRoute) +
                      "\nrewrite: {uri: /a, uriRegexRewrite: {match: \"^/b\", rewrite: /c}}"),
               vsRule(std::string(kRoute) + "\nrewrite: {authority: example.com}"),
               "rewrite may only contain one of URI or UriRegexRewrite"});
  c.push_back({"rewrite_not_empty", vsRule(std::string(kRoute) + "\nrewrite: {}"),
               vsRule(std::string(kRoute) + "\nrewrite: {uri: /}"),
               "rewrite must specify at least one of URI"});
  c.push_back({"gateway_ref_format",
               vs("hosts: [svc]\ngateways: [\"default/\"]\nhttp:\n- " + std::string(kRoute)),
               vs("hosts: [svc.example.com]\ngateways: [default/gw]\nhttp:\n- route:\n  - "
                  "destination: {host: svc}") +
                   kGateway,
               "config namespace and gateway name cannot be empty"});
  c.push_back({"tcp_route_required", vs("hosts: [svc]\ntcp:\n- match:\n  - port: 3306"),
               vs("hosts: [svc]\ntcp:\n- match:\n  - port: 3306\n  route:\n  - destination: "
                  "{host: db}"),
               "TCP route is required"});
  c.push_back({"tls_sni_required",
               vs("hosts: [svc.example.com]\ntls:\n- match:\n  - port: 443\n  route:\n  - "
                  "destination: {host: svc}"),
               vs("hosts: [svc.example.com]\ntls:\n- match:\n  - sniHosts: [svc.example.com]\n  "
                  "route:\n  - destination: {host: svc}"),
               "TLS match must have at least one SNI host"});
  c.push_back({"tls_sni_subset",
               vs("hosts: [svc.example.com]\ntls:\n- match:\n  - sniHosts: [other.example.com]\n "
                  " route:\n  - destination: {host: svc}"),
               vs("hosts: [\"*.example.com\"]\ntls:\n- match:\n  - sniHosts: [a.example.com]\n  "
                  "route:\n  - destination: {host: svc}"),
               "is not a compatible subset of any of the virtual service hosts"});
  c.push_back({"export_to_format",
               vs("hosts: [svc]\nexportTo: [\"Bad_NS\"]\nhttp:\n- " + std::string(kRoute)),
               vs("hosts: [svc]\nexportTo: [\".\"]\nhttp:\n- route:\n  - destination: {host: svc}"),
               "only .,*, or a valid DNS 1123 label is allowed as exportTo entry"});
  c.push_back({"tcp_destination_subnet",
               vs("hosts: [svc]\ntcp:\n- match:\n  - destinationSubnets: [\"10.0.0.0/33\"]\n  "
                  "route:\n  - destination: {host: db}"),
               vs("hosts: [svc]\ntcp:\n- match:\n  - destinationSubnets: [\"10.0.0.0/8\"]\n  "
                  "route:\n  - destination: {host: db}"),
               "is not a valid CIDR block"});
  c.push_back({"cors_method", vsRule(std::string(kRoute) + "\ncorsPolicy: {allowMethods: [FETCH]}"),
               vsRule(std::string(kRoute) + "\ncorsPolicy: {allowMethods: [GET, POST]}"),
               "\"FETCH\" is not a supported HTTP method"});

  // ---- DestinationRule
  c.push_back({"dr_host_required", dr("subsets:\n- name: v1"),
               dr("host: svc\nsubsets:\n- name: v1"), "host is required"});
  c.push_back({"dr_host_format", dr("host: \"bad host\""), dr("host: \"*.example.com\""),
               "invalid (label"});
  c.push_back({"dr_duplicate_subsets", dr("host: svc\nsubsets:\n- name: v1\n- name: v1"),
               dr("host: svc\nsubsets:\n- name: v1\n- name: v2"), "duplicate subset names: v1"});
  c.push_back({"dr_subset_name_required", dr("host: svc\nsubsets:\n- labels: {a: b}"),
               dr("host: svc\nsubsets:\n- name: a\n  labels: {a: b}"),
               "subset name cannot be empty"});
  c.push_back({"dr_subset_name_format", dr("host: svc\nsubsets:\n- name: v1.0"),
               dr("host: svc\nsubsets:\n- name: v1-0"), "subset name is invalid: v1.0"});
  c.push_back({"dr_subset_labels", dr("host: svc\nsubsets:\n- name: v1\n  labels: {\"a b\": c}"),
               dr("host: svc\nsubsets:\n- name: v1\n  labels: {app.kubernetes.io/version: c}"),
               "invalid tag key"});
  c.push_back({"dr_lb_simple", dr("host: svc\ntrafficPolicy: {loadBalancer: {simple: FASTEST}}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}"),
               "invalid load balancer \"FASTEST\""});
  c.push_back({"dr_lb_one_of",
               dr("host: svc\ntrafficPolicy: {loadBalancer: {simple: RANDOM, consistentHash: "
                  "{useSourceIp: true}}}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: "
                  "true}}}"),
               "only one of simple or consistentHash"});
  c.push_back({"dr_hash_key_one_of",
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, "
                  "httpHeaderName: x-user}}}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: "
                  "x-user}}}"),
               "consistentHash may set only one of"});
  c.push_back({"dr_cookie_name",
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {ttl: "
                  "0s}}}}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {httpCookie: {name: "
                  "user, ttl: 0s}}}}"),
               "name required for HttpCookie"});
  c.push_back({"dr_maglev_prime",
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, "
                  "maglev: {tableSize: 1000}}}}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true, "
                  "maglev: {tableSize: 65537}}}}"),
               "tableSize must be a prime number for maglev"});
  c.push_back({"dr_outlier_percent",
               dr("host: svc\ntrafficPolicy: {outlierDetection: {maxEjectionPercent: 101}}"),
               dr("host: svc\ntrafficPolicy: {outlierDetection: {maxEjectionPercent: 100}}"),
               "percentage 101 is not in range 0..100"});
  c.push_back({"dr_outlier_interval",
               dr("host: svc\ntrafficPolicy: {outlierDetection: {interval: 0s}}"),
               dr("host: svc\ntrafficPolicy: {outlierDetection: {interval: 10s, "
                  "baseEjectionTime: 30s, consecutive5xxErrors: 5}}"),
               "duration must be greater than 1ms"});
  c.push_back({"dr_pool_non_negative",
               dr("host: svc\ntrafficPolicy: {connectionPool: {tcp: {maxConnections: -1}}}"),
               dr("host: svc\ntrafficPolicy: {connectionPool: {tcp: {maxConnections: 10, "
                  "connectTimeout: 1s}, http: {http1MaxPendingRequests: 1, "
                  "maxRequestsPerConnection: 1}}}"),
               "max connections must be non-negative"});
  c.push_back({"dr_mutual_tls", dr("host: svc\ntrafficPolicy: {tls: {mode: MUTUAL}}"),
               dr("host: svc\ntrafficPolicy: {tls: {mode: MUTUAL, clientCertificate: /c, "
                  "privateKey: /k}}"),
               "client certificate required for mutual tls"});
  c.push_back({"dr_port_level_port",
               dr("host: svc\ntrafficPolicy:\n  portLevelSettings:\n  - loadBalancer: {simple: "
                  "RANDOM}"),
               dr("host: svc\ntrafficPolicy:\n  portLevelSettings:\n  - port: {number: 80}\n    "
                  "loadBalancer: {simple: RANDOM}"),
               "portTrafficPolicy must have valid port"});
  c.push_back({"dr_traffic_policy_empty", dr("host: svc\ntrafficPolicy: {}"),
               dr("host: svc\ntrafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}"),
               "traffic policy must have at least one field"});

  // ---- Gateway
  c.push_back({"gw_servers_required", gw("selector: {istio: ingressgateway}"), kGateway,
               "gateway must have at least one server"});
  c.push_back({"gw_hosts_required",
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}"), kGateway,
               "server config must contain at least one host"});
  c.push_back({"gw_short_name",
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [svc]"),
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: "
                  "[ns1/svc.example.com, \"./*.example.com\"]"),
               "short names (non FQDN) are not allowed"});
  c.push_back({"gw_partial_wildcard",
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: "
                  "[\"a*.example.com\"]"),
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: "
                  "[\"*.example.com\"]"),
               "partial wildcard"});
  c.push_back({"gw_port_required", gw("servers:\n- hosts: [\"*\"]"), kGateway, "port is required"});
  c.push_back({"gw_port_range",
               gw("servers:\n- port: {number: 70000, name: http, protocol: HTTP}\n  hosts: "
                  "[\"*\"]"),
               gw("servers:\n- port: {number: 65535, name: http, protocol: HTTP}\n  hosts: "
                  "[\"*\"]"),
               "port number 70000 must be in the range 1..65535"});
  c.push_back({"gw_protocol",
               gw("servers:\n- port: {number: 80, name: http, protocol: SMTP}\n  hosts: [\"*\"]"),
               gw("servers:\n- port: {number: 80, name: http, protocol: http}\n  hosts: [\"*\"]"),
               "invalid protocol \"SMTP\""});
  c.push_back({"gw_port_name",
               gw("servers:\n- port: {number: 80, protocol: HTTP}\n  hosts: [\"*\"]"), kGateway,
               "port name must be set"});
  c.push_back({"gw_port_names_unique",
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [\"*\"]\n"
                  "- port: {number: 81, name: http, protocol: HTTP}\n  hosts: [\"*\"]"),
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [\"*\"]\n"
                  "- port: {number: 81, name: http2, protocol: HTTP}\n  hosts: [\"*\"]"),
               "port names in servers must be unique"});
  c.push_back({"gw_https_needs_tls",
               gw("servers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: "
                  "[\"*\"]"),
               gw("servers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: "
                  "[\"*\"]\n  tls: {mode: SIMPLE, credentialName: cert}"),
               "server must have TLS settings for HTTPS/TLS protocols"});
  c.push_back({"gw_http_no_tls",
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [\"*\"]\n"
                  "  tls: {mode: SIMPLE, credentialName: cert}"),
               gw("servers:\n- port: {number: 80, name: http, protocol: HTTP}\n  hosts: [\"*\"]\n"
                  "  tls: {httpsRedirect: true}"),
               "server cannot have TLS settings for plain text HTTP ports"});
  c.push_back({"gw_simple_needs_cert",
               gw("servers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: "
                  "[\"*\"]\n  tls: {mode: SIMPLE}"),
               gw("servers:\n- port: {number: 443, name: https, protocol: HTTPS}\n  hosts: "
                  "[\"*\"]\n  tls: {mode: SIMPLE, serverCertificate: /c, privateKey: /k}"),
               "SIMPLE TLS requires a server certificate"});

  // ---- ServiceEntry
  const std::string port80 = "ports:\n- {number: 80, name: http, protocol: HTTP}\n";
  c.push_back({"se_hosts_required", se(port80), se("hosts: [a.example.com]\n" + port80),
               "service entry must have at least one host"});
  c.push_back({"se_host_star", se("hosts: [\"*\"]\n" + port80),
               se("hosts: [\"*.example.com\"]\n" + port80), "invalid host *"});
  c.push_back({"se_port_name", se("hosts: [a.example.com]\nports:\n- {number: 80, protocol: HTTP}"),
               se("hosts: [a.example.com]\n" + port80), "invalid port name: "});
  c.push_back({"se_port_names_unique",
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: http}\n- {number: 81, "
                  "name: http}"),
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: http}\n- {number: 81, "
                  "name: http-alt}"),
               "service entry port name \"http\" already defined"});
  c.push_back({"se_port_numbers_unique",
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: a}\n- {number: 80, name: "
                  "b}"),
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: a}\n- {number: 81, name: "
                  "b}"),
               "service entry port 80 already defined"});
  c.push_back({"se_port_range", se("hosts: [a.example.com]\nports:\n- {number: 0, name: a}"),
               se("hosts: [a.example.com]\nports:\n- {number: 1, name: a}"),
               "port number 0 must be in the range 1..65535"});
  c.push_back({"se_protocol",
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: a, protocol: SMTP}"),
               se("hosts: [a.example.com]\nports:\n- {number: 80, name: a, protocol: TCP}"),
               "unsupported protocol: SMTP"});
  c.push_back({"se_none_no_endpoints",
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: NONE\nendpoints:\n- "
                  "address: 10.0.0.1"),
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nendpoints:\n- "
                  "address: 10.0.0.1"),
               "no endpoints should be provided for resolution type none"});
  c.push_back({"se_static_ip",
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nendpoints:\n- "
                  "address: not-an-ip"),
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nendpoints:\n- "
                  "address: \"::1\""),
               "is not a valid IP address"});
  c.push_back({"se_endpoint_port_defined",
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nendpoints:\n- "
                  "address: 10.0.0.1\n  ports: {grpc: 9000}"),
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nendpoints:\n- "
                  "address: 10.0.0.1\n  ports: {http: 8080}"),
               "endpoint port grpc is not defined by the service entry"});
  c.push_back({"se_dns_wildcard", se("hosts: [\"*.example.com\"]\n" + port80 + "resolution: DNS"),
               se("hosts: [a.example.com]\n" + port80 + "resolution: DNS"),
               "hosts must be FQDN if no endpoints are provided for resolution mode DNS"});
  c.push_back({"se_selector_or_endpoints",
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nworkloadSelector: {labels: {app: a}}\nendpoints:\n- "
                  "address: 10.0.0.1"),
               se("hosts: [a.example.com]\n" + port80 +
                  "resolution: STATIC\nworkloadSelector: {labels: {app: a}}"),
               "only one of WorkloadSelector or Endpoints is allowed"});
  c.push_back(
      {"se_cidr_resolution",
       se("hosts: [a.example.com]\naddresses: [\"10.0.0.0/24\"]\n" + port80 + "resolution: DNS"),
       se("hosts: [a.example.com]\naddresses: [\"10.0.0.0/24\"]\n" + port80 +
          "resolution: STATIC\nendpoints:\n- address: 10.0.0.1"),
       "CIDR addresses are allowed only for NONE/STATIC resolution types"});
  c.push_back({"se_resolution_enum", se("hosts: [a.example.com]\n" + port80 + "resolution: MAGIC"),
               se("hosts: [a.example.com]\n" + port80 + "resolution: NONE"),
               "invalid resolution \"MAGIC\""});

  // ---- Cross-resource
  c.push_back({"subset_not_found",
               vsRule("route:\n- destination: {host: svc, subset: v3}") + kSubsetsDr,
               vsRule("route:\n- destination: {host: svc.default.svc.cluster.local, subset: v2}") +
                   kSubsetsDr,
               "Referenced host+subset in destinationrule not found: \"svc+v3\""});
  c.push_back(
      {"gateway_not_found",
       vs("hosts: [a.example.com]\ngateways: [missing-gw]\nhttp:\n- " + std::string(kRoute)),
       vs("hosts: [a.example.com]\ngateways: [gw, mesh]\nhttp:\n- route:\n  - "
          "destination: {host: svc}") +
           kGateway,
       "Referenced gateway not found: \"missing-gw\""});
  c.push_back({"duplicate_names", vsRule(kRoute) + vsRule(kRoute),
               vsRule(kRoute) + doc("VirtualService", "vs2",
                                    "hosts: [other]\nhttp:\n- route:\n  "
                                    "- destination: {host: other}"),
               "duplicate VirtualService default/vs"});
  // ---- Documents
  c.push_back({"name_required",
               "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {namespace: "
               "x}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n",
               "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\n"
               "spec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n",
               "metadata.name is required"});
  c.push_back({"name_format",
               "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: "
               "Bad_Name}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n",
               "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: "
               "good-name.v1}\nspec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}\n",
               "must be a lower-case DNS-1123 subdomain"});
  c.push_back({"spec_required",
               "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: "
               "{name: g}\n",
               kGateway, "spec is required"});
  c.push_back({"top_level_unknown",
               "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
               "spec: {host: a}\nspecs: {}\n",
               "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
               "spec: {host: a}\nstatus: {}\n",
               "unknown field \"specs\""});
  c.push_back({"duplicate_field",
               "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
               "metadata: {name: d}\nspec:\n  host: a\n  host: b\n",
               "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
               "spec:\n  host: a\n",
               "duplicate field"});
  return c;
}

class RuleTest : public ::testing::TestWithParam<RuleCase> {};

TEST_P(RuleTest, BadConfigReportsTheRuleAndGoodConfigPasses) {
  const RuleCase& c = GetParam();
  ConfigSet bad = loadString(c.bad, "bad.yaml");
  EXPECT_TRUE(hasError(bad, c.message))
      << "rule " << c.rule << ": expected an error containing '" << c.message << "'; got:\n"
      << dump(bad) << "input:\n"
      << c.bad;
  ConfigSet good = loadString(c.good, "good.yaml");
  EXPECT_EQ(good.errorCount(), 0u) << "rule " << c.rule << ": good config has errors:\n"
                                   << dump(good) << "input:\n"
                                   << c.good;
}

INSTANTIATE_TEST_SUITE_P(Rules, RuleTest, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<RuleCase>& info) {
                           return std::string(info.param.rule);
                         });

}  // namespace
}  // namespace sluice::config
