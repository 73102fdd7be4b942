#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

using testing::dump;
using testing::find;
using testing::hasError;
using testing::hasWarning;

// The seed's reverse-DNS EnvoyFilter with replaceable parts.
std::string reverseDns(std::string_view filter_name = "com.aliyun.reverse_dns",
                       std::string_view cidrs = "- \"10.0.128.0/18\"",
                       std::string_view port = "portNumber: 8070",
                       std::string_view cidr_key = "pod_cidrs") {
  return "apiVersion: networking.istio.io/v1alpha3\n"
         "kind: EnvoyFilter\n"
         "metadata:\n"
         "  name: any-spring-cloud-support\n"
         "  namespace: istio-system\n"
         "spec:\n"
         "  configPatches:\n"
         "  - applyTo: HTTP_FILTER\n"
         "    match:\n"
         "      proxy:\n"
         "        proxyVersion: \"^1.*\"\n"
         "      context: SIDECAR_OUTBOUND\n"
         "      listener:\n"
         "        " +
         std::string(port) +
         "\n"
         "        filterChain:\n"
         "          filter:\n"
         "            name: \"envoy.filters.network.http_connection_manager\"\n"
         "            subFilter:\n"
         "              name: \"envoy.filters.http.router\"\n"
         "    patch:\n"
         "      operation: INSERT_BEFORE\n"
         "      value:\n"
         "        name: " +
         std::string(filter_name) +
         "\n"
         "        typed_config:\n"
         "          \"@type\": \"type.googleapis.com/udpa.type.v1.TypedStruct\"\n"
         "          type_url: "
         "type.googleapis.com/envoy.config.filter.reverse_dns.v3alpha.CommonConfig\n"
         "          value:\n"
         "            " +
         std::string(cidr_key) + ":\n" + testing::indent(cidrs, 12) + "\n";
}

constexpr const char* kSeedIpRewrite =
    R"lua(body = string.gsub(body,"(ip\":\")(%d+.%d+.%d+.%d+)","%1"..servicename))lua";

std::string nacosLua(std::string_view name = "envoy.lua",
                     std::string_view path = "/nacos/v1/ns/instance/list",
                     std::string_view rewrite = kSeedIpRewrite) {
  return "apiVersion: networking.istio.io/v1alpha3\n"
         "kind: EnvoyFilter\n"
         "metadata:\n"
         "  name: nacos-subscribe-lua\n"
         "  namespace: istio-system\n"
         "spec:\n"
         "  configPatches:\n"
         "  - applyTo: HTTP_FILTER\n"
         "    match:\n"
         "      context: SIDECAR_OUTBOUND\n"
         "      listener:\n"
         "        portNumber: 8848\n"
         "    patch:\n"
         "      operation: INSERT_BEFORE\n"
         "      value:\n"
         "        name: " +
         std::string(name) +
         "\n"
         "        typed_config:\n"
         "          \"@type\": \"type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua\"\n"
         "          inlineCode: |\n"
         "            function envoy_on_request(request_handle)\n"
         "              local path = request_handle:headers():get(\":path\")\n"
         "              if string.match(path,\"^" +
         std::string(path) +
         "\") then\n"
         "                request_handle:streamInfo():dynamicMetadata()"
         ":set(\"context\", \"request.path\", path)\n"
         "              end\n"
         "            end\n"
         "            function envoy_on_response(response_handle)\n"
         "              local body = response_handle:body(true):getBytes(0, 10)\n"
         "              " +
         std::string(rewrite) +
         "\n"
         "              response_handle:body():setBytes(body)\n"
         "            end\n";
}

TEST(ReverseDnsTest, RecognisesTheSeedShape) {
  ConfigSet set = loadString(reverseDns(), "rdns.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.reverse_dns.size(), 1u) << dump(set);
  const auto& s = set.reverse_dns[0];
  EXPECT_EQ(s.port, 8070);
  ASSERT_EQ(s.pod_cidrs.size(), 1u);
  EXPECT_EQ(s.pod_cidrs[0].toString(), "10.0.128.0/18");
  EXPECT_EQ(s.filter_name, "istio-system/any-spring-cloud-support");
  EXPECT_EQ(s.pos.file, "rdns.yaml");
  EXPECT_EQ(s.pos.line, 8);
  EXPECT_TRUE(set.envoy_filters.at(0).recognised);
  EXPECT_FALSE(hasWarning(set, "not applied")) << dump(set);
}

TEST(ReverseDnsTest, WithoutPortNumberAppliesToAllPorts) {
  ConfigSet set = loadString(
      reverseDns("com.aliyun.reverse_dns", "- 10.0.0.0/8\n- \"fd00::/8\"", "name: x"), "rdns.yaml");
  // "name" is not a listener field we check; the port stays unset.
  ASSERT_EQ(set.reverse_dns.size(), 1u) << dump(set);
  EXPECT_FALSE(set.reverse_dns[0].port.has_value());
  EXPECT_EQ(set.reverse_dns[0].pod_cidrs.size(), 2u);
}

TEST(ReverseDnsTest, BadCidrIsAnErrorWithTheFieldPath) {
  ConfigSet set =
      loadString(reverseDns("com.aliyun.reverse_dns", "- 10.0.0.0/8\n- 10.0.0.0/40"), "rdns.yaml");
  auto errors = find(set, Severity::kError, "10.0.0.0/40 is not a valid CIDR block");
  ASSERT_EQ(errors.size(), 1u) << dump(set);
  EXPECT_EQ(errors[0]->field_path,
            "spec.configPatches[0].patch.value.typed_config.value.pod_cidrs[1]");
  EXPECT_TRUE(set.reverse_dns.empty());
}

TEST(ReverseDnsTest, BadPortIsAnError) {
  ConfigSet set = loadString(
      reverseDns("com.aliyun.reverse_dns", "- 10.0.0.0/8", "portNumber: 70000"), "rdns.yaml");
  EXPECT_TRUE(hasError(set, "match.listener.portNumber: port number 70000")) << dump(set);
  EXPECT_TRUE(set.reverse_dns.empty());
}

TEST(ReverseDnsTest, NearMissesAreNotRecognised) {
  for (const auto& yaml :
       {reverseDns("com.example.reverse_dns"),
        reverseDns("com.aliyun.reverse_dns", "- 10.0.0.0/8", "portNumber: 8070", "podCidrs")}) {
    ConfigSet set = loadString(yaml, "rdns.yaml");
    EXPECT_TRUE(set.reverse_dns.empty()) << yaml;
    EXPECT_EQ(set.errorCount(), 0u) << dump(set);
    EXPECT_TRUE(hasWarning(set, "EnvoyFilter not applied")) << dump(set);
    EXPECT_TRUE(hasWarning(set, "EnvoyFilter/istio-system/any-spring-cloud-support"));
  }
}

TEST(NacosLuaTest, RecognisesTheSeedShape) {
  ConfigSet set = loadString(nacosLua(), "lua.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.registry_interception.size(), 1u) << dump(set);
  EXPECT_EQ(set.registry_interception[0].port, 8848);
  EXPECT_EQ(set.registry_interception[0].filter_name, "istio-system/nacos-subscribe-lua");
  ConfigSet alt = loadString(nacosLua("envoy.filters.http.lua"), "lua.yaml");
  EXPECT_EQ(alt.registry_interception.size(), 1u) << dump(alt);
}

TEST(NacosLuaTest, NearMissesAreNotRecognised) {
  for (const auto& yaml :
       {nacosLua("envoy.wasm"), nacosLua("envoy.lua", "/nacos/v1/ns/service/list")}) {
    ConfigSet set = loadString(yaml, "lua.yaml");
    EXPECT_TRUE(set.registry_interception.empty()) << yaml;
    EXPECT_TRUE(hasWarning(set, "EnvoyFilter not applied")) << dump(set);
  }
}

TEST(NacosLuaTest, AListPathWithoutTheRewriteIsAWarningNamingTheCode) {
  ConfigSet set = loadString(nacosLua("envoy.lua", "/nacos/v1/ns/instance/list",
                                      "body = string.gsub(body, \"%s+\", \"\")"),
                             "lua.yaml");
  EXPECT_TRUE(set.registry_interception.empty());
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_TRUE(hasWarning(set,
                         "spec.configPatches[0].patch.value.typed_config.inlineCode: patch not "
                         "applied: the Lua handles nacos instance lists but its response side "
                         "rewrites no ip field"))
      << dump(set);
}

// The seed's Nacos shape, spelled for Eureka and Consul (examples/method2/).
TEST(RegistryLuaTest, EurekaAndConsulShapesNameTheirRegistry) {
  struct Case {
    const char* path;
    const char* rewrite;
    const char* registry;
  };
  const Case cases[] = {
      {"/eureka/apps",
       R"lua(instances = string.gsub(instances, '("hostName":")[^"]*', '%1' .. host))lua",
       "eureka"},
      {"/v1/health/service/",
       R"lua(body = string.gsub(body, '("Address":%s*")[^"]*', '%1' .. service))lua", "consul"},
      {"/v1/catalog/service/",
       R"lua(body = string.gsub(body, '("Address":%s*")[^"]*', '%1' .. service))lua", "consul"},
      {"/nacos/v1/ns/instance/list", kSeedIpRewrite, "nacos"},
  };
  for (const Case& c : cases) {
    ConfigSet set = loadString(nacosLua("envoy.lua", c.path, c.rewrite), "lua.yaml");
    EXPECT_EQ(set.errorCount(), 0u) << dump(set);
    EXPECT_EQ(set.warningCount(), 0u) << dump(set);
    ASSERT_EQ(set.registry_interception.size(), 1u) << c.path << dump(set);
    EXPECT_EQ(set.registry_interception[0].registry, c.registry);
    EXPECT_EQ(set.registry_interception[0].port, 8848);
  }
  // Eureka's path with Consul's rewrite: the Lua rewrites no hostName/ipAddr.
  ConfigSet wrong = loadString(
      nacosLua("envoy.lua", "/eureka/apps",
               R"lua(body = string.gsub(body, '("Address":%s*")[^"]*', '%1' .. service))lua"),
      "lua.yaml");
  EXPECT_TRUE(wrong.registry_interception.empty());
  EXPECT_TRUE(hasWarning(wrong, "rewrites no hostName/ipAddr field")) << dump(wrong);
}

std::string nativeInterception(std::string_view value) {
  return "apiVersion: networking.istio.io/v1alpha3\n"
         "kind: EnvoyFilter\n"
         "metadata:\n"
         "  name: eureka-interception\n"
         "  namespace: istio-system\n"
         "spec:\n"
         "  configPatches:\n"
         "  - applyTo: HTTP_FILTER\n"
         "    match:\n"
         "      context: SIDECAR_OUTBOUND\n"
         "      listener:\n"
         "        portNumber: 8761\n"
         "    patch:\n"
         "      operation: INSERT_BEFORE\n"
         "      value:\n"
         "        name: sluice.registry_interception\n"
         "        typed_config:\n"
         "          \"@type\": \"type.googleapis.com/udpa.type.v1.TypedStruct\"\n"
         "          value:\n" +
         testing::indent(value, 12) + "\n";
}

TEST(RegistryInterceptionTest, SluicesOwnShapeNamesTheRegistry) {
  ConfigSet set = loadString(nativeInterception("registry: eureka"), "ri.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.registry_interception.size(), 1u) << dump(set);
  EXPECT_EQ(set.registry_interception[0].registry, "eureka");
  EXPECT_EQ(set.registry_interception[0].port, 8761);
  EXPECT_EQ(set.registry_interception[0].filter_name, "istio-system/eureka-interception");
  EXPECT_EQ(set.registry_interception[0].field_path,
            "spec.configPatches[0].patch.value.typed_config.value.registry");

  ConfigSet missing = loadString(nativeInterception("registy: eureka"), "ri.yaml");
  EXPECT_TRUE(missing.registry_interception.empty());
  EXPECT_TRUE(hasError(missing,
                       "spec.configPatches[0].patch.value.typed_config.value.registry: "
                       "sluice.registry_interception needs the registry's name"))
      << dump(missing);
}

TEST(RegistryInterceptionTest, SluicesOwnShapeAsANetworkFilterForATcpRegistry) {
  std::string yaml = nativeInterception("registry: zookeeper");
  auto replace = [&yaml](std::string_view from, std::string_view to) {
    auto at = yaml.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    yaml.replace(at, from.size(), to);
  };
  replace("applyTo: HTTP_FILTER", "applyTo: NETWORK_FILTER");
  replace("portNumber: 8761", "portNumber: 2181");
  ConfigSet set = loadString(yaml, "zk.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_EQ(set.warningCount(), 0u) << dump(set);
  ASSERT_EQ(set.registry_interception.size(), 1u) << dump(set);
  EXPECT_EQ(set.registry_interception[0].registry, "zookeeper");
  EXPECT_EQ(set.registry_interception[0].port, 2181);

  // The seed's Lua shape is an HTTP filter only: as a network filter it is not recognised.
  std::string lua = nacosLua("envoy.lua", "/nacos/v1/ns/instance/list", kSeedIpRewrite);
  auto at = lua.find("applyTo: HTTP_FILTER");
  ASSERT_NE(at, std::string::npos);
  lua.replace(at, std::string_view("applyTo: HTTP_FILTER").size(), "applyTo: NETWORK_FILTER");
  ConfigSet network_lua = loadString(lua, "lua.yaml");
  EXPECT_TRUE(network_lua.registry_interception.empty()) << dump(network_lua);
  EXPECT_TRUE(hasWarning(network_lua, "not applied")) << dump(network_lua);
}

TEST(RegistryInterceptionTest, SluicesOwnShapeCarriesTheOtherValueKeysAsOptions) {
  ConfigSet set =
      loadString(nativeInterception("registry: zookeeper\nroot: /mesh/services"), "ri.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  ASSERT_EQ(set.registry_interception.size(), 1u) << dump(set);
  EXPECT_EQ(set.registry_interception[0].options,
            (std::map<std::string, std::string>{{"root", "/mesh/services"}}));
  EXPECT_EQ(set.registry_interception[0].options_path,
            "spec.configPatches[0].patch.value.typed_config.value");

  ConfigSet not_string =
      loadString(nativeInterception("registry: zookeeper\nroot: [a]"), "ri.yaml");
  EXPECT_TRUE(not_string.registry_interception.empty());
  EXPECT_TRUE(hasError(not_string,
                       "spec.configPatches[0].patch.value.typed_config.value.root: an "
                       "interception option is a string"))
      << dump(not_string);
}

TEST(RegistryInterceptionTest, TheZooKeeperExampleLoadsCleanly) {
  for (const char* name : {"external-zookeeper-svc.yaml", "zookeeper-interception.yaml"}) {
    std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/examples/registry-interception/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    ConfigSet set = loadString(ss.str(), name);
    EXPECT_EQ(set.errorCount(), 0u) << name << dump(set);
    EXPECT_EQ(set.warningCount(), 0u) << name << dump(set);
  }
}

TEST(EnvoyFilterTest, BasicRules) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef}
spec:
  configPatches:
  - match: {context: ANY}
    patch: {operation: MERGE, value: {}}
  - applyTo: CLUSTER
    patch: {value: {}}
  - applyTo: CLUSTER
    patch: {operation: ADD}
  - applyTo: CLUSTER
)";
  ConfigSet set = loadString(yaml, "ef.yaml");
  EXPECT_TRUE(hasError(set, "Envoy filter: missing applyTo")) << dump(set);
  EXPECT_TRUE(hasError(set, "Envoy filter: missing patch operation"));
  EXPECT_TRUE(hasError(set, "Envoy filter: missing patch value for non-remove operation"));
  EXPECT_TRUE(hasError(set, "spec.configPatches[3].patch: Envoy filter: missing patch"));
}

TEST(EnvoyFilterTest, ValidUnrelatedFilterIsOnlyAWarning) {
  const char* yaml = R"(apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: buffer, namespace: ns1}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    patch:
      operation: INSERT_BEFORE
      value: {name: envoy.filters.http.buffer}
)";
  ConfigSet set = loadString(yaml, "ef.yaml");
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_TRUE(hasWarning(set, "EnvoyFilter/ns1/buffer: spec: EnvoyFilter not applied"))
      << dump(set);
}

}  // namespace
}  // namespace sluice::config
