#include <gtest/gtest.h>
#include <re2/re2.h>

#include "config/model.h"
#include "config/names.h"

namespace sluice::config {
namespace {

StringMatch regexMatch(std::string_view pattern) {
  auto re = compileRegex(pattern);
  EXPECT_TRUE(re.has_value()) << pattern;
  return StringMatch{StringMatch::Kind::kRegex, std::string(pattern), re ? *re : nullptr};
}

TEST(RegexTest, CompileFailureNamesTheProblem) {
  auto re = compileRegex("/a(");
  ASSERT_FALSE(re.has_value());
  EXPECT_NE(re.error().message.find("missing )"), std::string::npos) << re.error().message;
  EXPECT_NE(re.error().message.find("RE2"), std::string::npos);
}

TEST(RegexTest, LengthLimitIs1024) {
  EXPECT_TRUE(compileRegex(std::string(1024, 'a')).has_value());
  auto re = compileRegex(std::string(1025, 'a'));
  ASSERT_FALSE(re.has_value());
  EXPECT_NE(re.error().message.find("max length allowed is 1024"), std::string::npos);
  EXPECT_FALSE(compileRegex("").has_value());
}

TEST(RegexTest, MatchesTheWholeStringLikeEnvoySafeRegex) {
  auto api = regexMatch("^/api");
  EXPECT_TRUE(api.matches("/api"));
  EXPECT_FALSE(api.matches("/api/x"));  // full match, not search
  EXPECT_TRUE(regexMatch("/api.*").matches("/api/x"));
  auto digits = regexMatch("\\d+$");
  EXPECT_TRUE(digits.matches("123"));
  EXPECT_FALSE(digits.matches("a123"));
  // ignoreUriCase does not change a regex.
  EXPECT_FALSE(regexMatch("/a").matches("/A", /*ignore_case=*/true));
  EXPECT_TRUE(regexMatch("(?i)/a").matches("/A"));
}

TEST(StringMatchTest, ExactPrefixPresence) {
  StringMatch exact{StringMatch::Kind::kExact, "/a", nullptr};
  EXPECT_TRUE(exact.matches("/a"));
  EXPECT_FALSE(exact.matches("/a/"));
  EXPECT_TRUE(exact.matches("/A", true));
  StringMatch prefix{StringMatch::Kind::kPrefix, "/v2", nullptr};
  EXPECT_TRUE(prefix.matches("/v2example"));  // plain string prefix, not path-segment aware
  EXPECT_TRUE(prefix.matches("/v2/x"));
  EXPECT_FALSE(prefix.matches("/v"));
  EXPECT_FALSE(prefix.matches("/V2"));
  EXPECT_TRUE(prefix.matches("/V2", true));
  StringMatch present{StringMatch::Kind::kPresent, "", nullptr};
  EXPECT_TRUE(present.matches(""));
}

TEST(NamesTest, ShortNamesResolveInTheRuleNamespace) {
  EXPECT_EQ(resolveShortName("service-provider", "default"),
            "service-provider.default.svc.cluster.local");
  EXPECT_EQ(resolveShortName("reviews.prod", "default"), "reviews.prod");  // has a dot: as is
  EXPECT_EQ(resolveShortName("*", "default"), "*");
  EXPECT_EQ(resolveShortName("10.0.0.1", "default"), "10.0.0.1");
  EXPECT_EQ(resolveShortName("Svc", "ns1"), "svc.ns1.svc.cluster.local");
}

TEST(NamesTest, HostChecks) {
  EXPECT_FALSE(checkHost("a.example.com"));
  EXPECT_FALSE(checkHost("*.example.com"));
  EXPECT_FALSE(checkHost("*"));
  EXPECT_FALSE(checkHost("10.1.2.3"));
  EXPECT_TRUE(checkHost("a*.example.com"));
  EXPECT_TRUE(checkHost("foo.123"));
  EXPECT_TRUE(checkHost(std::string(300, 'a')));
  EXPECT_TRUE(checkHost("-a.com"));
  EXPECT_TRUE(checkHost(""));
}

TEST(NamesTest, HostOverlap) {
  EXPECT_TRUE(hostsOverlap("a.foo.com", "*.foo.com"));
  EXPECT_FALSE(hostsOverlap("foo.com", "*.foo.com"));
  EXPECT_TRUE(hostsOverlap("*.foo.com", "*.com"));
  EXPECT_FALSE(hostsOverlap("*.foo.com", "*.bar.com"));
  EXPECT_TRUE(hostsOverlap("x", "*"));
}

}  // namespace
}  // namespace sluice::config
