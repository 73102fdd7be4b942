#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/url.h"
#include "registry/nacos/naming_api.h"

namespace sluice::registry::nacos {
namespace {

using nlohmann::json;

constexpr const char* kNodeUa = "Nacos-Java-Client:v1.0.0";  // what the Node SDK sends

http::Request request(std::string method, std::string target, std::string body = "",
                      std::string content_type = "", std::string user_agent = kNodeUa) {
  http::Request r;
  r.head.method = std::move(method);
  r.head.target = target;
  r.head.path = std::move(target);
  if (!user_agent.empty()) r.head.headers.add("User-Agent", user_agent);
  if (!content_type.empty()) r.head.headers.add("Content-Type", content_type);
  r.head.headers.add("Host", "127.0.0.1:8848");
  r.body = std::move(body);
  return r;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest()
      : store_(StoreOptions{}, std::make_unique<MemorySnapshotStorage>(), [this] { return now_; }),
        api_(store_) {}

  http::Response call(std::string method, std::string target, std::string body = "",
                      std::string content_type = "", std::string user_agent = kNodeUa) {
    return api_.handle(request(std::move(method), std::move(target), std::move(body),
                               std::move(content_type), std::move(user_agent)));
  }
  json callJson(std::string method, std::string target, std::string user_agent = kNodeUa) {
    auto r = call(std::move(method), std::move(target), "", "", std::move(user_agent));
    EXPECT_EQ(r.head.status, 200) << r.body;
    EXPECT_EQ(r.head.headers.get("Content-Type").value_or(""), "application/json;charset=UTF-8");
    return json::parse(r.body);
  }
  // Registers like the Node SDK does: every parameter in the query string of a POST.
  void registerNodeStyle(const std::string& ip, int port, const std::string& extra = "") {
    std::string metadata = http::percentEncode(R"({"label":"v1","version":"v1"})");
    auto r =
        call("POST",
             "/nacos/v1/ns/instance?namespaceId=public&serviceName=DEFAULT_GROUP%40%40"
             "service-provider&groupName=DEFAULT_GROUP&clusterName=DEFAULT&ip=" +
                 ip + "&port=" + std::to_string(port) +
                 "&weight=1&enable=true&healthy=true&ephemeral=true&metadata=" + metadata + extra);
    ASSERT_EQ(r.head.status, 200) << r.body;
    EXPECT_EQ(r.body, "ok");
  }

  int64_t now_ = 1'700'000'000'000;
  NamingStore store_;
  NamingApi api_;
};

TEST_F(ApiTest, InstanceListHasTheUnionShapeAndEchoesNameAndClusters) {
  registerNodeStyle("10.0.0.11", 8070);
  json doc =
      callJson("GET",
               "/nacos/v1/ns/instance/list?namespaceId=public&serviceName=DEFAULT_GROUP%40%40"
               "service-provider&clusters=&udpPort=55000&clientIP=10.0.0.1&healthyOnly=false");
  EXPECT_EQ(doc["dom"], "DEFAULT_GROUP@@service-provider");
  EXPECT_EQ(doc["name"], "DEFAULT_GROUP@@service-provider");
  EXPECT_EQ(doc["groupName"], "DEFAULT_GROUP");
  EXPECT_EQ(doc["clusters"], "");
  EXPECT_EQ(doc["cacheMillis"], 3000);  // no UDP push: clients poll at the pull cadence
  EXPECT_EQ(doc["lastRefTime"], now_);
  EXPECT_EQ(doc["checksum"].get<std::string>().size(), 32u);
  EXPECT_EQ(doc["useSpecifiedURL"], false);
  EXPECT_EQ(doc["env"], "");
  EXPECT_EQ(doc["metadata"], json::object());
  EXPECT_EQ(doc["allIPs"], false);
  EXPECT_EQ(doc["reachProtectionThreshold"], false);
  EXPECT_EQ(doc["valid"], true);
  ASSERT_EQ(doc["hosts"].size(), 1u);
  json expected_host = {
      {"ip", "10.0.0.11"},
      {"port", 8070},
      {"valid", true},
      {"healthy", true},
      {"marked", false},
      {"instanceId", "10.0.0.11#8070#DEFAULT#DEFAULT_GROUP@@service-provider"},
      {"metadata", {{"label", "v1"}, {"version", "v1"}}},
      {"enabled", true},
      {"weight", 1.0},
      {"clusterName", "DEFAULT"},
      {"serviceName", "DEFAULT_GROUP@@service-provider"},
      {"ephemeral", true},
      {"instanceHeartBeatInterval", 5000},
      {"instanceHeartBeatTimeOut", 15000},
      {"ipDeleteTimeout", 30000},
      {"instanceIdGenerator", "simple"},
  };
  EXPECT_EQ(doc["hosts"][0], expected_host);
  // weight is a JSON double, like Jackson writes it
  auto raw = call("GET", "/nacos/v1/ns/instance/list?serviceName=service-provider").body;
  EXPECT_NE(raw.find("\"weight\":1.0"), std::string::npos) << raw;
}

// Found by fuzzing (tests/fuzz/corpus/nacos_params/regress-non-utf8-service-name): a service
// name that is not UTF-8 made the JSON answer throw, which ended the whole registry process.
TEST_F(ApiTest, ServiceNameThatIsNotUtf8IsAnsweredNotThrown) {
  auto r = call("GET", "/nacos/v1/ns/instance/list?serviceName=svc%80%FF");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_TRUE(json::accept(r.body)) << r.body;
  EXPECT_EQ(
      call("POST", "/nacos/v1/ns/instance?serviceName=svc%80&ip=10.0.0.1&port=80").head.status,
      200);
  r = call("GET", "/nacos/v1/ns/instance/list?serviceName=svc%80");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_TRUE(json::accept(r.body)) << r.body;
}

TEST_F(ApiTest, ClustersFilterIsAppliedAndEchoedVerbatim) {
  registerNodeStyle("10.0.0.11", 8070);
  registerNodeStyle("10.0.0.12", 8070, "");
  auto r = call("POST",
                "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.13&port=8070&"
                "clusterName=EDGE");
  ASSERT_EQ(r.head.status, 200);
  // subscribe() in the Node SDK asks for clusters=DEFAULT, getAllInstances for clusters=''.
  json def = callJson("GET",
                      "/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40"
                      "service-provider&clusters=DEFAULT");
  EXPECT_EQ(def["clusters"], "DEFAULT");
  EXPECT_EQ(def["hosts"].size(), 2u);
  json all = callJson("GET",
                      "/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40"
                      "service-provider&clusters=");
  EXPECT_EQ(all["clusters"], "");
  EXPECT_EQ(all["hosts"].size(), 3u);
  json both = callJson("GET",
                       "/nacos/v1/ns/instance/list?serviceName=service-provider&"
                       "clusters=EDGE,DEFAULT");
  EXPECT_EQ(both["clusters"], "EDGE,DEFAULT");
  EXPECT_EQ(both["hosts"].size(), 3u);
}

TEST_F(ApiTest, UnknownServiceListsNoHostsWithTheRequestedName) {
  json doc = callJson("GET",
                      "/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40nobody&"
                      "clusters=DEFAULT");
  EXPECT_EQ(doc["name"], "DEFAULT_GROUP@@nobody");
  EXPECT_EQ(doc["clusters"], "DEFAULT");
  EXPECT_EQ(doc["hosts"], json::array());
  EXPECT_EQ(doc["cacheMillis"], 3000);
}

TEST_F(ApiTest, AgentsOtherThanJavaGetUngroupedDomAndServiceName) {
  registerNodeStyle("10.0.0.11", 8070);
  json doc = callJson("GET", "/nacos/v1/ns/instance/list?serviceName=service-provider", "curl/8.0");
  EXPECT_EQ(doc["dom"], "service-provider");
  EXPECT_EQ(doc["name"], "DEFAULT_GROUP@@service-provider");
  EXPECT_EQ(doc["hosts"][0]["serviceName"], "service-provider");
}

TEST_F(ApiTest, DisabledInstancesAreNeverListedAndHealthyOnlyDropsUnhealthyOnes) {
  registerNodeStyle("10.0.0.11", 8070);
  registerNodeStyle("10.0.0.12", 8070, "");
  registerNodeStyle("10.0.0.13", 8070, "");
  auto patch = call("PATCH",
                    "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.12&"
                    "port=8070&enabled=false");
  ASSERT_EQ(patch.head.status, 200) << patch.body;
  patch = call("PATCH",
               "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.13&"
               "port=8070&healthy=false");
  ASSERT_EQ(patch.head.status, 200) << patch.body;

  json all = callJson("GET", "/nacos/v1/ns/instance/list?serviceName=service-provider");
  ASSERT_EQ(all["hosts"].size(), 2u);
  EXPECT_EQ(all["hosts"][0]["ip"], "10.0.0.11");
  EXPECT_EQ(all["hosts"][1]["ip"], "10.0.0.13");
  EXPECT_EQ(all["hosts"][1]["healthy"], false);
  EXPECT_EQ(all["hosts"][1]["valid"], false);
  json healthy = callJson("GET",
                          "/nacos/v1/ns/instance/list?serviceName=service-provider&"
                          "healthyOnly=true");
  ASSERT_EQ(healthy["hosts"].size(), 1u);
  EXPECT_EQ(healthy["hosts"][0]["ip"], "10.0.0.11");
}

TEST_F(ApiTest, ProtectThresholdWhenEnabledAnswersEveryoneHealthy) {
  NamingApi protecting(store_, ApiOptions{3000, 0.5});
  registerNodeStyle("10.0.0.11", 8070);
  registerNodeStyle("10.0.0.12", 8070, "");
  ASSERT_EQ(call("PATCH",
                 "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.12&"
                 "port=8070&healthy=false")
                .head.status,
            200);
  auto r =
      protecting.handle(request("GET", "/nacos/v1/ns/instance/list?serviceName=service-provider"));
  json doc = json::parse(r.body);
  EXPECT_EQ(doc["reachProtectionThreshold"], true);
  EXPECT_EQ(doc["hosts"][1]["healthy"], true);
}

TEST_F(ApiTest, JavaClientStyleQueryPlusFormBodyIsMerged) {
  auto r = call("POST", "/nacos/v1/ns/instance?serviceName=DEFAULT_GROUP%40%40svc&ip=10.0.0.5",
                "port=9000&metadata=%7B%22version%22%3A%22v2%22%7D&ip=10.9.9.9",
                "application/x-www-form-urlencoded; charset=UTF-8");
  ASSERT_EQ(r.head.status, 200) << r.body;
  // The query's ip wins over the body's (servlet getParameter returns the first value).
  const NamingInstance* inst =
      store_.findInstance("public", "DEFAULT_GROUP@@svc", {"DEFAULT", "10.0.0.5", 9000});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->metadata.at("version"), "v2");
}

TEST_F(ApiTest, DeregisterWithTheUngroupedNameLikeTheNodeSdk) {
  registerNodeStyle("10.0.0.11", 8070);
  auto r = call("DELETE",
                "/nacos/v1/ns/instance?namespaceId=public&serviceName=service-provider&"
                "clusterName=DEFAULT&ip=10.0.0.11&port=8070&ephemeral=true");
  ASSERT_EQ(r.head.status, 200) << r.body;
  EXPECT_EQ(r.body, "ok");
  EXPECT_EQ(store_.findService("public", "DEFAULT_GROUP@@service-provider"), nullptr);
  // Unknown service: still ok, like the real server.
  EXPECT_EQ(call("DELETE", "/nacos/v1/ns/instance?serviceName=x&ip=10.0.0.1&port=1").body, "ok");
}

TEST_F(ApiTest, NamespacesAreSeparate) {
  registerNodeStyle("10.0.0.11", 8070, "");
  auto r = call("POST",
                "/nacos/v1/ns/instance?namespaceId=dev&serviceName=service-provider&"
                "ip=10.0.0.99&port=1");
  ASSERT_EQ(r.head.status, 200);
  json pub = callJson("GET", "/nacos/v1/ns/instance/list?serviceName=service-provider");
  json dev = callJson("GET",
                      "/nacos/v1/ns/instance/list?namespaceId=dev&"
                      "serviceName=service-provider");
  ASSERT_EQ(pub["hosts"].size(), 1u);
  ASSERT_EQ(dev["hosts"].size(), 1u);
  EXPECT_EQ(dev["hosts"][0]["ip"], "10.0.0.99");
}

TEST_F(ApiTest, BadRequestsGet400WithCausedMessageAndWriteNothing) {
  struct Case {
    std::string target;
    std::string message_part;
  };
  std::vector<Case> cases = {
      {"/nacos/v1/ns/instance?ip=10.0.0.1&port=1", "caused: Param 'serviceName' is required.;"},
      {"/nacos/v1/ns/instance?serviceName=s&port=1", "caused: Param 'ip' is required.;"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1", "caused: Param 'port' is required.;"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=0", "Param 'port'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=http", "Param 'port'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.300&port=1", "Param 'ip'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=a%23b&port=1", "Param 'ip'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=1&weight=heavy", "Param 'weight'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=1&weight=10001", "Param 'weight'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=1&healthy=maybe", "Param 'healthy'"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=1&metadata=%7Bbad", "metadata"},
      {"/nacos/v1/ns/instance?serviceName=%40%40s&ip=10.0.0.1&port=1", "groupName can't be empty"},
      {"/nacos/v1/ns/instance?serviceName=s&ip=10.0.0.1&port=1&clusterName=a%2Cb", "clusterName"},
      {"/nacos/v1/ns/instance?serviceName=s%ZZ&ip=10.0.0.1&port=1", "serviceName"},
  };
  for (const auto& c : cases) {
    auto r = call("POST", c.target);
    EXPECT_EQ(r.head.status, 400) << c.target << " -> " << r.body;
    EXPECT_TRUE(r.body.starts_with("caused: ")) << r.body;
    EXPECT_TRUE(r.body.ends_with(";")) << r.body;
    EXPECT_NE(r.body.find(c.message_part), std::string::npos) << c.target << " -> " << r.body;
  }
  EXPECT_EQ(store_.serviceCount(), 0u);
}

TEST_F(ApiTest, BeatForUnknownInstanceWithoutBodyAnswers20404) {
  auto r = call("PUT",
                "/nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP%40%40svc&"
                "ip=10.0.0.1&port=8070");
  ASSERT_EQ(r.head.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body), json::parse(R"({"clientBeatInterval":5000,"code":20404})"));
}

TEST_F(ApiTest, NodeSdkBeatInQueryReRegistersAndAnswersOk) {
  json beat = {{"serviceName", "DEFAULT_GROUP@@svc"},
               {"ip", "10.0.0.1"},
               {"port", 8070},
               {"cluster", "DEFAULT"},
               {"weight", 1},
               {"metadata", {{"version", "v1"}}},
               {"scheduled", true}};
  auto r = call("PUT", "/nacos/v1/ns/instance/beat?beat=" + http::percentEncode(beat.dump()) +
                           "&namespaceId=public&serviceName=DEFAULT_GROUP%40%40svc");
  ASSERT_EQ(r.head.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"clientBeatInterval":5000,"code":10200,"lightBeatEnabled":true})"));
  const NamingInstance* inst =
      store_.findInstance("public", "DEFAULT_GROUP@@svc", {"DEFAULT", "10.0.0.1", 8070});
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->metadata.at("version"), "v1");
}

TEST_F(ApiTest, JavaBeatInFormBodyKeepsTheInstanceAliveAndEchoesItsInterval) {
  auto reg = call("POST", "/nacos/v1/ns/instance?serviceName=svc&ip=10.0.0.1&port=8070&metadata=" +
                              http::percentEncode(R"({"preserved.heart.beat.interval":"2000"})"));
  ASSERT_EQ(reg.head.status, 200) << reg.body;
  now_ += 16'000;
  store_.sweep();
  json beat = {{"ip", "10.0.0.1"},     {"port", 8070},   {"serviceName", "DEFAULT_GROUP@@svc"},
               {"cluster", "DEFAULT"}, {"period", 5000}, {"stopped", false}};
  auto r = call("PUT",
                "/nacos/v1/ns/instance/beat?serviceName=DEFAULT_GROUP%40%40svc&"
                "clusterName=DEFAULT&ip=10.0.0.1&port=8070",
                "beat=" + http::percentEncode(beat.dump()), "application/x-www-form-urlencoded");
  ASSERT_EQ(r.head.status, 200) << r.body;
  json doc = json::parse(r.body);
  EXPECT_EQ(doc["code"], 10200);
  EXPECT_EQ(doc["clientBeatInterval"], 2000);
  EXPECT_TRUE(
      store_.findInstance("public", "DEFAULT_GROUP@@svc", {"DEFAULT", "10.0.0.1", 8070})->healthy);
}

TEST_F(ApiTest, MalformedBeatIs400) {
  auto r = call("PUT", "/nacos/v1/ns/instance/beat?serviceName=svc&beat=%7Bnope");
  EXPECT_EQ(r.head.status, 400);
  EXPECT_NE(r.body.find("Param 'beat'"), std::string::npos) << r.body;
  r = call("PUT", "/nacos/v1/ns/instance/beat?serviceName=svc&beat=" +
                      http::percentEncode(R"({"ip":"10.0.0.1","port":"x"})"));
  EXPECT_EQ(r.head.status, 400);
  EXPECT_EQ(store_.serviceCount(), 0u);
}

TEST_F(ApiTest, InstanceDetailShapeAndNotFoundAnswers) {
  registerNodeStyle("10.0.0.11", 8070);
  json doc = callJson("GET",
                      "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.11&"
                      "port=8070");
  json expected = {{"service", "DEFAULT_GROUP@@service-provider"},
                   {"ip", "10.0.0.11"},
                   {"port", 8070},
                   {"clusterName", "DEFAULT"},
                   {"weight", 1.0},
                   {"healthy", true},
                   {"instanceId", "10.0.0.11#8070#DEFAULT#DEFAULT_GROUP@@service-provider"},
                   {"metadata", {{"label", "v1"}, {"version", "v1"}}}};
  EXPECT_EQ(doc, expected);
  auto r = call("GET", "/nacos/v1/ns/instance?serviceName=nobody&ip=10.0.0.11&port=8070");
  EXPECT_EQ(r.head.status, 404);
  EXPECT_EQ(r.body, "caused: no service DEFAULT_GROUP@@nobody found!;");
  r = call("GET",
           "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.11&port=8070&"
           "clusterName=X");
  EXPECT_EQ(r.head.status, 404);
  r = call("GET", "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.12&port=8070");
  EXPECT_EQ(r.head.status, 404);
  EXPECT_EQ(r.body, "caused: no matched ip found!;");
}

TEST_F(ApiTest, UpdateReplacesFieldsAndRejectsUnknownInstances) {
  registerNodeStyle("10.0.0.11", 8070);
  auto r = call("PUT",
                "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.11&port=8070&"
                "weight=5&metadata=version%3Dv9");
  ASSERT_EQ(r.head.status, 200) << r.body;
  const NamingInstance* inst = store_.findInstance("public", "DEFAULT_GROUP@@service-provider",
                                                   {"DEFAULT", "10.0.0.11", 8070});
  EXPECT_EQ(inst->weight, 5);
  EXPECT_EQ(inst->metadata, (Metadata{{"version", "v9"}}));
  r = call("PUT", "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.12&port=8070");
  EXPECT_EQ(r.head.status, 400);
  EXPECT_NE(r.body.find("caused: instance not exist"), std::string::npos) << r.body;
  r = call("PUT", "/nacos/v1/ns/instance?serviceName=ghost&ip=10.0.0.12&port=8070");
  EXPECT_EQ(r.head.status, 400);
  EXPECT_NE(r.body.find("service not found"), std::string::npos) << r.body;
  r = call("PATCH", "/nacos/v1/ns/instance?serviceName=service-provider&ip=10.0.0.12&port=8070");
  EXPECT_EQ(r.head.status, 400);
  EXPECT_EQ(r.body, "caused: instance not found;");
}

TEST_F(ApiTest, ServiceListPagesStripsGroupsAndCountsAll) {
  for (const char* name : {"c", "a", "b"}) {
    auto r = call("POST",
                  std::string("/nacos/v1/ns/instance?serviceName=") + name + "&ip=10.0.0.1&port=1");
    ASSERT_EQ(r.head.status, 200);
  }
  ASSERT_EQ(call("POST", "/nacos/v1/ns/instance?serviceName=z&groupName=OTHER&ip=10.0.0.1&port=1")
                .head.status,
            200);
  json first = callJson("GET",
                        "/nacos/v1/ns/service/list?pageNo=1&pageSize=2&namespaceId=public"
                        "&groupName=DEFAULT_GROUP");
  EXPECT_EQ(first, json::parse(R"({"count":3,"doms":["a","b"]})"));
  json second = callJson("GET", "/nacos/v1/ns/service/list?pageNo=2&pageSize=2");
  EXPECT_EQ(second, json::parse(R"({"count":3,"doms":["c"]})"));
  json beyond = callJson("GET", "/nacos/v1/ns/service/list?pageNo=9&pageSize=2");
  EXPECT_EQ(beyond, json::parse(R"({"count":3,"doms":[]})"));
  json other = callJson("GET",
                        "/nacos/v1/ns/service/list?pageNo=1&pageSize=2147483647&"
                        "groupName=OTHER");
  EXPECT_EQ(other, json::parse(R"({"count":1,"doms":["z"]})"));
  json empty = callJson("GET", "/nacos/v1/ns/service/list?pageNo=1&pageSize=10&namespaceId=none");
  EXPECT_EQ(empty, json::parse(R"({"count":0,"doms":[]})"));

  auto r = call("GET", "/nacos/v1/ns/service/list?pageSize=10");
  EXPECT_EQ(r.head.status, 400);
  EXPECT_EQ(r.body, "caused: Param 'pageNo' is required.;");
  EXPECT_EQ(call("GET", "/nacos/v1/ns/service/list?pageNo=0&pageSize=10").head.status, 400);
  EXPECT_EQ(call("GET", "/nacos/v1/ns/service/list?pageNo=1&pageSize=10&selector=" +
                            http::percentEncode(R"({"type":"label","expression":"x"})"))
                .head.status,
            400);
}

TEST_F(ApiTest, MetricsSayUpWithCounts) {
  registerNodeStyle("10.0.0.11", 8070);
  json doc = callJson("GET", "/nacos/v1/ns/operator/metrics");
  EXPECT_EQ(doc["status"], "UP");
  EXPECT_EQ(doc["serviceCount"], 1);
  EXPECT_EQ(doc["instanceCount"], 1);
}

TEST_F(ApiTest, UnknownPathsAre404AndWrongMethods405) {
  EXPECT_EQ(call("GET", "/nacos/v1/ns/nothing").head.status, 404);
  EXPECT_EQ(call("POST", "/nacos/v1/ns/instance/list?serviceName=a").head.status, 405);
  EXPECT_EQ(call("GET", "/nacos/v1/ns/instance/beat").head.status, 405);
  auto r = call("GET", "/nacos/serverlist");
  EXPECT_EQ(r.head.status, 200);
  EXPECT_EQ(r.body, "127.0.0.1:8848");
}

TEST_F(ApiTest, PersistFailureIs500AndLeavesNothingBehind) {
  class Broken : public SnapshotStorage {
   public:
    Result<std::optional<std::string>> load() override { return std::optional<std::string>{}; }
    Status save(const std::string&) override {
      return makeError(ErrorCode::kIo, ErrorSource::kRegistry, "cannot write /x: No space left");
    }
    std::string describe() const override { return "/x"; }
  };
  NamingStore store(StoreOptions{}, std::make_unique<Broken>());
  NamingApi api(store);
  auto r = api.handle(request("POST",
                              "/nacos/v1/ns/instance?serviceName=db&ip=10.0.0.1&port=5432&"
                              "ephemeral=false"));
  EXPECT_EQ(r.head.status, 500);
  EXPECT_NE(r.body.find("No space left"), std::string::npos) << r.body;
  EXPECT_EQ(store.serviceCount(), 0u);
}

}  // namespace
}  // namespace sluice::registry::nacos
