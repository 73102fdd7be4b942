// Method 2 for Consul: health and catalog lookups come back with every address = the service name.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/consul/rewrite.h"
#include "registry/plugins.h"

namespace sluice::registry::consul {
namespace {

using Json = nlohmann::json;

// A /v1/health/service answer as Consul writes it (registries.md §4.2), two instances.
constexpr const char* kHealth = R"([
 {"Node": {"ID": "n1", "Node": "node-1", "Address": "10.0.0.5", "Datacenter": "dc1",
           "TaggedAddresses": {"lan": "10.0.0.5", "wan": "192.0.2.5"}, "Meta": {}},
  "Service": {"ID": "service-provider-8070", "Service": "service-provider", "Tags": ["label=v1"],
              "Address": "10.0.0.11", "Meta": {"label": "v1"}, "Port": 8070,
              "TaggedAddresses": {"lan_ipv4": {"Address": "10.0.0.11", "Port": 8070}},
              "Weights": {"Passing": 1, "Warning": 1}, "Extra": "kept"},
  "Checks": [{"CheckID": "serfHealth", "Status": "passing", "ServiceName": ""}]},
 {"Node": {"Node": "node-1", "Address": "10.0.0.5"},
  "Service": {"ID": "service-provider-8071", "Service": "service-provider", "Address": "",
              "Meta": {"label": "v2"}, "Port": 8071},
  "Checks": []}
])";

http::RequestHead get(std::string target) {
  http::RequestHead head;
  head.method = "GET";
  head.target = target;
  head.path = target.substr(0, target.find('?'));
  head.headers.set("Accept-Encoding", "gzip");
  head.headers.set("X-Consul-Token", "secret");
  return head;
}

TEST(ConsulRewrite, HealthAddressesBecomeTheServiceNameEverythingElseKept) {
  auto out = rewriteServiceLookup(kHealth, "service-provider");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->addresses_rewritten, 2);
  Json doc = Json::parse(out->body);
  Json want = Json::parse(kHealth);
  want[0]["Node"]["Address"] = "service-provider";
  want[0]["Node"]["TaggedAddresses"] = {{"lan", "service-provider"}, {"wan", "service-provider"}};
  want[0]["Service"]["Address"] = "service-provider";
  want[0]["Service"]["TaggedAddresses"]["lan_ipv4"]["Address"] = "service-provider";
  // An empty Service.Address stays empty: the client falls back to Node.Address, rewritten too.
  want[1]["Node"]["Address"] = "service-provider";
  EXPECT_EQ(doc, want);
  // The key order is Consul's (ordered rewrite): Node first, ID before Service.
  EXPECT_LT(out->body.find("\"Node\""), out->body.find("\"Service\""));
}

TEST(ConsulRewrite, CatalogAddressesBecomeTheServiceName) {
  const char* catalog = R"([{"ID": "n1", "Node": "node-1", "Address": "10.0.0.5",
    "TaggedAddresses": {"lan": "10.0.0.5"}, "ServiceID": "p1", "ServiceName": "service-provider",
    "ServiceAddress": "10.0.0.11", "ServicePort": 8070,
    "ServiceTaggedAddresses": {"lan_ipv4": {"Address": "10.0.0.11", "Port": 8070}},
    "ServiceMeta": {"label": "v1"}}])";
  auto out = rewriteServiceLookup(catalog, "other");
  ASSERT_TRUE(out) << out.error().message;
  Json e = Json::parse(out->body)[0];
  EXPECT_EQ(e["Address"], "service-provider") << "the entry's ServiceName wins over the path";
  EXPECT_EQ(e["ServiceAddress"], "service-provider");
  EXPECT_EQ(e["TaggedAddresses"]["lan"], "service-provider");
  EXPECT_EQ(e["ServiceTaggedAddresses"]["lan_ipv4"]["Address"], "service-provider");
  EXPECT_EQ(e["ServicePort"], 8070);
  EXPECT_EQ(e["ServiceMeta"]["label"], "v1");
}

TEST(ConsulRewrite, AnEmptyListStaysEmptyAndNonListsAreErrors) {
  auto empty = rewriteServiceLookup("[]", "service-provider");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->body, "[]");
  for (const char* bad : {"not json", R"({"service-provider": []})", "[1]", R"([{"Node": {}}])"}) {
    auto out = rewriteServiceLookup(bad, "");
    EXPECT_FALSE(out) << bad;
  }
}

TEST(ConsulRewrite, AppliesToHealthAndCatalogLookupsOnlyAndLeavesTheQueryAlone) {
  ServiceLookupRewriter rw;
  EXPECT_TRUE(
      rw.appliesTo(get("/v1/health/service/service-provider?passing=true&index=7&wait=2s")));
  EXPECT_TRUE(rw.appliesTo(get("/v1/catalog/service/service-provider")));
  EXPECT_FALSE(rw.appliesTo(get("/v1/catalog/services?index=3")));
  EXPECT_FALSE(rw.appliesTo(get("/v1/health/service/")));
  EXPECT_FALSE(rw.appliesTo(get("/v1/health/checks/service-provider")));
  EXPECT_FALSE(rw.appliesTo(get("/v1/agent/services")));
  auto put = get("/v1/health/service/service-provider");
  put.method = "PUT";
  EXPECT_FALSE(rw.appliesTo(put));

  auto head = get("/v1/health/service/service-provider?passing=true&index=7&wait=2s");
  rw.prepareRequest(head);
  EXPECT_EQ(head.target, "/v1/health/service/service-provider?passing=true&index=7&wait=2s");
  EXPECT_FALSE(head.headers.get("Accept-Encoding").has_value());
  EXPECT_EQ(head.headers.get("X-Consul-Token"), "secret");

  // The name of the path is decoded when the entries do not name the service.
  auto out = rw.rewriteResponseBody(get("/v1/catalog/service/my%2Dsvc"), http::ResponseHead{},
                                    R"([{"Address": "10.0.0.5"}])");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(Json::parse(out->body)[0]["Address"], "my-svc");
}

TEST(ConsulRewrite, ThePluginOffersIt) {
  const Plugin* p = findPlugin("consul");
  ASSERT_NE(p, nullptr);
  ASSERT_NE(p->rewriter, nullptr);
  EXPECT_EQ(p->rewriter->registry(), "consul");
}

}  // namespace
}  // namespace sluice::registry::consul
