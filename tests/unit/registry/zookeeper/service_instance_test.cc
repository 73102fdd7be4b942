#include "registry/zookeeper/service_instance.h"

#include <gtest/gtest.h>

namespace sluice::registry::zookeeper {
namespace {

// What Spring Cloud Zookeeper 4.x registers (JsonInstanceSerializer, compatible mode).
constexpr const char* kSpringInstance = R"({
  "name": "service-provider", "id": "2f1b6c1e-9d0a-4c53-8f6e-0b1d2c3e4f50",
  "address": "10.0.0.11", "port": 8070, "sslPort": null,
  "payload": {"@class": "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
              "id": "service-provider", "name": "service-provider",
              "metadata": {"label": "v1", "instance_status": "UP"}},
  "registrationTimeUTC": 1700000000000, "serviceType": "DYNAMIC",
  "uriSpec": {"parts": [{"value": "scheme", "variable": true}, {"value": "://", "variable": false}]}
})";

TEST(CuratorServiceInstance, SpringCloudZookeeperRecordGivesAddressPortAndLabels) {
  auto instance = parseServiceInstance(kSpringInstance);
  ASSERT_TRUE(instance) << instance.error().message;
  EXPECT_EQ(instance->ip, "10.0.0.11");
  EXPECT_EQ(instance->port, 8070);
  EXPECT_TRUE(instance->healthy);
  EXPECT_TRUE(instance->enabled);
  EXPECT_EQ(instance->metadata,
            (std::map<std::string, std::string>{{"label", "v1"}, {"instance_status", "UP"}}));
}

TEST(CuratorServiceInstance, PlainCuratorRecordWithoutPayloadHasNoLabels) {
  auto instance = parseServiceInstance(
      R"({"name":"orders","id":"a","address":"orders-1.example","port":9000,"payload":null})");
  ASSERT_TRUE(instance) << instance.error().message;
  EXPECT_EQ(instance->ip, "orders-1.example");
  EXPECT_EQ(instance->port, 9000);
  EXPECT_TRUE(instance->metadata.empty());
}

TEST(CuratorServiceInstance, SslPortServesWhenPortIsAbsent) {
  auto instance = parseServiceInstance(R"({"address":"10.0.0.2","port":null,"sslPort":8443})");
  ASSERT_TRUE(instance) << instance.error().message;
  EXPECT_EQ(instance->port, 8443);
  EXPECT_EQ(parseServiceInstance(R"({"address":"10.0.0.2","port":80,"sslPort":443})")->port, 80);
}

TEST(CuratorServiceInstance, ScalarMetadataValuesKeepTheirJsonText) {
  auto instance = parseServiceInstance(
      R"({"address":"10.0.0.2","port":80,"payload":{"metadata":{"weight":8,"canary":true,
          "nested":{"x":1},"none":null,"s":"v2"}}})");
  ASSERT_TRUE(instance) << instance.error().message;
  EXPECT_EQ(instance->metadata,
            (std::map<std::string, std::string>{{"weight", "8"}, {"canary", "true"}, {"s", "v2"}}));
}

TEST(CuratorServiceInstance, DisabledAndOutOfServiceInstancesAreMarked) {
  auto disabled = parseServiceInstance(R"({"address":"10.0.0.2","port":80,"enabled":false})");
  ASSERT_TRUE(disabled);
  EXPECT_FALSE(disabled->enabled);
  auto out = parseServiceInstance(
      R"({"address":"10.0.0.2","port":80,"payload":{"metadata":{"instance_status":"OUT_OF_SERVICE"}}})");
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->healthy);
  auto up = parseServiceInstance(
      R"({"address":"10.0.0.2","port":80,"payload":{"metadata":{"instance_status":"up"}}})");
  ASSERT_TRUE(up);
  EXPECT_TRUE(up->healthy);
}

TEST(CuratorServiceInstance, UnusablePayloadsSayWhatIsWrong) {
  struct Case {
    const char* data;
    const char* message;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"", "not JSON"},
           {"10.0.0.1:8080", "not JSON"},
           {R"({"address":"10.0.0.1","port":80)", "not JSON"},
           {R"(["10.0.0.1",80])", "not a JSON object"},
           {R"({"port":80})", "no 'address'"},
           {R"({"address":"  ","port":80})", "no 'address'"},
           {R"({"address":7,"port":80})", "no 'address'"},
           {R"({"address":"10.0.0.1"})", "no 'port'"},
           {R"({"address":"10.0.0.1","port":null,"sslPort":null})", "no 'port'"},
           {R"({"address":"10.0.0.1","port":"80"})", "'port' is not an integer"},
           {R"({"address":"10.0.0.1","port":70000})", "'port' 70000 out of range"},
           {R"({"address":"10.0.0.1","port":0})", "'port' 0 out of range"},
           {"{\"address\":\"\xff\",\"port\":1}", "not JSON"},
       }) {
    auto r = parseServiceInstance(c.data);
    ASSERT_FALSE(r) << c.data;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.data << " -> " << r.error().message;
  }
}

}  // namespace
}  // namespace sluice::registry::zookeeper
