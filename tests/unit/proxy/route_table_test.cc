#include "proxy/route_table.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <map>
#include <random>

namespace sluice::proxy {
namespace {

StringMatcher exact(std::string v) { return {StringMatcher::Kind::kExact, std::move(v)}; }
StringMatcher prefix(std::string v) { return {StringMatcher::Kind::kPrefix, std::move(v)}; }
StringMatcher present() { return {StringMatcher::Kind::kPresent, ""}; }
StringMatcher regex(const std::string& v) {
  StringMatcher m{StringMatcher::Kind::kRegex, v};
  m.re = std::make_shared<re2::RE2>(v);
  return m;
}

struct Req {
  std::string method = "GET";
  std::string authority = "svc";
  std::string path = "/";
  http::Headers headers;
  uint32_t port = 80;
  RequestView view() const {
    RequestView v;
    v.method = method;
    v.authority = authority;
    v.path = path;
    v.headers = &headers;
    v.port = port;
    return v;
  }
};

Route routeWith(std::string name, std::vector<MatchBlock> blocks) {
  Route r;
  r.name = std::move(name);
  r.matches = std::move(blocks);
  return r;
}

MatchBlock uriBlock(StringMatcher m) {
  MatchBlock b;
  b.uri = std::move(m);
  return b;
}

TEST(StringMatcher, PrefixIsAPlainStringPrefix) {
  EXPECT_TRUE(prefix("/v2").matches("/v2"));
  EXPECT_TRUE(prefix("/v2").matches("/v2/x"));
  EXPECT_TRUE(prefix("/v2").matches("/v2example"));
  EXPECT_FALSE(prefix("/v2").matches("/v1"));
}

TEST(StringMatcher, RegexIsAFullMatch) {
  EXPECT_FALSE(regex("^/api").matches("/api/x"));
  EXPECT_TRUE(regex("/api.*").matches("/api/x"));
  EXPECT_TRUE(regex("\\d+$").matches("123"));
  EXPECT_FALSE(regex("\\d+$").matches("a123"));
}

TEST(StringMatcher, IgnoreCaseAffectsExactAndPrefixOnly) {
  StringMatcher m = exact("/a");
  m.ignore_case = true;
  EXPECT_TRUE(m.matches("/A"));
  StringMatcher p = prefix("/echo");
  p.ignore_case = true;
  EXPECT_TRUE(p.matches("/ECHO/x"));
}

TEST(RouteMatch, UriIgnoresQueryStringAndExactIsExact) {
  Route r = routeWith("r", {uriBlock(exact("/a"))});
  Req req;
  req.path = "/a?x=1";
  EXPECT_EQ(r.match(req.view()), 0);
  req.path = "/a/";
  EXPECT_EQ(r.match(req.view()), -1);
}

TEST(RouteMatch, BlocksAreOredFieldsAreAnded) {
  MatchBlock a = uriBlock(prefix("/a"));
  a.method = exact("POST");
  MatchBlock b = uriBlock(prefix("/b"));
  Route r = routeWith("r", {a, b});
  Req req;
  req.path = "/a/1";
  EXPECT_EQ(r.match(req.view()), -1) << "method GET does not satisfy block a";
  req.method = "POST";
  EXPECT_EQ(r.match(req.view()), 0);
  req.method = "GET";
  req.path = "/b/1";
  EXPECT_EQ(r.match(req.view()), 1);
}

TEST(RouteMatch, MethodIsCaseSensitive) {
  MatchBlock a;
  a.method = exact("GET");
  Route r = routeWith("r", {a});
  Req req;
  req.method = "get";
  EXPECT_EQ(r.match(req.view()), -1);
}

TEST(RouteMatch, HeadersExactPrefixRegexAndPresence) {
  MatchBlock b;
  b.headers.push_back({"x-version", exact("two")});
  b.headers.push_back({"x-user", prefix("adm")});
  b.headers.push_back({"x-id", regex("[0-9]+")});
  b.headers.push_back({"x-flag", present()});
  Route r = routeWith("r", {b});
  Req req;
  req.headers.add("X-Version", "two");
  req.headers.add("x-user", "admin");
  req.headers.add("X-Id", "42");
  req.headers.add("X-Flag", "");
  EXPECT_EQ(r.match(req.view()), 0);
  req.headers.set("X-Id", "4a");
  EXPECT_EQ(r.match(req.view()), -1);
  req.headers.set("X-Id", "4");
  req.headers.remove("X-Flag");
  EXPECT_EQ(r.match(req.view()), -1);
}

TEST(RouteMatch, WithoutHeadersPresenceAndValue) {
  MatchBlock absent;
  absent.without_headers.push_back({"x-debug", present()});
  Route r = routeWith("r", {absent});
  Req req;
  EXPECT_EQ(r.match(req.view()), 0);
  req.headers.add("x-debug", "1");
  EXPECT_EQ(r.match(req.view()), -1);

  MatchBlock value;
  value.without_headers.push_back({"x-env", exact("prod")});
  Route r2 = routeWith("r2", {value});
  Req req2;
  EXPECT_EQ(r2.match(req2.view()), 0) << "an absent header passes a negated value match";
  req2.headers.add("x-env", "prod");
  EXPECT_EQ(r2.match(req2.view()), -1);
  req2.headers.set("x-env", "dev");
  EXPECT_EQ(r2.match(req2.view()), 0);
}

TEST(RouteMatch, QueryParams) {
  MatchBlock b;
  b.query_params.push_back({"debug", exact("")});
  b.query_params.push_back({"id", regex("\\d+")});
  Route r = routeWith("r", {b});
  Req req;
  req.path = "/x?debug&id=123";
  EXPECT_EQ(r.match(req.view()), 0);
  req.path = "/x?debug=&id=a123";
  EXPECT_EQ(r.match(req.view()), -1);
  req.path = "/x?id=123";
  EXPECT_EQ(r.match(req.view()), -1);
}

TEST(RouteMatch, SchemeAuthorityPort) {
  MatchBlock b;
  b.authority = prefix("api.");
  b.port = 8080;
  Route r = routeWith("r", {b});
  Req req;
  req.authority = "api.example.com:8080";
  req.port = 8080;
  EXPECT_EQ(r.match(req.view()), 0);
  req.port = 80;
  EXPECT_EQ(r.match(req.view()), -1);
}

RouteTable tableOf(std::vector<VirtualHost> vhosts) {
  RouteTable t;
  t.vhosts = std::move(vhosts);
  t.index();
  return t;
}

VirtualHost vhost(std::string name, std::vector<std::string> domains, std::vector<Route> routes) {
  VirtualHost v;
  v.name = std::move(name);
  v.domains = std::move(domains);
  v.routes = std::move(routes);
  return v;
}

TEST(RouteTable, FirstMatchingRuleWinsAndNoMatchIs404) {
  RouteTable t = tableOf({vhost("svc", {"svc"},
                                {routeWith("hello", {uriBlock(prefix("/echo/hello"))}),
                                 routeWith("echo", {uriBlock(prefix("/echo"))})})});
  Req req;
  req.path = "/echo/hello";
  EXPECT_EQ(t.route(req.view()).route->name, "hello");
  req.path = "/echo/world";
  EXPECT_EQ(t.route(req.view()).route->name, "echo");
  req.path = "/other";
  auto m = t.route(req.view());
  ASSERT_NE(m.vhost, nullptr);
  EXPECT_EQ(m.route, nullptr);
}

TEST(RouteTable, HostPrecedenceExactThenLongestWildcardThenStar) {
  RouteTable t = tableOf({vhost("star", {"*"}, {routeWith("star", {})}),
                          vhost("short", {"*.com"}, {routeWith("short", {})}),
                          vhost("long", {"*.example.com"}, {routeWith("long", {})}),
                          vhost("exact", {"api.example.com"}, {routeWith("exact", {})})});
  EXPECT_EQ(t.findVirtualHost("api.example.com")->name, "exact");
  EXPECT_EQ(t.findVirtualHost("API.Example.com:8080")->name, "exact");
  EXPECT_EQ(t.findVirtualHost("web.example.com")->name, "long");
  EXPECT_EQ(t.findVirtualHost("example.com")->name, "short") << "*.example.com excludes the apex";
  EXPECT_EQ(t.findVirtualHost("foo.org")->name, "star");
}

TEST(RouteTable, UnknownHostWithoutCatchAll) {
  RouteTable t = tableOf({vhost("a", {"a"}, {})});
  EXPECT_EQ(t.findVirtualHost("b"), nullptr);
}

TEST(Weights, EightyTwentyWithinFivePercent) {
  Route r;
  WeightedCluster a, b;
  a.host = "a";
  a.weight = 80;
  b.host = "b";
  b.weight = 20;
  r.clusters = {a, b};
  r.total_weight = 100;
  std::mt19937_64 rng(7);
  std::map<std::string, int> seen;
  for (int i = 0; i < 1000; ++i) {
    uint64_t roll = std::uniform_int_distribution<uint64_t>(0, r.total_weight - 1)(rng);
    seen[r.pickCluster(roll)->host]++;
  }
  EXPECT_NEAR(seen["a"], 800, 50);
  EXPECT_NEAR(seen["b"], 200, 50);
}

TEST(Weights, RelativeWeightsNeedNotSumTo100) {
  Route r;
  WeightedCluster a, b;
  a.host = "a";
  a.weight = 1;
  b.host = "b";
  b.weight = 3;
  r.clusters = {a, b};
  r.total_weight = 4;
  EXPECT_EQ(r.pickCluster(0)->host, "a");
  EXPECT_EQ(r.pickCluster(1)->host, "b");
  EXPECT_EQ(r.pickCluster(3)->host, "b");
}

TEST(Rewrite, PrefixReplacesOnlyTheMatchedPrefix) {
  Rewrite rw;
  rw.uri = "/v2";
  MatchBlock b = uriBlock(prefix("/v1"));
  EXPECT_EQ(rewritePath(rw, &b, "/v1/users?x=1"), "/v2/users?x=1");
  MatchBlock e = uriBlock(exact("/login"));
  rw.uri = "/auth/login";
  EXPECT_EQ(rewritePath(rw, &e, "/login?next=/"), "/auth/login?next=/");
}

TEST(Rewrite, UriRegexRewriteWithGroups) {
  Rewrite rw;
  rw.uri_regex = std::make_shared<re2::RE2>("^/service/([^/]+)(/.*)$");
  rw.uri_regex_substitution = "\\2/instance/\\1";
  EXPECT_EQ(rewritePath(rw, nullptr, "/service/foo/v1/api?q"), "/v1/api/instance/foo?q");
}

TEST(Redirect, DefaultsKeepSchemeHostAndPath) {
  Redirect rd;
  rd.uri = "/new";
  Req req;
  req.authority = "shop.example.com";
  req.path = "/old?a=1";
  EXPECT_EQ(redirectLocation(rd, nullptr, req.view()), "http://shop.example.com/new?a=1");
  rd.uri.clear();
  rd.scheme = "https";
  rd.derive_port = Redirect::DerivePort::kFromProtocolDefault;
  EXPECT_EQ(redirectLocation(rd, nullptr, req.view()), "https://shop.example.com/old?a=1");
  rd.port = 8443;
  EXPECT_EQ(redirectLocation(rd, nullptr, req.view()), "https://shop.example.com:8443/old?a=1");
  Redirect pr;
  pr.prefix_rewrite = "/v2";
  pr.authority = "other";
  MatchBlock b = uriBlock(prefix("/v1"));
  req.path = "/v1/x";
  EXPECT_EQ(redirectLocation(pr, &b, req.view()), "http://other/v2/x");
}

TEST(HeaderOps, RemoveThenSetThenAddAppends) {
  HeaderOps ops;
  ops.remove = {"x-drop"};
  ops.set = {{"x-set", "1"}};
  ops.add = {{"x-add", "b"}, {"x-new", "n"}};
  http::Headers h;
  h.add("X-Drop", "y");
  h.add("X-Set", "0");
  h.add("X-Add", "a");
  ops.apply(h);
  EXPECT_FALSE(h.has("x-drop"));
  EXPECT_EQ(*h.get("x-set"), "1");
  EXPECT_EQ(*h.get("x-add"), "a,b");
  EXPECT_EQ(*h.get("x-new"), "n");
}

TEST(RetryPolicy, IstioDefaultRetriesConnectFailureNotStatus) {
  RetryPolicy p = RetryPolicy::istioDefault();
  EXPECT_EQ(p.num_retries, 2u);
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0));
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kReset, 0)) << "refused-stream";
  EXPECT_FALSE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 503));
}

TEST(RetryPolicy, ParsesPoliciesAndCodes) {
  RetryPolicy p = RetryPolicy::parse(3, "gateway-error, 418 ,retriable-4xx,bogus");
  EXPECT_EQ(p.num_retries, 3u);
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 502));
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 504));
  EXPECT_FALSE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 500));
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 418));
  EXPECT_TRUE(p.shouldRetry(RetryPolicy::Outcome::kStatus, 409));
  ASSERT_EQ(p.unsupported.size(), 1u);
  EXPECT_EQ(p.unsupported[0], "bogus");
  RetryPolicy five = RetryPolicy::parse(1, "5xx");
  EXPECT_TRUE(five.shouldRetry(RetryPolicy::Outcome::kStatus, 500));
  EXPECT_TRUE(five.shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0));
  EXPECT_FALSE(five.shouldRetry(RetryPolicy::Outcome::kStatus, 404));
  EXPECT_FALSE(RetryPolicy::none().shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0));
}

TEST(SplitAuthority, HostPortAndV6) {
  EXPECT_EQ(splitAuthority("a:80").first, "a");
  EXPECT_EQ(splitAuthority("a:80").second, 80u);
  EXPECT_EQ(splitAuthority("a").second, 0u);
  EXPECT_EQ(splitAuthority("[::1]:9").first, "::1");
  EXPECT_EQ(splitAuthority("[::1]:9").second, 9u);
}

}  // namespace
}  // namespace sluice::proxy
