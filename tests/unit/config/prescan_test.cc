#include "config/prescan.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

TEST(PrescanTest, AcceptsOrdinaryYamlIncludingBlockScalars) {
  const char* yaml =
      "a:\n  b:\n  - c: [1, {d: e}]\n    code: |\n      if x then\n        \ty()\n"
      "          [[[[[[\n  f: \"[{\"\n# [ comment\n";
  EXPECT_FALSE(prescanYaml(yaml, 8).has_value());
}

TEST(PrescanTest, RejectsControlCharacters) {
  auto p = prescanYaml(std::string("a: b\nc: d\0e\n", 12), 64);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 2);
  EXPECT_EQ(p->column, 5);
  EXPECT_NE(p->message.find("0x00"), std::string::npos);
}

TEST(PrescanTest, RejectsInvalidUtf8) {
  auto p = prescanYaml("a: \xff\xfe\n", 64);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->message.find("invalid UTF-8"), std::string::npos);
  EXPECT_FALSE(prescanYaml("a: \xc3\xa9t\xc3\xa9\n", 64).has_value());  // "été"
}

TEST(PrescanTest, RejectsTabIndentation) {
  auto p = prescanYaml("a:\n\tb: c\n", 64);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->line, 2);
  EXPECT_NE(p->message.find("tab"), std::string::npos);
}

TEST(PrescanTest, RejectsDeepNestingInEveryStyle) {
  EXPECT_TRUE(prescanYaml(std::string(100, '[') + std::string(100, ']'), 64).has_value());
  std::string dashes;
  for (int i = 0; i < 100; ++i) dashes += "- ";
  EXPECT_TRUE(prescanYaml(dashes + "x\n", 64).has_value());
  std::string block;
  for (int i = 0; i < 100; ++i) block += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  auto p = prescanYaml(block, 64);
  ASSERT_TRUE(p.has_value());
  EXPECT_NE(p->message.find("nested deeper than 64"), std::string::npos);
  std::string json = std::string(100, '{');
  for (int i = 0; i < 100; ++i) json += "\"a\": {\n";
  EXPECT_TRUE(prescanYaml(json, 64).has_value());
}

TEST(PrescanTest, BracketsInsidePlainScalarsDoNotCount) {
  std::string yaml;
  for (int i = 0; i < 200; ++i) yaml += "- regex: /a[0-9]+\n";
  EXPECT_FALSE(prescanYaml(yaml, 8).has_value());
}

}  // namespace
}  // namespace sluice::config
