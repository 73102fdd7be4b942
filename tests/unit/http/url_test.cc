#include "http/url.h"

#include <gtest/gtest.h>

namespace sluice::http {
namespace {

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto u = parseUrl("http://127.0.0.1:8848/nacos/v1/ns/instance/list?serviceName=a#frag");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8848);
  EXPECT_TRUE(u->explicit_port);
  EXPECT_EQ(u->target, "/nacos/v1/ns/instance/list?serviceName=a");
  EXPECT_EQ(u->path(), "/nacos/v1/ns/instance/list");
  EXPECT_EQ(u->query(), "serviceName=a");
  EXPECT_EQ(u->authority(), "127.0.0.1:8848");
  EXPECT_EQ(u->toString(), "http://127.0.0.1:8848/nacos/v1/ns/instance/list?serviceName=a");
}

TEST(ParseUrl, DefaultsPortAndPath) {
  auto u = parseUrl("HTTP://Provider");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "provider");
  EXPECT_EQ(u->port, 80);
  EXPECT_FALSE(u->explicit_port);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority(), "provider");
  auto q = parseUrl("http://h?x=1");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->target, "/?x=1");
  EXPECT_EQ(parseUrl("https://h/")->port, 443);
}

TEST(ParseUrl, HandlesIpv6Literals) {
  auto u = parseUrl("http://[::1]:9000/x");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9000);
  EXPECT_EQ(u->authority(), "[::1]:9000");
  auto d = parseUrl("http://[::1]/x");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->port, 80);
  EXPECT_EQ(d->authority(), "[::1]");
}

TEST(ParseUrl, RejectsBadUrlsWithTheReason) {
  for (const char* bad : {"127.0.0.1:80/x", "ftp://h/", "http://", "http:///x", "http://h:99999/",
                          "http://h:x/", "http://user@h/", "http://h/a b", "://h"}) {
    auto u = parseUrl(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(u.error().message.find(bad), std::string::npos) << u.error().message;
  }
}

TEST(PercentCoding, DecodesAndEncodes) {
  EXPECT_EQ(percentDecode("a%40b%2Fc"), "a@b/c");
  EXPECT_EQ(percentDecode("a+b"), "a+b");
  EXPECT_EQ(percentDecode("a+b", true), "a b");
  EXPECT_EQ(percentDecode("100%"), "100%");
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
  EXPECT_EQ(percentEncode("DEFAULT_GROUP@@svc a/b~"), "DEFAULT_GROUP%40%40svc%20a%2Fb~");
  EXPECT_EQ(percentDecode(percentEncode("x=1&y=\xe4")), "x=1&y=\xe4");
}

TEST(QueryParsing, SplitsKeysAndValuesWithPlusAsSpace) {
  QueryParams p = parseQuery(
      "?serviceName=DEFAULT_GROUP%40%40provider&clusters=&healthyOnly=false"
      "&flag&&q=a+b%2Bc");
  QueryParams expected = {{"serviceName", "DEFAULT_GROUP@@provider"},
                          {"clusters", ""},
                          {"healthyOnly", "false"},
                          {"flag", ""},
                          {"q", "a b+c"}};
  EXPECT_EQ(p, expected);
  EXPECT_EQ(queryParam("a=1&b=2&a=3", "a"), "1");
  EXPECT_EQ(queryParam("a=1", "b"), std::nullopt);
  EXPECT_TRUE(parseQuery("").empty());
}

TEST(QueryParsing, BuildQueryRoundTrips) {
  QueryParams p = {{"serviceName", "g@@s"}, {"ip", "10.0.0.1"}, {"x y", "a&b=c"}};
  std::string q = buildQuery(p);
  EXPECT_EQ(q, "serviceName=g%40%40s&ip=10.0.0.1&x%20y=a%26b%3Dc");
  EXPECT_EQ(parseQuery(q), p);
}

}  // namespace
}  // namespace sluice::http
