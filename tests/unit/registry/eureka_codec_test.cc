#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "registry/eureka/codec.h"
#include "registry/eureka/model.h"
#include "registry/eureka/xml.h"

namespace sluice::registry::eureka {
namespace {

// What a Spring Cloud Netflix client registers (registries.md §3.3), as the server echoes it.
constexpr const char* kSpringApps = R"({"applications": {"versions__delta": "1",
  "apps__hashcode": "UP_2_", "application": [ {"name": "SERVICE-PROVIDER", "instance": [
  {"instanceId": "10.0.0.11:service-provider:8070", "hostName": "10.0.0.11",
   "app": "SERVICE-PROVIDER", "ipAddr": "10.0.0.11", "status": "UP",
   "overriddenStatus": "UNKNOWN", "port": {"$": 8070, "@enabled": "true"},
   "securePort": {"$": 443, "@enabled": "false"}, "countryId": 1,
   "dataCenterInfo": {"@class": "com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo",
                      "name": "MyOwn"},
   "leaseInfo": {"renewalIntervalInSecs": 30, "durationInSecs": 90,
                 "registrationTimestamp": 1700000000000, "lastRenewalTimestamp": 0,
                 "evictionTimestamp": 0, "serviceUpTimestamp": 0},
   "metadata": {"version": "v1", "management.port": "8070"},
   "homePageUrl": "http://10.0.0.11:8070/", "vipAddress": "service-provider",
   "isCoordinatingDiscoveryServer": "false", "lastUpdatedTimestamp": "1700000000001",
   "lastDirtyTimestamp": "1700000000002", "actionType": "ADDED"},
  {"instanceId": "b", "hostName": "h2", "app": "SERVICE-PROVIDER", "ipAddr": "10.0.0.12",
   "status": "UP", "port": 8071, "metadata": {"@class": "java.util.Collections$EmptyMap"},
   "dataCenterInfo": {"name": "MyOwn"}, "isCoordinatingDiscoveryServer": false,
   "lastUpdatedTimestamp": 5}
  ]}]}})";

TEST(EurekaCodec, DecodesSpringCloudApplicationsJson) {
  auto apps = decodeApplications(kSpringApps);
  ASSERT_TRUE(apps) << apps.error().message;
  EXPECT_EQ(apps->versions_delta, "1");
  EXPECT_EQ(apps->apps_hashcode, "UP_2_");
  ASSERT_EQ(apps->applications.size(), 1u);
  const auto& app = apps->applications[0];
  EXPECT_EQ(app.name, "SERVICE-PROVIDER");
  ASSERT_EQ(app.instances.size(), 2u);
  const auto& a = app.instances[0];
  EXPECT_EQ(a.instance_id, "10.0.0.11:service-provider:8070");
  EXPECT_EQ(a.ip_addr, "10.0.0.11");
  EXPECT_EQ(a.port, 8070);
  EXPECT_TRUE(a.port_enabled);
  EXPECT_FALSE(a.secure_port_enabled);
  EXPECT_EQ(a.status, InstanceStatus::kUp);
  EXPECT_EQ(a.lease.duration_secs, 90);
  EXPECT_EQ(a.lease.registration_timestamp, 1700000000000);
  EXPECT_EQ(a.last_updated_timestamp, 1700000000001);  // written as a string
  EXPECT_EQ(a.last_dirty_timestamp, 1700000000002);
  EXPECT_EQ(a.action_type, ActionType::kAdded);
  EXPECT_EQ(a.metadata,
            (std::map<std::string, std::string>{{"version", "v1"}, {"management.port", "8070"}}));
  const auto& b = app.instances[1];
  EXPECT_EQ(b.port, 8071);                 // bare number
  EXPECT_TRUE(b.metadata.empty());         // the EmptyMap marker is no entry
  EXPECT_EQ(b.last_updated_timestamp, 5);  // written as a number
}

TEST(EurekaCodec, AcceptsASingleApplicationOrInstanceWrittenAsAnObject) {
  auto apps = decodeApplications(R"({"applications":{"apps__hashcode":"UP_1_",
    "application":{"name":"A","instance":{"instanceId":"i","hostName":"h","ipAddr":"1.2.3.4",
    "port":{"$":"80","@enabled":true}}}}})");
  ASSERT_TRUE(apps) << apps.error().message;
  ASSERT_EQ(apps->applications.size(), 1u);
  ASSERT_EQ(apps->applications[0].instances.size(), 1u);
  EXPECT_EQ(apps->applications[0].instances[0].port, 80);
  EXPECT_EQ(apps->applications[0].instances[0].app, "A");  // from the application
}

TEST(EurekaCodec, InstanceIdFallsBackToHostName) {
  auto inst = decodeInstance(R"({"instance":{"hostName":"box1","app":"X","ipAddr":"1.1.1.1"}})");
  ASSERT_TRUE(inst) << inst.error().message;
  EXPECT_EQ(inst->instance_id, "box1");
}

TEST(EurekaCodec, RejectsMalformedAnswersNamingTheProblem) {
  struct Case {
    const char* body;
    const char* expect;
  };
  for (const Case& c : std::vector<Case>{
           {"", "neither JSON nor XML"},
           {"garbage", "neither JSON nor XML"},
           {"{\"applications\": ", "malformed JSON"},
           {"{\"apps\": {}}", "no \"applications\""},
           {R"({"applications":{"application":[{"instance":[]}]}})", "without a name"},
           {R"({"applications":{"application":[{"name":"A","instance":[{"app":"A"}]}]}})",
            "without instanceId"},
           {R"({"applications":{"application":[{"name":"A","instance":[
              {"instanceId":"i","port":{"$":"99999"}}]}]}})",
            "'port'"},
           {R"({"applications":{"application":[{"name":"A","instance":[
              {"instanceId":"i","status":"SLEEPING"}]}]}})",
            "unknown status 'SLEEPING'"},
           {"<applications><application><name>A</name><instance><port>x</port>"
            "</instance></application></applications>",
            "'port'"},
           {"<applications><application>", "malformed XML"},
           {"<other/>", "not <applications>"},
       }) {
    auto r = decodeApplications(c.body);
    ASSERT_FALSE(r) << c.body;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos)
        << c.body << " -> " << r.error().message;
    EXPECT_EQ(r.error().source, ErrorSource::kRegistry);
  }
}

EurekaApplications sample() {
  EurekaInstance a;
  a.instance_id = "127.0.0.11:service-provider:8070";
  a.app = "SERVICE-PROVIDER";
  a.host_name = "provider-v1";
  a.ip_addr = "127.0.0.11";
  a.port = 8070;
  a.status = InstanceStatus::kUp;
  a.metadata = {{"version", "v1"}, {"odd key", "<&>\"'"}};
  a.lease = {30, 90, 1, 2, 0, 3};
  a.vip_address = "service-provider";
  a.last_updated_timestamp = 1700000000000;
  a.last_dirty_timestamp = 1700000000001;
  a.action_type = ActionType::kModified;
  EurekaInstance b = a;
  b.instance_id = "b";
  b.ip_addr = "127.0.0.12";
  b.status = InstanceStatus::kOutOfService;
  b.overridden_status = InstanceStatus::kOutOfService;
  b.metadata.clear();
  b.action_type.reset();
  b.secure_port_enabled = true;
  b.secure_port = 8443;
  EurekaApplications apps;
  apps.versions_delta = "7";
  apps.applications = {{"SERVICE-PROVIDER", {a, b}}};
  apps.apps_hashcode = appsHashCode(apps.applications);
  return apps;
}

TEST(EurekaCodec, JsonRoundTripsEveryField) {
  EurekaApplications apps = sample();
  std::string json = encodeApplications(apps, Format::kJson);
  auto back = decodeApplications(json);
  ASSERT_TRUE(back) << back.error().message << "\n" << json;
  EXPECT_EQ(*back, apps);
  // The shapes other readers rely on.
  auto doc = nlohmann::json::parse(json);
  const auto& inst = doc["applications"]["application"][0]["instance"][0];
  EXPECT_EQ(inst["port"]["$"], 8070);
  EXPECT_EQ(inst["port"]["@enabled"], "true");
  EXPECT_EQ(inst["lastUpdatedTimestamp"], "1700000000000");
  EXPECT_EQ(inst["dataCenterInfo"]["@class"], kDefaultDataCenterClass);
  EXPECT_EQ(doc["applications"]["application"][0]["instance"][1]["metadata"]["@class"],
            kEmptyMapClass);
}

TEST(EurekaCodec, XmlRoundTripsEveryFieldButMetadataKeysThatAreNoXmlNames) {
  EurekaApplications apps = sample();
  std::string text = encodeApplications(apps, Format::kXml);
  EXPECT_NE(text.find("<port enabled=\"true\">8070</port>"), std::string::npos) << text;
  EXPECT_NE(text.find("<apps__hashcode>OUT_OF_SERVICE_1_UP_1_</apps__hashcode>"),
            std::string::npos);
  auto back = decodeApplications(text);
  ASSERT_TRUE(back) << back.error().message << "\n" << text;
  apps.applications[0].instances[0].metadata.erase("odd key");
  EXPECT_EQ(*back, apps);
}

// Found by fuzz target eureka_json (regress-metadata-keys-none-xml-names): metadata whose every
// key is no XML name was written as an empty <metadata></metadata>, which reads back as the empty
// map and is then written as <metadata class="...EmptyMap"/>: two encodings of one instance.
TEST(EurekaCodec, XmlMetadataWithNoWritableKeyIsWrittenAsTheEmptyMap) {
  EurekaInstance inst = sample().applications[0].instances[0];
  inst.metadata = {{"ac@lss", "java.util.Collections$EmptyMap"}, {"odd key", "x"}};
  std::string text = encodeInstance(inst, Format::kXml);
  EXPECT_NE(text.find(std::string("<metadata class=\"") + kEmptyMapClass + "\"/>"),
            std::string::npos)
      << text;
  auto back = decodeInstance(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_TRUE(back->metadata.empty());
  EXPECT_EQ(encodeInstance(*back, Format::kXml), text);
}

// Found by the eureka_json fuzz target: XML trimmed a metadata value that JSON kept, so one
// instance read from JSON had two XML encodings.
TEST(EurekaCodec, XmlMetadataValueWhitespaceIsKeptAsInJson) {
  EurekaInstance inst = sample().applications[0].instances[0];
  inst.metadata = {{"version", " v1"}, {"note", "two  words\n"}};
  for (Format f : {Format::kJson, Format::kXml}) {
    auto back = decodeInstance(encodeInstance(inst, f));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->metadata, inst.metadata);
  }
}

// Also found by eureka_json: XML trimmed the applications' versions and hash code, the
// application name and the data center name, JSON did not.
TEST(EurekaCodec, ScalarsOutsideTheInstanceFieldsAreTrimmedInBothFormats) {
  std::string json = R"({"applications": {"versions__delta": " 1 ", "apps__hashcode": " UP_1_",
    "application": [{"name": " SERVICE-PROVIDER ", "instance": [{"instanceId": "a",
    "hostName": "h", "app": "SERVICE-PROVIDER", "ipAddr": "10.0.0.11", "status": "UP",
    "port": 8070, "dataCenterInfo": {"name": " MyOwn "}}]}]}})";
  auto apps = decodeApplications(json);
  ASSERT_TRUE(apps) << apps.error().message;
  EXPECT_EQ(apps->versions_delta, "1");
  EXPECT_EQ(apps->apps_hashcode, "UP_1_");
  ASSERT_EQ(apps->applications.size(), 1u);
  EXPECT_EQ(apps->applications[0].name, "SERVICE-PROVIDER");
  EXPECT_EQ(apps->applications[0].instances.at(0).data_center_name, "MyOwn");
  auto xml = decodeApplications(encodeApplications(*apps, Format::kXml));
  ASSERT_TRUE(xml) << xml.error().message;
  EXPECT_EQ(encodeApplications(*xml, Format::kXml), encodeApplications(*apps, Format::kXml));
}

TEST(EurekaCodec, SingleApplicationAndInstanceDocuments) {
  EurekaApplications apps = sample();
  for (Format f : {Format::kJson, Format::kXml}) {
    std::string inst = encodeInstance(apps.applications[0].instances[1], f);
    auto back = decodeInstance(inst);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, apps.applications[0].instances[1]);
    std::string app = encodeApplication(apps.applications[0], f);
    EXPECT_NE(app.find("SERVICE-PROVIDER"), std::string::npos);
  }
}

TEST(EurekaCodec, XmlRegistrationBodyAsAJavaClientSendsIt) {
  auto inst = decodeInstance(R"(<?xml version="1.0" encoding="UTF-8"?>
<instance>
  <instanceId>host1:svc:8080</instanceId><hostName>host1</hostName><app>SVC</app>
  <ipAddr>10.1.1.1</ipAddr><status>STARTING</status><overriddenstatus>UNKNOWN</overriddenstatus>
  <port enabled="true">8080</port><securePort enabled="false">443</securePort>
  <countryId>1</countryId>
  <dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo">
    <name>MyOwn</name></dataCenterInfo>
  <leaseInfo><renewalIntervalInSecs>1</renewalIntervalInSecs><durationInSecs>3</durationInSecs>
  </leaseInfo>
  <metadata><zone>a &amp; b</zone><![CDATA[ignored]]></metadata>
  <!-- a comment -->
  <vipAddress>svc</vipAddress>
</instance>)");
  ASSERT_TRUE(inst) << inst.error().message;
  EXPECT_EQ(inst->status, InstanceStatus::kStarting);
  EXPECT_EQ(inst->lease.duration_secs, 3);
  EXPECT_EQ(inst->data_center_name, "MyOwn");
  EXPECT_EQ(inst->metadata.at("zone"), "a & b");
  EXPECT_EQ(inst->vip_address, "svc");
}

TEST(EurekaXml, ParsesReferencesCdataAndAttributes) {
  auto el = xml::parse("<a x='1' y=\"&lt;2&gt;\">t&#65;&#x42;<b/>u<![CDATA[<c>]]></a>");
  ASSERT_TRUE(el) << el.error().message;
  EXPECT_EQ(el->name, "a");
  EXPECT_EQ(*el->attribute("y"), "<2>");
  EXPECT_EQ(el->text, "tABu<c>");
  ASSERT_EQ(el->children.size(), 1u);
  EXPECT_EQ(el->children[0].name, "b");
}

TEST(EurekaXml, RejectsDoctypesMismatchesAndJunk) {
  for (const char* bad :
       {"<!DOCTYPE x [<!ENTITY e 'boom'>]><x>&e;</x>", "<a></b>", "<a>", "<a>&bogus;</a>",
        "<a x=1/>", "<a/><b/>", "text", "<a>&#0;</a>", "<?php ?><a/>"}) {
    auto r = xml::parse(bad);
    EXPECT_FALSE(r) << bad;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "<a>";
  EXPECT_FALSE(xml::parse(deep));
}

TEST(EurekaXml, EveryTruncationOfADocumentFailsCleanly) {
  std::string doc = encodeApplications(sample(), Format::kXml);
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(decodeApplications(doc.substr(0, n))) << n;
  }
  std::string json = encodeApplications(sample(), Format::kJson);
  for (size_t n = 0; n < json.size(); ++n) {
    EXPECT_FALSE(decodeApplications(json.substr(0, n))) << n;
  }
}

TEST(EurekaModel, HashCodeCountsStatusesInNameOrder) {
  EurekaInstance up;
  up.status = InstanceStatus::kUp;
  EurekaInstance down;
  down.status = InstanceStatus::kDown;
  EXPECT_EQ(appsHashCode({}), "");
  EXPECT_EQ(appsHashCode({{"A", {up, down}}, {"B", {up}}}), "DOWN_1_UP_2_");
}

TEST(EurekaModel, DeltaAddsModifiesAndDeletesLikeTheDiscoveryClient) {
  auto make = [](std::string app, std::string id, InstanceStatus s, ActionType action) {
    EurekaInstance i;
    i.app = std::move(app);
    i.instance_id = std::move(id);
    i.status = s;
    i.action_type = action;
    return i;
  };
  std::vector<EurekaApplication> local = {
      {"A", {make("A", "a1", InstanceStatus::kUp, ActionType::kAdded)}},
      {"B", {make("B", "b1", InstanceStatus::kUp, ActionType::kAdded)}}};
  EurekaApplications delta;
  delta.applications = {{"A",
                         {make("A", "a1", InstanceStatus::kDown, ActionType::kModified),
                          make("A", "a2", InstanceStatus::kUp, ActionType::kAdded)}},
                        {"B", {make("B", "b1", InstanceStatus::kUp, ActionType::kDeleted)}},
                        {"C", {make("C", "c1", InstanceStatus::kUp, ActionType::kAdded)}}};
  applyDelta(local, delta);
  sortApplications(local);
  ASSERT_EQ(local.size(), 2u);  // B lost its only instance
  EXPECT_EQ(local[0].name, "A");
  ASSERT_EQ(local[0].instances.size(), 2u);
  EXPECT_EQ(local[0].instances[0].status, InstanceStatus::kDown);
  EXPECT_EQ(local[1].name, "C");
  EXPECT_EQ(appsHashCode(local), "DOWN_1_UP_2_");
}

}  // namespace
}  // namespace sluice::registry::eureka
