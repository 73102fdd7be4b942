#include <gtest/gtest.h>

#include "config/model.h"

namespace sluice::config {
namespace {

using std::chrono::nanoseconds;

nanoseconds parsed(std::string_view text) {
  auto d = Duration::parse(text);
  EXPECT_TRUE(d.has_value()) << text << ": " << (d ? "" : d.error().message);
  return d ? d->value : nanoseconds(-1);
}

TEST(DurationTest, ParsesIstioStyleDurations) {
  EXPECT_EQ(parsed("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(parsed("200ms"), std::chrono::milliseconds(200));
  EXPECT_EQ(parsed("1m"), std::chrono::minutes(1));
  EXPECT_EQ(parsed("1h"), std::chrono::hours(1));
  EXPECT_EQ(parsed("10us"), std::chrono::microseconds(10));
  EXPECT_EQ(parsed("5ns"), nanoseconds(5));
  EXPECT_EQ(parsed("0s"), nanoseconds(0));
  EXPECT_EQ(parsed("0"), nanoseconds(0));
  EXPECT_EQ(parsed("1m30s"), std::chrono::seconds(90));
  EXPECT_EQ(parsed(".5s"), std::chrono::milliseconds(500));
  EXPECT_EQ(parsed("0.001s"), std::chrono::milliseconds(1));
}

TEST(DurationTest, RejectsJunkWithAClearMessage) {
  struct Bad {
    const char* text;
    const char* message;
  };
  for (const auto& b :
       {Bad{"-1s", "must not be negative"}, Bad{"1x", "unknown unit 'x'"},
        Bad{"", "empty duration"}, Bad{"1.5.5s", "invalid duration"}, Bad{"10", "missing a unit"},
        Bad{"s", "expected a number"}, Bad{"1 s", "unknown unit"}, Bad{"abc", "expected a number"},
        Bad{"99999999999999999999h", "out of range"}, Bad{"3000000h", "out of range"}}) {
    auto d = Duration::parse(b.text);
    ASSERT_FALSE(d.has_value()) << "'" << b.text << "' parsed";
    EXPECT_NE(d.error().message.find(b.message), std::string::npos)
        << "'" << b.text << "': " << d.error().message;
  }
}

TEST(DurationTest, LargestRepresentableDurationParses) {
  EXPECT_EQ(parsed("2562047h"), std::chrono::hours(2562047));
}

TEST(DurationTest, FormatsCompactly) {
  EXPECT_EQ(Duration{std::chrono::milliseconds(1500)}.toString(), "1.5s");
  EXPECT_EQ(Duration{std::chrono::milliseconds(200)}.toString(), "200ms");
  EXPECT_EQ(Duration{nanoseconds(0)}.toString(), "0s");
  EXPECT_EQ(Duration{std::chrono::microseconds(10)}.toString(), "10us");
  EXPECT_EQ(Duration{std::chrono::minutes(1)}.toString(), "60s");
}

}  // namespace
}  // namespace sluice::config
