#include "core/strings.h"

#include <gtest/gtest.h>

#include "core/result.h"

namespace sluice {
namespace {

TEST(Strings, ParseUintRejectsJunkSignsAndOverflow) {
  EXPECT_EQ(parseUint("8080"), 8080u);
  EXPECT_EQ(parseUint("0"), 0u);
  EXPECT_FALSE(parseUint(""));
  EXPECT_FALSE(parseUint("-1"));
  EXPECT_FALSE(parseUint("+1"));
  EXPECT_FALSE(parseUint("12a"));
  EXPECT_FALSE(parseUint("99999999999999999999999"));
  EXPECT_FALSE(parseUint("65536", 65535));
}

TEST(Strings, CaseInsensitiveCompareAndTrim) {
  EXPECT_TRUE(equalsIgnoreCase("Content-Length", "content-length"));
  EXPECT_FALSE(equalsIgnoreCase("Content-Length", "content-lengths"));
  EXPECT_EQ(trim(" \tvalue \t"), "value");
  auto parts = split("a,b,,c", ',');
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[2], "");
}

TEST(Result, ErrorDescribeNamesCodeSourceAndMessage) {
  Result<int> r =
      makeError(ErrorCode::kUnavailable, ErrorSource::kUpstream, "connect refused", true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().describe(), "unavailable (upstream, retryable): connect refused");
}

}  // namespace
}  // namespace sluice
