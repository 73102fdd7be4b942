#include "proxy/vip_allocator.h"

#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

net::Cidr cidr(const char* text) { return *net::Cidr::parse(text); }
net::IpAddress ip(const char* text) { return *net::IpAddress::parse(text); }

std::vector<std::string> names(int n, const char* prefix = "svc") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(fmt::format("{}-{}.default.svc.cluster.local", prefix, i));
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
}  // namespace sluice::proxy
