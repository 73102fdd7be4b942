#include "net/netfilter_rules.h"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

InterceptionSpec basicSpec() {
  InterceptionSpec spec;
  spec.outbound_port = 15001;
  spec.proxy_uid = 1337;
  return spec;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(NetfilterRules, OutboundRedirectBypassesProxyUidAndLoopback) {
  auto script = renderRestoreScript(basicSpec());
  EXPECT_TRUE(contains(script, "*nat\n"));
  EXPECT_TRUE(contains(script, "-A OUTPUT -p tcp -j SLUICE_OUTPUT\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -m owner --uid-owner 1337 -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -o lo -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -j SLUICE_REDIRECT\n"));
  EXPECT_TRUE(script.ends_with("COMMIT\n"));
  // Bypass rules come before the redirect, or the sidecar would loop into itself.
  EXPECT_LT(script.find("--uid-owner"), script.find("-A SLUICE_OUTPUT -j SLUICE_REDIRECT"));
  // Nothing inbound or DNS unless asked for.
  EXPECT_FALSE(contains(script, "PREROUTING"));
  EXPECT_FALSE(contains(script, "--dport 53"));
}

TEST(NetfilterRules, ExclusionsInboundAndDnsAreRendered) {
  auto spec = basicSpec();
  spec.proxy_mark = 0x539;
  spec.inbound_port = 15006;
  spec.dns_port = 15053;
  spec.exclude_outbound_ports = {8848};
  spec.exclude_inbound_ports = {22};
  spec.exclude_outbound_cidrs = {*Cidr::parse("169.254.0.0/16")};
  auto script = renderRestoreScript(spec);
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -m mark --mark 0x539 -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -p tcp --dport 8848 -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -d 169.254.0.0/16 -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A PREROUTING -p tcp -j SLUICE_INBOUND\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_INBOUND -p tcp --dport 22 -j RETURN\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006\n"));
  EXPECT_TRUE(contains(script, "-A OUTPUT -p udp --dport 53 -j SLUICE_DNS\n"));
  EXPECT_TRUE(contains(script, "-A SLUICE_DNS -p udp -j REDIRECT --to-ports 15053\n"));
  EXPECT_TRUE(
      contains(script, "-A SLUICE_OUTPUT -p tcp --dport 53 -j REDIRECT --to-ports 15053\n"));
}

TEST(NetfilterRules, IncludeCidrsLimitTheRedirect) {
  auto spec = basicSpec();
  spec.include_outbound_cidrs = {*Cidr::parse("10.0.0.0/8")};
  auto script = renderRestoreScript(spec);
  EXPECT_TRUE(contains(script, "-A SLUICE_OUTPUT -d 10.0.0.0/8 -j SLUICE_REDIRECT\n"));
  EXPECT_FALSE(contains(script, "-A SLUICE_OUTPUT -j SLUICE_REDIRECT\n"));
}

TEST(NetfilterRules, RenderingIsDeterministic) {
  EXPECT_EQ(renderRestoreScript(basicSpec()), renderRestoreScript(basicSpec()));
}

TEST(NetfilterRules, ValidateRejectsLoopsZeroPortsAndIpv6) {
  InterceptionSpec no_bypass;
  auto r = validate(no_bypass);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bypass"), std::string::npos);
  auto zero = basicSpec();
  zero.outbound_port = 0;
  EXPECT_FALSE(validate(zero));
  auto v6 = basicSpec();
  v6.exclude_outbound_cidrs = {*Cidr::parse("fd00::/8")};
  EXPECT_FALSE(validate(v6));
  EXPECT_TRUE(validate(basicSpec()));
}

TEST(NetfilterRules, RemovalDeletesEveryJumpAndChain) {
  auto commands = removalCommands();
  int jumps = 0, flushes = 0, deletes = 0;
  for (const auto& c : commands) {
    if (c[4] == "-D") ++jumps;
    if (c[4] == "-F") ++flushes;
    if (c[4] == "-X") ++deletes;
  }
  EXPECT_EQ(jumps, 3);
  EXPECT_EQ(flushes, 5);
  EXPECT_EQ(deletes, 5);
}

}  // namespace
}  // namespace sluice::net
