#include "config/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace sluice::config {
namespace {

using testing::dump;
using testing::find;
using testing::hasError;
using testing::hasWarning;

namespace fs = std::filesystem;

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("sluice-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(count_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, std::string_view content) const {
    auto p = path_ / name;
    std::ofstream(p, std::ios::binary) << content;
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int count_ = 0;
  fs::path path_;
};

constexpr const char* kVs = R"(apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts:
  - reviews
  http:
  - name: v1
    match:
    - uri:
        prefix: /v1
      headers:
        end-user:
          exact: jason
      queryParams:
        debug: {}
      ignoreUriCase: true
    route:
    - destination:
        host: reviews
        subset: v1
        port:
          number: 9080
      weight: 25
    - destination:
        host: reviews.other.svc.cluster.local
      weight: 75
    timeout: 1.5s
    retries:
      attempts: 3
      perTryTimeout: 200ms
      retryOn: 5xx,connect-failure
    fault:
      delay:
        fixedDelay: 1s
        percentage:
          value: 10
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
  namespace: default
spec:
  host: reviews
  trafficPolicy:
    loadBalancer:
      consistentHash:
        httpCookie:
          name: user
          ttl: 0s
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 30ms
      http:
        http1MaxPendingRequests: 10
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 7
      interval: 5m
      baseEjectionTime: 15m
  subsets:
  - name: v1
    labels:
      version: v1
)";

TEST(LoaderTest, DecodesTypedFields) {
  ConfigSet set = loadString(kVs, "reviews.yaml");
  ASSERT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.virtual_services.size(), 1u);
  const auto& vs = set.virtual_services[0];
  EXPECT_EQ(vs.meta.ns, "default");  // namespace defaults to "default"
  EXPECT_EQ(vs.meta.api_version, "networking.istio.io/v1alpha3");
  EXPECT_EQ(vs.hosts_fqdn, std::vector<std::string>{"reviews.default.svc.cluster.local"});
  ASSERT_EQ(vs.http.size(), 1u);
  const auto& h = vs.http[0];
  EXPECT_EQ(h.name, "v1");
  ASSERT_EQ(h.match.size(), 1u);
  EXPECT_EQ(h.match[0].uri->kind, StringMatch::Kind::kPrefix);
  EXPECT_EQ(h.match[0].uri->value, "/v1");
  EXPECT_TRUE(h.match[0].ignore_uri_case);
  EXPECT_EQ(h.match[0].headers.at("end-user").value, "jason");
  EXPECT_EQ(h.match[0].query_params.at("debug").kind, StringMatch::Kind::kPresent);
  ASSERT_EQ(h.route.size(), 2u);
  EXPECT_EQ(h.route[0].destination.host_fqdn, "reviews.default.svc.cluster.local");
  EXPECT_EQ(h.route[0].destination.subset, "v1");
  EXPECT_EQ(h.route[0].destination.port, 9080u);
  EXPECT_EQ(h.route[0].weight, 25);
  EXPECT_EQ(h.route[1].destination.host_fqdn, "reviews.other.svc.cluster.local");
  EXPECT_EQ(h.timeout->value, std::chrono::milliseconds(1500));
  EXPECT_EQ(h.retries->attempts, 3);
  EXPECT_EQ(h.retries->per_try_timeout->value, std::chrono::milliseconds(200));
  EXPECT_EQ(*h.retries->retry_on, "5xx,connect-failure");
  EXPECT_EQ(h.fault->delay->fixed_delay->value, std::chrono::seconds(1));
  EXPECT_DOUBLE_EQ(*h.fault->delay->percentage, 10.0);

  ASSERT_EQ(set.destination_rules.size(), 1u);
  const auto& dr = set.destination_rules[0];
  EXPECT_EQ(dr.meta.api_version, "networking.istio.io/v1beta1");
  EXPECT_EQ(dr.host_fqdn, "reviews.default.svc.cluster.local");
  const auto& tp = *dr.traffic_policy;
  EXPECT_EQ(tp.load_balancer->consistent_hash->http_cookie->name, "user");
  EXPECT_EQ(tp.connection_pool->tcp->max_connections, 100);
  EXPECT_EQ(tp.connection_pool->tcp->connect_timeout->value, std::chrono::milliseconds(30));
  EXPECT_EQ(tp.connection_pool->http->max_requests_per_connection, 1);
  EXPECT_EQ(tp.outlier_detection->consecutive_5xx_errors, 7u);
  EXPECT_EQ(tp.outlier_detection->interval->value, std::chrono::minutes(5));
  EXPECT_EQ(dr.subsets.at(0).labels.at("version"), "v1");
}

TEST(LoaderTest, PositionsAreOneBasedLineAndColumn) {
  // The bad weight is on line 11, its value in column 15.
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: vs
spec:
  hosts: [svc]
  http:
  - route:
    - destination:
        host: svc
      weight: -5
)";
  ConfigSet set = loadString(yaml, "dir/vs.yaml");
  auto errors = find(set, Severity::kError, "weight -5 < 0");
  ASSERT_EQ(errors.size(), 1u) << dump(set);
  EXPECT_EQ(errors[0]->pos.file, "dir/vs.yaml");
  EXPECT_EQ(errors[0]->pos.line, 11);
  EXPECT_EQ(errors[0]->pos.column, 15);
  EXPECT_EQ(errors[0]->field_path, "spec.http[0].route[0].weight");
  EXPECT_EQ(errors[0]->format(),
            "dir/vs.yaml:11:15: VirtualService/default/vs: spec.http[0].route[0].weight: "
            "weight -5 < 0");
}

TEST(LoaderTest, UnknownFieldNamesTheFieldPathAndPosition) {
  const char* yaml =
      "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
      "spec:\n  host: svc\n  trafficPolicy:\n    loadBalancer:\n      simpel: ROUND_ROBIN\n";
  ConfigSet set = loadString(yaml, "d.yaml");
  auto errors = find(set, Severity::kError, "unknown field \"simpel\"");
  ASSERT_EQ(errors.size(), 1u) << dump(set);
  EXPECT_EQ(errors[0]->field_path, "spec.trafficPolicy.loadBalancer.simpel");
  EXPECT_EQ(errors[0]->pos.line, 8);
  EXPECT_EQ(errors[0]->pos.column, 7);
}

TEST(LoaderTest, MultiDocumentAndListKind) {
  const char* yaml = R"(apiVersion: v1
kind: List
items:
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: a}
  spec: {host: a}
- apiVersion: networking.istio.io/v1
  kind: DestinationRule
  metadata: {name: b}
  spec: {host: b}
---
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: c, namespace: other}
spec: {host: c}
)";
  ConfigSet set = loadString(yaml, "list.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.destination_rules.size(), 3u);
  EXPECT_EQ(set.destination_rules[2].meta.ns, "other");
  EXPECT_EQ(set.destination_rules[2].host_fqdn, "c.other.svc.cluster.local");
}

TEST(LoaderTest, UnknownApiVersionOrKindIsAWarningAndSkipped) {
  const char* yaml = R"(apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.istio.io/v1
kind: ProxyConfig
metadata: {name: pc}
spec: {}
---
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: future}
spec: {}
)";
  ConfigSet set = loadString(yaml, "x.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_EQ(set.warningCount(), 3u) << dump(set);
  EXPECT_TRUE(hasWarning(set, "\"v1\" \"Service\": skipped"));
  EXPECT_TRUE(hasWarning(set, "\"ProxyConfig\""));
  EXPECT_TRUE(hasWarning(set, "\"networking.istio.io/v2\""));
  EXPECT_EQ(set.resourceCount(), 0u);
}

TEST(LoaderTest, MissingKindIsAnError) {
  ConfigSet set = loadString("apiVersion: networking.istio.io/v1\nmetadata: {name: x}\n", "x");
  EXPECT_TRUE(hasError(set, "kind is required")) << dump(set);
}

TEST(LoaderTest, PathsFilesAndDirectories) {
  TempDir dir;
  dir.write("b.yaml",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
            "metadata: {name: b}\nspec: {host: b}\n");
  dir.write("a.yml",
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
            "metadata: {name: a}\nspec: {host: a}\n");
  dir.write("c.json", R"({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
    "metadata": {"name": "c"}, "spec": {"host": "c", "subsets": [{"name": "v1"}]}})");
  dir.write("notes.txt", "not yaml: [");
  ConfigSet set = loadPaths({dir.path()});
  EXPECT_TRUE(set.io_errors.empty());
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_EQ(set.files_read, 3u);
  ASSERT_EQ(set.destination_rules.size(), 3u);
  EXPECT_EQ(set.destination_rules[0].meta.name, "a");  // sorted by file name
  EXPECT_EQ(set.destination_rules[1].meta.name, "b");
  EXPECT_EQ(set.destination_rules[2].meta.name, "c");
  EXPECT_EQ(set.destination_rules[2].subsets.size(), 1u);
}

TEST(LoaderTest, MissingPathIsAnIoErrorNotADiagnostic) {
  ConfigSet set = loadPaths({"/nonexistent/sluice/x.yaml"});
  ASSERT_EQ(set.io_errors.size(), 1u);
  EXPECT_NE(set.io_errors[0].find("/nonexistent/sluice/x.yaml"), std::string::npos);
  EXPECT_EQ(set.errorCount(), 0u);
  EXPECT_FALSE(set.ok());
}

TEST(LoaderTest, SyntaxErrorHasAPosition) {
  ConfigSet set = loadString("apiVersion: v1\nkind: [\n", "broken.yaml");
  ASSERT_EQ(set.errorCount(), 1u) << dump(set);
  EXPECT_NE(set.diagnostics[0].message.find("YAML syntax error"), std::string::npos);
  EXPECT_GT(set.diagnostics[0].pos.line, 0);
}

TEST(LoaderTest, ShortNamesInDestinationsUseTheRuleNamespace) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: prod}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews}
    mirror: {host: reviews.prod}
)";
  ConfigSet set = loadString(yaml, "vs.yaml");
  ASSERT_EQ(set.virtual_services.size(), 1u);
  const auto& h = set.virtual_services[0].http[0];
  EXPECT_EQ(h.route[0].destination.host_fqdn, "reviews.prod.svc.cluster.local");
  EXPECT_EQ(h.mirror->host_fqdn, "reviews.prod");  // a dot means already qualified
}

TEST(LoaderTest, RegexIsCompiledOnce) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [svc]
  http:
  - match:
    - uri: {regex: "/api/v[0-9]+/.*"}
      headers:
        x-id: {regex: "[0-9]+"}
    route:
    - destination: {host: svc}
)";
  ConfigSet set = loadString(yaml, "vs.yaml");
  ASSERT_EQ(set.errorCount(), 0u) << dump(set);
  const auto& m = set.virtual_services[0].http[0].match[0];
  ASSERT_NE(m.uri->regex, nullptr);
  EXPECT_TRUE(m.uri->matches("/api/v2/items"));
  EXPECT_FALSE(m.uri->matches("/api/vx/items"));
  ASSERT_NE(m.headers.at("x-id").regex, nullptr);
  EXPECT_FALSE(m.headers.at("x-id").matches("12a"));
}

TEST(LoaderTest, UnreachableRulesAreWarnings) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [svc]
  http:
  - match:
    - uri: {prefix: /a}
    route:
    - destination: {host: svc}
  - match:
    - uri: {prefix: /a}
    route:
    - destination: {host: svc}
  - route:
    - destination: {host: svc}
  - name: never
    route:
    - destination: {host: svc}
)";
  ConfigSet set = loadString(yaml, "vs.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  auto unreachable = find(set, Severity::kWarning, "VirtualService rule never not used");
  ASSERT_EQ(unreachable.size(), 1u) << dump(set);
  EXPECT_EQ(unreachable[0]->code, "IST0130");
  EXPECT_EQ(unreachable[0]->pos.line, 17);
  auto duplicate = find(set, Severity::kWarning, "duplicate/overlapping match in rule #0");
  ASSERT_EQ(duplicate.size(), 1u) << dump(set);
  EXPECT_EQ(duplicate[0]->code, "IST0131");
}

TEST(LoaderTest, SeveralDestinationRulesForOneHostWarn) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: a}
spec: {host: svc}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: b}
spec: {host: svc.default.svc.cluster.local}
)";
  ConfigSet set = loadString(yaml, "dr.yaml");
  EXPECT_EQ(set.errorCount(), 0u);
  EXPECT_TRUE(hasWarning(set, "multiple DestinationRules for host")) << dump(set);
}

TEST(LoaderTest, SeveralMeshVirtualServicesForOneHostWarn) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec: {hosts: [svc], http: [{route: [{destination: {host: svc}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b}
spec: {hosts: [svc], http: [{route: [{destination: {host: svc}}]}]}
)";
  ConfigSet set = loadString(yaml, "vs.yaml");
  auto w = find(set, Severity::kWarning, "associated with mesh define the same host");
  ASSERT_EQ(w.size(), 1u) << dump(set);
  EXPECT_EQ(w[0]->code, "IST0109");
}

TEST(LoaderTest, VirtualServiceHostNotInGatewayWarns) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: edge}
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com", "./local.example.org"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs}
spec:
  hosts: [a.example.com, b.other.org, local.example.org]
  gateways: [edge/gw]
  http: [{route: [{destination: {host: svc}}]}]
)";
  ConfigSet set = loadString(yaml, "gw.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  auto w = find(set, Severity::kWarning, "not found in Gateway edge/gw");
  ASSERT_EQ(w.size(), 2u) << dump(set);  // b.other.org; local.* is only for namespace edge
  EXPECT_EQ(w[0]->code, "IST0132");
  EXPECT_EQ(w[0]->field_path, "spec.hosts[1]");
  EXPECT_EQ(w[1]->field_path, "spec.hosts[2]");
}

TEST(LoaderTest, AliasBombIsBounded) {
  std::string yaml =
      "apiVersion: networking.istio.io/v1\nkind: EnvoyFilter\nmetadata: "
      "{name: bomb}\nx0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) yaml += (k ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  yaml += "spec:\n  configPatches: *a8\n";
  ConfigSet set = loadString(yaml, "bomb.yaml");
  EXPECT_GT(set.errorCount(), 0u);
  EXPECT_LT(set.diagnostics.size(), 2000u);
}

// The config_yaml fuzz target's 22 bytes (tests/fuzz/corpus/config_yaml/regress-yaml-cpp-loadall-
// hang): yaml-cpp's LoadAll never returned on a ',' after a top-level flow value or quoted scalar.
TEST(LoaderTest, CommaAfterTopLevelFlowValueIsASyntaxErrorNotAHang) {
  for (const char* yaml : {"{\"apiVersix\"}, \"  [\"aI\"", "{a}, b", "[a], b", "\"x\", b", "{a},",
                           "apiVersion: v1\nkind: Service\n---\n[a], [b]\n"}) {
    ConfigSet set = loadString(yaml, "stall.yaml");
    ASSERT_EQ(set.errorCount(), 1u) << yaml << "\n" << dump(set);
    const Diagnostic& d =
        *std::find_if(set.diagnostics.begin(), set.diagnostics.end(),
                      [](const Diagnostic& x) { return x.severity == Severity::kError; });
    EXPECT_NE(d.message.find("',' outside a flow collection"), std::string::npos) << d.message;
    EXPECT_GT(d.pos.line, 0);
  }
  // The same characters inside a flow collection or a plain scalar are fine.
  ConfigSet fine = loadString("x: [{a}, b]\ny: a, b\n", "fine.yaml");
  for (const auto& d : fine.diagnostics) {
    EXPECT_EQ(d.message.find("YAML syntax error"), std::string::npos) << d.message;
  }
}

}  // namespace
}  // namespace sluice::config
