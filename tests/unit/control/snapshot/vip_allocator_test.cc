#include "control/snapshot/vip_allocator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "control/snapshot/build_snapshot.h"

namespace sluice::control {
namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }
net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

std::vector<std::string> names(int n, const char* prefix = "svc") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back(fmt::format("{}-{}.default.svc.cluster.local", prefix, i));
  return out;
}

TEST(VipAllocator, HostCountSkipsNetworkAndBroadcast) {
  EXPECT_EQ(vipHostCount(cidr("240.240.0.0/16")), 65534u);
  EXPECT_EQ(vipHostCount(cidr("10.0.0.0/30")), 2u);
  EXPECT_EQ(vipHostCount(cidr("10.0.0.0/31")), 2u);
  EXPECT_EQ(vipHostCount(cidr("10.0.0.7/32")), 1u);
  EXPECT_EQ(vipHostCount(cidr("fd00::/64")), 0u);
}

TEST(VipAllocator, EveryNameGetsADistinctUsableAddressOfTheRange) {
  auto range = cidr("10.9.0.0/24");
  auto vips = allocateVips(range, names(200));
  ASSERT_EQ(vips.size(), 200u);
  std::set<std::string> seen;
  for (const auto& [name, addr] : vips) {
    EXPECT_TRUE(range.contains(addr)) << addr.toString();
    EXPECT_NE(addr.toString(), "10.9.0.0");
    EXPECT_NE(addr.toString(), "10.9.0.255");
    EXPECT_TRUE(seen.insert(addr.toString()).second) << "duplicate " << addr.toString();
  }
}

TEST(VipAllocator, SameNameSameAddressWhateverElseIsInTheSet) {
  // A large range (collisions rare): the hash slot alone makes the address independent of the
  // other names, even without the previous allocation.
  auto range = cidr("240.240.0.0/16");
  auto a = allocateVips(range, {"a.default.svc.cluster.local", "b.default.svc.cluster.local"});
  auto b = allocateVips(range, {"zz.default.svc.cluster.local", "b.default.svc.cluster.local"});
  EXPECT_EQ(a.at("b.default.svc.cluster.local"), b.at("b.default.svc.cluster.local"));
  // Input order does not matter.
  auto c = allocateVips(range, {"b.default.svc.cluster.local", "a.default.svc.cluster.local"});
  EXPECT_EQ(a, c);
}

TEST(VipAllocator, CollisionsAreProbedAndPreviousAssignmentsSurviveNewcomers) {
  // 6 usable addresses, 5 names: collisions are certain.
  auto range = cidr("10.1.1.0/29");
  auto first = allocateVips(range, names(5));
  ASSERT_EQ(first.size(), 5u);
  std::set<std::string> distinct;
  for (const auto& [n, a] : first) distinct.insert(a.toString());
  EXPECT_EQ(distinct.size(), 5u);

  // A newcomer, whatever its hash slot, must not move anybody who had an address.
  auto more = names(5);
  more.push_back("a-newcomer.default.svc.cluster.local");
  auto second = allocateVips(range, more, first);
  ASSERT_EQ(second.size(), 6u);
  for (const auto& [n, a] : first) EXPECT_EQ(second.at(n), a) << n;

  // And a departure does not move the others either.
  auto fewer = names(5);
  fewer.erase(fewer.begin() + 2);
  auto third = allocateVips(range, fewer, second);
  for (const auto& n : fewer) EXPECT_EQ(third.at(n), second.at(n)) << n;
}

TEST(VipAllocator, FullRangeLeavesTheRestWithoutAnAddress) {
  auto vips = allocateVips(cidr("10.1.1.0/30"), names(5));
  EXPECT_EQ(vips.size(), 2u);
}

TEST(VipAllocator, ReservedAddressesAreNeverHandedOut) {
  auto range = cidr("10.1.1.0/30");  // 10.1.1.1 and 10.1.1.2
  auto vips = allocateVips(range, names(2), {}, {ip("10.1.1.1")});
  ASSERT_EQ(vips.size(), 1u);
  EXPECT_EQ(vips.begin()->second.toString(), "10.1.1.2");
  // A previous assignment on a now-reserved address moves.
  auto moved = allocateVips(range, {"x"}, {{"x", ip("10.1.1.1")}}, {ip("10.1.1.1")});
  EXPECT_EQ(moved.at("x").toString(), "10.1.1.2");
}

TEST(VipAllocator, PreviousOutsideTheRangeIsReallocated) {
  auto range = cidr("10.2.0.0/24");
  auto vips = allocateVips(range, {"x"}, {{"x", ip("10.3.0.9")}});
  ASSERT_EQ(vips.size(), 1u);
  EXPECT_TRUE(range.contains(vips.at("x")));
}

TEST(VipAllocator, TwoPreviousHoldersOfOneAddressFirstSortedKeepsIt) {
  auto range = cidr("10.2.0.0/24");
  auto vips = allocateVips(range, {"b", "a"}, {{"a", ip("10.2.0.5")}, {"b", ip("10.2.0.5")}});
  EXPECT_EQ(vips.at("a").toString(), "10.2.0.5");
  EXPECT_NE(vips.at("b").toString(), "10.2.0.5");
}

TEST(VipAllocator, Ipv6RangeYieldsNothing) {
  EXPECT_TRUE(allocateVips(cidr("fd00::/120"), {"a"}).empty());
}

}  // namespace
}  // namespace sluice::control

// ---------------------------------------------------------------------------------------------
// VIPs in the snapshot

namespace sluice::control {
namespace {

using proxy::MeshService;

SnapshotInputs vipInputs(const std::vector<std::string>& registry_names) {
  SnapshotInputs in;
  in.vip_range = cidr("240.240.0.0/16");
  for (const auto& n : registry_names) {
    registry::Service s;
    s.name = n;
    in.registry_services.push_back(s);
  }
  config::ServiceEntry se;
  se.meta.name = "ext";
  se.hosts = {"api.example.com"};
  se.addresses = {"192.0.2.10", "2001:db8::10/128", "198.51.100.0/24"};
  se.resolution = config::ServiceEntry::Resolution::kStatic;
  config::ServiceEntry by_dns;
  by_dns.meta.name = "db";
  by_dns.hosts = {"db.example.com"};
  by_dns.resolution = config::ServiceEntry::Resolution::kDns;
  in.config.service_entries = {se, by_dns};
  return in;
}

TEST(SnapshotVip, RegistryServicesGetAVipServiceEntriesNever) {
  auto snap = buildSnapshot(vipInputs({"service-provider", "service-consumer"}));
  const MeshService* provider = snap->findService("service-provider");
  ASSERT_NE(provider, nullptr);
  auto vip = net::IpAddress::parse(provider->vip);
  ASSERT_TRUE(vip);
  EXPECT_TRUE(cidr("240.240.0.0/16").contains(*vip));
  EXPECT_NE(snap->findService("service-consumer")->vip, provider->vip);
  EXPECT_EQ(snap->findByVip(provider->vip), provider);

  const MeshService* api = snap->findService("api.example.com");
  ASSERT_NE(api, nullptr);
  EXPECT_TRUE(api->vip.empty());
  EXPECT_EQ(api->addresses, (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(snap->findByVip("192.0.2.10"), api);
  EXPECT_EQ(snap->findByVip("2001:db8::10"), api);
  EXPECT_EQ(snap->findByVip("2001:DB8:0::10"), api);    // non-canonical text
  EXPECT_EQ(snap->findByVip("198.51.100.1"), nullptr);  // CIDR addresses are not VIPs

  const MeshService* db = snap->findService("db.example.com");
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->vip.empty());
  EXPECT_TRUE(db->addresses.empty());

  EXPECT_EQ(snap->findByVip("10.1.2.3"), nullptr);
  EXPECT_EQ(snap->findByVip("not an ip"), nullptr);
}

TEST(SnapshotVip, FindByVipAcceptsV4MappedAddresses) {
  auto snap = buildSnapshot(vipInputs({"service-provider"}));
  const MeshService* provider = snap->findService("service-provider");
  EXPECT_EQ(snap->findByVip("::ffff:" + provider->vip), provider);
}

TEST(SnapshotVip, StableAcrossSnapshotsWithPreviousAssignments) {
  auto first = buildSnapshot(vipInputs({"b", "d"}));
  auto in = vipInputs({"a", "b", "c", "e", "f"});  // d left, four arrived
  in.previous_vips = first->vipAssignments();
  auto second = buildSnapshot(in);
  EXPECT_EQ(second->findService("b")->vip, first->findService("b")->vip);
  // Without previous assignments the hash alone keeps it too (a fresh process).
  auto fresh = buildSnapshot(vipInputs({"b"}));
  EXPECT_EQ(fresh->findService("b")->vip, first->findService("b")->vip);
  EXPECT_EQ(first->vipAssignments().size(), 2u);
}

TEST(SnapshotVip, NoRangeNoVips) {
  auto in = vipInputs({"service-provider"});
  in.vip_range.reset();
  auto snap = buildSnapshot(in);
  EXPECT_TRUE(snap->findService("service-provider")->vip.empty());
  // ServiceEntry addresses are still known.
  EXPECT_NE(snap->findByVip("192.0.2.10"), nullptr);
}

TEST(SnapshotVip, Ipv6RangeAndFullRangeAreDiagnosed) {
  auto in = vipInputs({"a", "b", "c"});
  in.vip_range = cidr("fd00::/64");
  auto snap = buildSnapshot(in);
  EXPECT_TRUE(snap->findService("a")->vip.empty());
  bool said = false;
  for (const auto& d : snap->diagnostics)
    said = said || d.find("not an IPv4 range") != std::string::npos;
  EXPECT_TRUE(said);

  in.vip_range = cidr("10.0.0.0/30");  // two addresses for three services
  snap = buildSnapshot(in);
  int with_vip = 0;
  for (const char* n : {"a", "b", "c"}) with_vip += snap->findService(n)->vip.empty() ? 0 : 1;
  EXPECT_EQ(with_vip, 2);
  said = false;
  for (const auto& d : snap->diagnostics) said = said || d.find("is full") != std::string::npos;
  EXPECT_TRUE(said);
}

TEST(SnapshotVip, ServiceEntryAddressesAreNotHandedOutAsVips) {
  auto in = vipInputs({"a"});
  in.vip_range = cidr("192.0.2.8/30");  // usable: .9 and .10; .10 belongs to api.example.com
  auto snap = buildSnapshot(in);
  EXPECT_EQ(snap->findService("a")->vip, "192.0.2.9");
  EXPECT_EQ(snap->findByVip("192.0.2.10")->fqdn, "api.example.com");
}

TEST(SnapshotVip, ConfigDumpShowsVipsAndAddresses) {
  auto snap = buildSnapshot(vipInputs({"service-provider"}));
  auto j = snap->toJson();
  bool vip_shown = false;
  bool addresses_shown = false;
  for (const auto& s : j["services"]) {
    if (s["fqdn"] == "service-provider.default.svc.cluster.local") {
      vip_shown = s.contains("vip") && s["vip"] == snap->findService("service-provider")->vip;
    }
    if (s["fqdn"] == "api.example.com") addresses_shown = s.contains("addresses");
  }
  EXPECT_TRUE(vip_shown);
  EXPECT_TRUE(addresses_shown);
}

}  // namespace
}  // namespace sluice::control
