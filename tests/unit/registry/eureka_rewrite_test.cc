#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/eureka/apps_rewrite.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/model.h"

namespace sluice::registry::eureka {
namespace {

EurekaApplications twoProviders(std::optional<ActionType> action = std::nullopt) {
  EurekaApplications apps;
  EurekaApplication app{"SERVICE-PROVIDER", {}};
  for (int i = 1; i <= 2; ++i) {
    EurekaInstance inst;
    inst.instance_id = "10.0.130." + std::to_string(2 + i) + ":service-provider:8070";
    inst.app = "SERVICE-PROVIDER";
    inst.host_name = "10.0.130." + std::to_string(2 + i);
    inst.ip_addr = inst.host_name;
    inst.port = 8070;
    inst.metadata = {{"label", "v" + std::to_string(i)}};
    inst.action_type = action;
    app.instances.push_back(inst);
  }
  app.instances[1].status = InstanceStatus::kDown;
  apps.applications.push_back(app);
  apps.apps_hashcode = appsHashCode(apps.applications);
  return apps;
}

http::RequestHead get(std::string path) {
  http::RequestHead head;
  head.method = "GET";
  head.target = path;
  head.path = std::move(path);
  head.headers.set("Accept-Encoding", "gzip");
  return head;
}

TEST(EurekaRewrite, JsonHostNameAndIpAddrBecomeTheServiceNameEverythingElseKept) {
  auto doc = nlohmann::json::parse(encodeApplications(twoProviders(), Format::kJson));
  auto& inst0 = doc["applications"]["application"][0]["instance"][0];
  inst0["sid"] = "na";  // a field the codec does not model survives
  doc["applications"]["apps__hashcode"] = "UP_7_";
  auto out = rewriteApplications(doc.dump(), /*full=*/true);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->service, "service-provider");
  EXPECT_EQ(out->addresses_rewritten, 2);
  auto back = nlohmann::json::parse(out->body);
  const auto& instances = back["applications"]["application"][0]["instance"];
  for (const auto& i : instances) {
    EXPECT_EQ(i["hostName"], "service-provider");
    EXPECT_EQ(i["ipAddr"], "service-provider");
    EXPECT_EQ(i["port"]["$"], 8070);
  }
  EXPECT_EQ(instances[0]["sid"], "na");
  EXPECT_EQ(instances[0]["metadata"]["label"], "v1");
  EXPECT_EQ(instances[1]["status"], "DOWN");
  EXPECT_EQ(back["applications"]["apps__hashcode"], "DOWN_1_UP_1_");  // recomputed
}

TEST(EurekaRewrite, DeltaKeepsTheServersHashCodeAndTheClientsCheckAgrees) {
  EurekaApplications full = twoProviders();
  // The server has three instances now; the delta carries the new one.
  EurekaApplications delta = twoProviders(ActionType::kAdded);
  delta.applications[0].instances.erase(delta.applications[0].instances.begin());
  delta.applications[0].instances[0].instance_id = "10.0.130.9:service-provider:8070";
  delta.applications[0].instances[0].status = InstanceStatus::kUp;
  delta.apps_hashcode = "DOWN_1_UP_2_";
  auto full_out = rewriteApplications(encodeApplications(full, Format::kJson), true);
  auto delta_out = rewriteApplications(encodeApplications(delta, Format::kJson), false);
  ASSERT_TRUE(full_out && delta_out);
  auto client_full = decodeApplications(full_out->body);
  auto client_delta = decodeApplications(delta_out->body);
  ASSERT_TRUE(client_full && client_delta);
  EXPECT_EQ(client_delta->apps_hashcode, "DOWN_1_UP_2_");
  // What the Netflix DiscoveryClient does: apply, recompute, compare. Equal: no full re-fetch.
  applyDelta(client_full->applications, *client_delta);
  EXPECT_EQ(appsHashCode(client_full->applications), client_delta->apps_hashcode);
  for (const auto& i : client_full->applications[0].instances) {
    EXPECT_EQ(i.host_name, "service-provider");
  }
}

TEST(EurekaRewrite, SingleApplicationAndInstanceWrittenAsObjects) {
  auto out = rewriteApplications(R"({"applications":{"apps__hashcode":"UP_1_","application":
    {"name":"ORDERS","instance":{"instanceId":"a","hostName":"pod-7","ipAddr":"10.0.0.7",
    "status":"UP","port":{"$":80}}}}})",
                                 true);
  ASSERT_TRUE(out) << out.error().message;
  auto doc = nlohmann::json::parse(out->body);
  EXPECT_EQ(doc["applications"]["application"]["instance"]["hostName"], "orders");
  EXPECT_EQ(doc["applications"]["apps__hashcode"], "UP_1_");
}

TEST(EurekaRewrite, XmlRewritesInPlaceAndRecomputesTheFullHashCode) {
  std::string xml = encodeApplications(twoProviders(), Format::kXml);
  size_t at = xml.find("<apps__hashcode>");
  xml.replace(at, xml.find("</apps__hashcode>") - at, "<apps__hashcode>UP_7_");
  auto out = rewriteApplications(xml, true);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->addresses_rewritten, 2);
  EXPECT_EQ(out->body.find("<hostName>10.0.130."), std::string::npos) << out->body;
  EXPECT_EQ(out->body.find("<ipAddr>10.0.130."), std::string::npos) << out->body;
  EXPECT_NE(out->body.find("<instanceId>10.0.130.3:service-provider:8070</instanceId>"),
            std::string::npos);  // ids are kept
  EXPECT_NE(out->body.find("<apps__hashcode>DOWN_1_UP_1_</apps__hashcode>"), std::string::npos);
  auto back = decodeApplications(out->body);
  ASSERT_TRUE(back) << back.error().message;
  for (const auto& i : back->applications[0].instances) {
    EXPECT_EQ(i.host_name, "service-provider");
    EXPECT_EQ(i.ip_addr, "service-provider");
    EXPECT_EQ(i.port, 8070);
  }
  EXPECT_EQ(back->applications[0].instances[1].metadata.at("label"), "v2");
  // A delta keeps its hash code.
  auto delta = rewriteApplications(
      encodeApplications(twoProviders(ActionType::kModified), Format::kXml), false);
  ASSERT_TRUE(delta);
  EXPECT_NE(delta->body.find("<actionType>MODIFIED</actionType>"), std::string::npos);
}

TEST(EurekaRewrite, OtherAnswersAreRefusedSoTheFilterPassesThemUnchanged) {
  for (const char* body : {"", "Not Found", "{\"instance\":{}}", "[1,2]", "<instance/>",
                           "<applications><application>"}) {
    auto out = rewriteApplications(body, true);
    EXPECT_FALSE(out) << body;
  }
}

TEST(EurekaRewrite, AppliesToFullAndDeltaFetchesOnlyAndAsksForAnUncompressedAnswer) {
  AppsRewriter rewriter;
  EXPECT_EQ(rewriter.registry(), "eureka");
  for (const char* path : {"/eureka/apps", "/eureka/apps/", "/eureka/apps/delta",
                           "/eureka/v2/apps/?regions=eu", "/eureka/apps/delta?x=1"}) {
    EXPECT_TRUE(rewriter.appliesTo(get(path))) << path;
  }
  for (const char* path : {"/eureka/apps/SERVICE-PROVIDER", "/eureka/apps/A/i", "/nacos/v1/ns",
                           "/eureka/instances/x"}) {
    EXPECT_FALSE(rewriter.appliesTo(get(path))) << path;
  }
  http::RequestHead post = get("/eureka/apps/");
  post.method = "POST";
  EXPECT_FALSE(rewriter.appliesTo(post));
  http::RequestHead head = get("/eureka/apps/");
  rewriter.prepareRequest(head);
  EXPECT_FALSE(head.headers.has("Accept-Encoding"));
  http::ResponseHead response;
  auto out = rewriter.rewriteResponseBody(get("/eureka/apps/delta"), response,
                                          encodeApplications(twoProviders(), Format::kJson));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->addresses_rewritten, 2);
}

}  // namespace
}  // namespace sluice::registry::eureka
