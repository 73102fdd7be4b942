#include "net/address.h"

#include <gtest/gtest.h>

namespace sluice::net {
namespace {

TEST(HostPort, ParsesHostPortAndIpv6) {
  auto hp = parseHostPort("127.0.0.1:8848");
  ASSERT_TRUE(hp);
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8848);
  auto v6 = parseHostPort("[::1]:80");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->toString(), "[::1]:80");
  EXPECT_FALSE(parseHostPort("host"));
  EXPECT_EQ(parseHostPort("host", 8848)->port, 8848);
  EXPECT_FALSE(parseHostPort("host:99999"));
  EXPECT_FALSE(parseHostPort(":80"));
}

// Found by fuzzing (tests/fuzz/corpus/http_url/regress-hostport-url-as-host): a whole URL was
// taken as a host, and its printed form "[http://[::1]/x]:80" did not parse back.
TEST(HostPort, RefusesCharactersNoHostHas) {
  for (const char* text : {"http://[::1]/x", "a b:80", "h/x:80", "[[::1]:80", "u@h:80", "h?:80"}) {
    auto hp = parseHostPort(text, 80);
    ASSERT_FALSE(hp) << text;
    EXPECT_NE(hp.error().message.find("invalid character in host"), std::string::npos)
        << hp.error().message;
  }
  EXPECT_TRUE(parseHostPort("fe80::1%eth0", 80));
  EXPECT_TRUE(parseHostPort("service_provider.default:8080"));
}

TEST(Cidr, ContainsRespectsPrefixAndFamily) {
  auto cidr = Cidr::parse("10.0.128.0/18");
  ASSERT_TRUE(cidr);
  EXPECT_TRUE(cidr->contains(*IpAddress::parse("10.0.128.1")));
  EXPECT_TRUE(cidr->contains(*IpAddress::parse("10.0.191.255")));
  EXPECT_FALSE(cidr->contains(*IpAddress::parse("10.0.192.0")));
  EXPECT_FALSE(cidr->contains(*IpAddress::parse("::1")));
  EXPECT_TRUE(Cidr::parse("127.0.0.0/8")->contains(*IpAddress::parse("127.3.4.5")));
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0")->contains(*IpAddress::parse("8.8.8.8")));
  EXPECT_FALSE(Cidr::parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::parse("not-an-ip/8"));
}

}  // namespace
}  // namespace sluice::net
