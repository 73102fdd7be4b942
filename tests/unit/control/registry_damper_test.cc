#include "control/registry_damper.h"

#include <gtest/gtest.h>

namespace sluice::control {
namespace {

using namespace std::chrono_literals;

registry::Service service(std::string name, std::vector<std::pair<std::string, uint16_t>> addrs) {
  registry::Service s;
  s.name = std::move(name);
  s.namespace_id = "public";
  s.group = "DEFAULT_GROUP";
  for (auto& [ip, port] : addrs) {
    registry::Instance i;
    i.ip = ip;
    i.port = port;
    s.instances.push_back(i);
  }
  return s;
}

RegistryDamper damper() { return RegistryDamper({.empty_protection = 30s, .retired_grace = 60s}); }

TEST(RegistryDamper, PassesListsThroughWhenNothingLeaves) {
  auto d = damper();
  auto t0 = RegistryDamper::Clock::now();
  d.update({service("a", {{"10.0.0.1", 80}})}, t0);
  ASSERT_EQ(d.effective().size(), 1u);
  EXPECT_EQ(d.effective()[0].instances.size(), 1u);
  EXPECT_TRUE(d.retired().empty());
  EXPECT_FALSE(d.nextExpiry());
}

TEST(RegistryDamper, AnEmptiedServiceKeepsItsInstancesUntilProtectionEnds) {
  auto d = damper();
  auto t0 = RegistryDamper::Clock::now();
  d.update({service("consumer", {{"10.0.0.3", 8080}})}, t0);
  d.update({}, t0 + 1s);  // registry restarted: nothing registered yet
  ASSERT_EQ(d.effective().size(), 1u);
  EXPECT_EQ(d.effective()[0].instances.size(), 1u);
  EXPECT_EQ(d.protectedServices().size(), 1u);
  // Re-registration ends protection at once.
  d.update({service("consumer", {{"10.0.0.4", 8080}})}, t0 + 2s);
  EXPECT_TRUE(d.protectedServices().empty());
  EXPECT_EQ(d.effective()[0].instances[0].ip, "10.0.0.4");
}

TEST(RegistryDamper, ProtectionExpiresAndTheAddressesRetire) {
  auto d = damper();
  auto t0 = RegistryDamper::Clock::now();
  d.update({service("consumer", {{"10.0.0.3", 8080}})}, t0);
  d.update({service("consumer", {})}, t0 + 1s);
  EXPECT_EQ(d.effective()[0].instances.size(), 1u);
  ASSERT_TRUE(d.nextExpiry());
  EXPECT_TRUE(d.refresh(t0 + 31s));
  ASSERT_EQ(d.effective().size(), 1u);
  EXPECT_TRUE(d.effective()[0].instances.empty());
  auto retired = d.retired();
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].service, "consumer");
  EXPECT_EQ(retired[0].ip, "10.0.0.3");
  EXPECT_EQ(retired[0].port, 8080);
}

TEST(RegistryDamper, ADepartedInstanceIsRetiredForTheGraceThenForgotten) {
  auto d = damper();
  auto t0 = RegistryDamper::Clock::now();
  d.update({service("p", {{"10.0.0.11", 8070}, {"10.0.0.12", 8070}})}, t0);
  d.update({service("p", {{"10.0.0.11", 8070}})}, t0 + 1s);
  EXPECT_EQ(d.effective()[0].instances.size(), 1u);  // no protection: the service is not empty
  auto retired = d.retired();
  ASSERT_EQ(retired.size(), 1u);
  EXPECT_EQ(retired[0].ip, "10.0.0.12");
  d.refresh(t0 + 62s);
  EXPECT_TRUE(d.retired().empty());
}

TEST(RegistryDamper, AReturningAddressIsNoLongerRetired) {
  auto d = damper();
  auto t0 = RegistryDamper::Clock::now();
  d.update({service("p", {{"10.0.0.11", 8070}, {"10.0.0.12", 8070}})}, t0);
  d.update({service("p", {{"10.0.0.11", 8070}})}, t0 + 1s);
  d.update({service("p", {{"10.0.0.11", 8070}, {"10.0.0.12", 8070}})}, t0 + 2s);
  EXPECT_TRUE(d.retired().empty());
}

}  // namespace
}  // namespace sluice::control
