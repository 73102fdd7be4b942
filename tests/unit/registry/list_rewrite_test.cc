#include "registry/nacos/list_rewrite.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::registry::nacos {
namespace {

constexpr const char* kList =
    R"({"dom":"DEFAULT_GROUP@@service-provider","name":"DEFAULT_GROUP@@service-provider",
 "cacheMillis":10000,"clusters":"DEFAULT","hosts":[
 {"ip":"10.0.0.11","port":8070,"valid":true,"healthy":true,"weight":1.0,"enabled":true,
  "metadata":{"label":"v1"}},
 {"ip":"10.0.0.12","port":8070,"valid":true,"healthy":false,"weight":2.0,"enabled":true,
  "metadata":{"label":"v2"}}]})";

TEST(NacosListRewrite, IpsBecomeTheMeshHostEverythingElseKept) {
  auto r = rewriteInstanceList(kList);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->service, "service-provider");
  EXPECT_EQ(r->hosts_rewritten, 2);
  auto doc = nlohmann::json::parse(r->body);
  EXPECT_EQ(doc["name"], "DEFAULT_GROUP@@service-provider");
  EXPECT_EQ(doc["clusters"], "DEFAULT");
  EXPECT_EQ(doc["hosts"][0]["ip"], "service-provider");
  EXPECT_EQ(doc["hosts"][1]["ip"], "service-provider");
  EXPECT_EQ(doc["hosts"][0]["port"], 8070);
  EXPECT_EQ(doc["hosts"][1]["healthy"], false);
  EXPECT_EQ(doc["hosts"][1]["weight"], 2.0);
  EXPECT_EQ(doc["hosts"][0]["metadata"]["label"], "v1");
  // Field order is the registry's.
  EXPECT_LT(r->body.find("\"dom\""), r->body.find("\"hosts\""));
}

TEST(NacosListRewrite, ExplicitMeshHostAndEmptyLists) {
  auto r = rewriteInstanceList(kList, "service-provider.default.svc.cluster.local");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("\"ip\":\"service-provider.default.svc.cluster.local\""),
            std::string::npos);
  auto empty = rewriteInstanceList(R"({"name":"G@@svc","clusters":"","hosts":[]})");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->hosts_rewritten, 0);
  EXPECT_EQ(empty->service, "svc");
}

TEST(NacosListRewrite, NonListsAreRejectedSoTheOriginalIsForwarded) {
  EXPECT_FALSE(rewriteInstanceList("not json"));
  EXPECT_FALSE(rewriteInstanceList("[1,2]"));
  EXPECT_FALSE(rewriteInstanceList(R"({"name":"x"})"));
  EXPECT_FALSE(rewriteInstanceList(R"({"hosts":[]})"));
  EXPECT_FALSE(rewriteInstanceList(R"({"name":"x","hosts":[{"port":1}]})"));
  EXPECT_FALSE(rewriteInstanceList(R"({"name":"x","hosts":[5]})"));
}

TEST(NacosListRewrite, RecognisesTheInstanceListRequest) {
  EXPECT_TRUE(isInstanceListRequest("GET", "/nacos/v1/ns/instance/list?serviceName=a"));
  EXPECT_TRUE(isInstanceListRequest("GET", "http://10.0.0.5:8848/nacos/v1/ns/instance/list?x=1"));
  EXPECT_FALSE(isInstanceListRequest("GET", "/nacos/v1/ns/instance/listing"));
  EXPECT_FALSE(isInstanceListRequest("GET", "/nacos/v1/ns/instance"));
  EXPECT_FALSE(isInstanceListRequest("DELETE", "/nacos/v1/ns/instance/list"));
}

TEST(NacosListRewrite, UdpPushIsTurnedOff) {
  EXPECT_EQ(disableUdpPush("/nacos/v1/ns/instance/list?serviceName=a&udpPort=55123&x=1"),
            "/nacos/v1/ns/instance/list?serviceName=a&udpPort=0&x=1");
  EXPECT_EQ(disableUdpPush("/nacos/v1/ns/instance/list?serviceName=a"),
            "/nacos/v1/ns/instance/list?serviceName=a&udpPort=0");
  EXPECT_EQ(disableUdpPush("/nacos/v1/ns/instance/list"), "/nacos/v1/ns/instance/list?udpPort=0");
  EXPECT_EQ(ungroupedName("DEFAULT_GROUP@@svc"), "svc");
  EXPECT_EQ(ungroupedName("svc"), "svc");
}

}  // namespace
}  // namespace sluice::registry::nacos
