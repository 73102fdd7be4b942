// MeshSnapshot's lookups and its /config_dump rendering, on a snapshot put together by hand: the
// data plane's view, independent of how control assembles it (tests/unit/control/snapshot/).
#include "proxy/snapshot.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

MeshSnapshot handMade() {
  MeshSnapshot snap;
  snap.version = 3;
  MeshService provider;
  provider.fqdn = "service-provider.default.svc.cluster.local";
  provider.name = "service-provider";
  provider.vip = "240.240.0.1";
  Endpoint endpoint;
  endpoint.ip = "10.0.128.11";
  endpoint.port = 8070;
  provider.endpoints.push_back(endpoint);
  snap.services.push_back(provider);
  snap.service_by_host.emplace(provider.fqdn, 0);
  snap.service_by_host.emplace("service-provider", 0);
  snap.service_by_vip.emplace(provider.vip, 0);
  snap.reverse_dns.emplace("10.0.128.11:8070", 0);
  MeshSnapshot::ReverseDnsRule rdns;
  rdns.port = 8070;
  rdns.pod_cidrs = {*net::Cidr::parse("10.0.128.0/18")};
  rdns.filter_name = "rdns";
  snap.reverse_dns_rules.push_back(rdns);
  MeshSnapshot::InterceptionRule nacos;
  nacos.port = 8848;
  nacos.filter_name = "nacos-subscribe";
  snap.interception_rules.push_back(nacos);
  GatewayListener gl;
  gl.port = 80;
  snap.gateway_listeners.push_back(std::move(gl));
  return snap;
}

TEST(MeshSnapshotLookups, FindServiceIgnoresCaseAndPort) {
  auto snap = handMade();
  ASSERT_NE(snap.findService("SERVICE-PROVIDER:8070"), nullptr);
  EXPECT_EQ(snap.findService("service-provider")->name, "service-provider");
  EXPECT_EQ(snap.findService("other"), nullptr);
  EXPECT_EQ(snap.serviceIndex(snap.findService("service-provider")), 0);
  EXPECT_EQ(snap.serviceIndex(nullptr), -1);
}

TEST(MeshSnapshotLookups, FindByVipAcceptsV4MappedV6) {
  auto snap = handMade();
  ASSERT_NE(snap.findByVip("240.240.0.1"), nullptr);
  ASSERT_NE(snap.findByVip("::ffff:240.240.0.1"), nullptr);
  EXPECT_EQ(snap.findByVip("240.240.0.2"), nullptr);
  EXPECT_EQ(snap.findByVip("not an ip"), nullptr);
  EXPECT_EQ(snap.vipAssignments().at("service-provider.default.svc.cluster.local"), "240.240.0.1");
}

TEST(MeshSnapshotLookups, FindByAddressHonoursRulePortAndPodCidrs) {
  auto snap = handMade();
  ASSERT_NE(snap.findByAddress("10.0.128.11", 8070), nullptr);
  EXPECT_EQ(snap.findByAddress("10.0.128.11", 9000), nullptr) << "rule is for port 8070";
  EXPECT_EQ(snap.findByAddress("10.0.128.12", 8070), nullptr) << "not an instance";
  snap.reverse_dns_rules.front().pod_cidrs = {*net::Cidr::parse("192.168.0.0/16")};
  EXPECT_EQ(snap.findByAddress("10.0.128.11", 8070), nullptr) << "outside the pod CIDRs";
  snap.reverse_dns_rules.clear();
  EXPECT_EQ(snap.findByAddress("10.0.128.11", 8070), nullptr) << "method 1 disabled";
}

TEST(MeshSnapshotLookups, InterceptionRuleAndGatewayListenerByPort) {
  auto snap = handMade();
  ASSERT_NE(snap.interceptionFor(8848), nullptr);
  EXPECT_EQ(snap.interceptionFor(8848)->filter_name, "nacos-subscribe");
  EXPECT_EQ(snap.interceptionFor(80), nullptr);
  snap.interception_rules.front().port.reset();
  EXPECT_NE(snap.interceptionFor(80), nullptr) << "no portNumber: every port";
  ASSERT_NE(snap.findGatewayListener(80), nullptr);
  EXPECT_EQ(snap.findGatewayListener(8080), nullptr);
}

TEST(MeshSnapshotConfigDump, ListsServicesReverseDnsAndInterception) {
  auto j = handMade().toJson();
  EXPECT_EQ(j["version"], 3);
  EXPECT_EQ(j["services"][0]["fqdn"], "service-provider.default.svc.cluster.local");
  EXPECT_EQ(j["services"][0]["vip"], "240.240.0.1");
  EXPECT_EQ(j["services"][0]["endpoints"][0]["address"], "10.0.128.11:8070");
  EXPECT_EQ(j["reverse_dns"]["addresses"]["10.0.128.11:8070"],
            "service-provider.default.svc.cluster.local");
  EXPECT_EQ(j["reverse_dns"]["rules"][0]["port"], 8070);
  EXPECT_EQ(j["registry_interception"][0]["port"], 8848);
  EXPECT_EQ(clusterName("h.example", "v1", 0), "outbound||v1|h.example");
  EXPECT_EQ(clusterName("h.example", "", 80), "outbound|80||h.example");
}

}  // namespace
}  // namespace sluice::proxy
