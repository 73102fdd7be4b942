#include <gtest/gtest.h>

#include "registry/nacos/grpc_codec.h"
#include "registry/nacos/grpc_rewrite.h"
#include "registry/nacos/payload_wire.h"

namespace sluice::registry::nacos {
namespace {

Json serviceInfo() {
  return Json::parse(R"({"name":"service-provider","groupName":"DEFAULT_GROUP","clusters":"",
    "cacheMillis":10000,"hosts":[
    {"instanceId":"10.0.130.3#8070#DEFAULT#DEFAULT_GROUP@@service-provider","ip":"10.0.130.3",
     "port":8070,"weight":1.0,"healthy":true,"enabled":true,"ephemeral":true,
     "clusterName":"DEFAULT","serviceName":"DEFAULT_GROUP@@service-provider",
     "metadata":{"label":"v1"}},
    {"instanceId":"10.0.130.4#8070#DEFAULT#DEFAULT_GROUP@@service-provider","ip":"10.0.130.4",
     "port":8070,"weight":2.0,"healthy":false,"enabled":true,"ephemeral":true,
     "clusterName":"DEFAULT","serviceName":"DEFAULT_GROUP@@service-provider",
     "metadata":{"label":"v2"}}],"lastRefTime":1,"checksum":"","allIPs":false,"reachProtectionThreshold":false,"valid":true})");
}

std::string payload(const std::string& type, Json body) {
  GrpcMessage m;
  m.type = type;
  m.body = std::move(body);
  return encodePayload(m);
}

GrpcMessage decoded(const std::string& bytes) {
  auto m = decodePayload(bytes);
  EXPECT_TRUE(m) << m.error().message;
  return m ? *m : GrpcMessage{};
}

void expectHostsRewritten(const Json& info) {
  ASSERT_EQ(info["hosts"].size(), 2u);
  for (const auto& h : info["hosts"]) {
    EXPECT_EQ(h["ip"], "service-provider");
    EXPECT_EQ(h["instanceId"], "service-provider#8070#DEFAULT#DEFAULT_GROUP@@service-provider");
    EXPECT_EQ(h["port"], 8070);
  }
  EXPECT_EQ(info["hosts"][0]["metadata"]["label"], "v1");
  EXPECT_EQ(info["hosts"][1]["healthy"], false);
  EXPECT_EQ(info["hosts"][1]["weight"], 2.0);
  EXPECT_EQ(info["name"], "service-provider");
  EXPECT_EQ(info["groupName"], "DEFAULT_GROUP");
}

TEST(NacosGrpcRewrite, AnswersAndPushesCarryTheServiceNameInsteadOfPodAddresses) {
  for (const char* type :
       {"QueryServiceResponse", "SubscribeServiceResponse", "NotifySubscriberRequest"}) {
    SCOPED_TRACE(type);
    Json body = {{"resultCode", 200}, {"requestId", "7"}, {"serviceInfo", serviceInfo()}};
    auto r = rewriteServerPayload(payload(type, body));
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->has_value());
    EXPECT_EQ((*r)->type, type);
    EXPECT_EQ((*r)->service, "service-provider");
    EXPECT_EQ((*r)->addresses_rewritten, 2);
    GrpcMessage m = decoded((*r)->payload);
    EXPECT_EQ(m.type, type);
    EXPECT_EQ(m.body["requestId"], "7");  // the client matches the ack / answer by it
    expectHostsRewritten(m.body["serviceInfo"]);
    // Field order kept: the client sees the same document but for the addresses.
    EXPECT_EQ(m.body.begin().key(), "resultCode");
    EXPECT_EQ(m.body["serviceInfo"].begin().key(), "name");
  }
}

TEST(NacosGrpcRewrite, FieldsANewerNacosAddsSurviveTheRewrite) {
  Json body = {{"resultCode", 200}, {"requestId", "7"}, {"serviceInfo", serviceInfo()}};
  auto wire = parsePayloadWire(payload("QueryServiceResponse", body));
  ASSERT_TRUE(wire) << wire.error().message;
  // Unknown to this codec (fields 20, 9 and 4 are not in nacos_grpc_service.proto).
  wire->unknown_fields = std::string("\xa0\x01\x05", 3);               // field 20, varint 5
  wire->metadata_unknown_fields = std::string("\x4a\x02hi", 4);        // field 9, "hi"
  wire->body_unknown_fields = std::string("\x25\x01\x02\x03\x04", 5);  // field 4, fixed32
  auto r = rewriteServerPayload(serializePayloadWire(*wire));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  auto rewritten = parsePayloadWire((*r)->payload);
  ASSERT_TRUE(rewritten) << rewritten.error().message;
  EXPECT_EQ(rewritten->unknown_fields, wire->unknown_fields);
  EXPECT_EQ(rewritten->metadata_unknown_fields, wire->metadata_unknown_fields);
  EXPECT_EQ(rewritten->body_unknown_fields, wire->body_unknown_fields);
  expectHostsRewritten(decoded((*r)->payload).body["serviceInfo"]);
}

TEST(NacosGrpcRewrite, GroupedNamesAndMissingNameFallBackToTheUngroupedService) {
  Json info = serviceInfo();
  info["name"] = "DEFAULT_GROUP@@service-provider";
  auto r = rewriteServerPayload(payload("QueryServiceResponse", {{"serviceInfo", info}}));
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ(decoded((*r)->payload).body["serviceInfo"]["hosts"][0]["ip"], "service-provider");

  info.erase("name");
  r = rewriteServerPayload(payload("NotifySubscriberRequest",
                                   {{"serviceName", "service-provider"}, {"serviceInfo", info}}));
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->service, "service-provider");
}

TEST(NacosGrpcRewrite, ConnectResetLosesItsServerAddress) {
  auto r =
      rewriteServerPayload(payload("ConnectResetRequest", {{"serverIp", "10.0.130.9"},
                                                           {"serverPort", "9848"},
                                                           {"connectionId", "1_10.0.130.4_41000"},
                                                           {"requestId", "3"}}));
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->addresses_rewritten, 2);
  GrpcMessage m = decoded((*r)->payload);
  EXPECT_FALSE(m.body.contains("serverIp"));
  EXPECT_FALSE(m.body.contains("serverPort"));
  EXPECT_EQ(m.body["requestId"], "3");
}

TEST(NacosGrpcRewrite, EverythingElsePassesUnchanged) {
  // Other types, and rewritten types with nothing to hide: nullopt = the original bytes go on.
  for (const auto& [type, body] : std::vector<std::pair<std::string, Json>>{
           {"ServerCheckResponse", {{"connectionId", "1_10.0.130.4_41000"}}},
           {"HealthCheckResponse", {{"resultCode", 200}}},
           {"InstanceResponse", {{"type", "registerInstance"}}},
           {"ConfigQueryResponse", {{"content", "ip: 10.0.0.1"}}},
           {"SetupAckRequest", {{"abilityTable", Json::object()}}},
           {"QueryServiceResponse", {{"resultCode", 500}, {"errorCode", 21}}},
           {"NotifySubscriberRequest", {{"serviceInfo", {{"name", "s"}, {"hosts", nullptr}}}}},
           {"SubscribeServiceResponse",
            {{"serviceInfo", {{"name", "s"}, {"hosts", Json::array()}}}}},
           {"ConnectResetRequest", {{"requestId", "1"}}},
       }) {
    SCOPED_TRACE(type);
    auto r = rewriteServerPayload(payload(type, body));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_value());
  }
}

TEST(NacosGrpcRewrite, UnreadableMessagesAreErrorsThatPassUnchanged) {
  EXPECT_FALSE(rewriteServerPayload("\x12\x05garbage"));
  GrpcMessage m;
  m.type = "QueryServiceResponse";
  m.body = {{"serviceInfo", {{"name", "s"}, {"hosts", {{{"port", 1}}}}}}};
  auto r = rewriteServerPayload(encodePayload(m));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no \"ip\""), std::string::npos) << r.error().message;

  GrpcPayloadRewriter rewriter;
  EXPECT_FALSE(rewriter.rewriteServerMessage("\x12\x05garbage"));
}

TEST(NacosGrpcRewrite, PluginInterface) {
  GrpcPayloadRewriter rewriter;
  EXPECT_EQ(rewriter.registry(), "nacos");
  EXPECT_EQ(rewriter.grpcPort(8848), 9848);
  EXPECT_EQ(rewriter.grpcPort(std::nullopt), 9848);
  EXPECT_EQ(rewriter.grpcPort(8000), 9000);
  EXPECT_TRUE(rewriter.appliesTo("/Request/request"));
  EXPECT_TRUE(rewriter.appliesTo("/BiRequestStream/requestBiStream"));
  EXPECT_FALSE(rewriter.appliesTo("/grpc.health.v1.Health/Check"));
  auto r = rewriter.rewriteServerMessage(
      payload("SubscribeServiceResponse", {{"serviceInfo", serviceInfo()}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->service, "service-provider");
  EXPECT_EQ(r->addresses_rewritten, 2);
}

}  // namespace
}  // namespace sluice::registry::nacos
