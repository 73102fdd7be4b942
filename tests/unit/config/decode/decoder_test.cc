// The table-driven object decoder (config/decode/decoder.h): what every key of every kind gets
// from Decoder::object without writing it per key.

#include "config/decode/decoder.h"

#include <gtest/gtest.h>

namespace sluice::config::decode {
namespace {

struct Point {
  std::optional<int32_t> x;
  std::string label;
};

constexpr Field<Point> kPointFields[] = {
    {"x", [](Decoder& d, const At& v, Point& p) { p.x = d.i32(v); }, "x is required"},
    {"label", [](Decoder& d, const At& v, Point& p) { p.label = d.strOr(v); }, "label is required",
     RequiredAt::kField},
};

class DecoderTest : public ::testing::Test {
 protected:
  // Decodes `yaml` as the object at path "spec.point".
  Point decode(const std::string& yaml, bool* walked = nullptr) {
    Decoder d(set_, "t.yaml");
    Point p;
    const bool ok = d.object(At{YAML::Load(yaml), "spec.point"}, kPointFields, p);
    if (walked != nullptr) *walked = ok;
    return p;
  }
  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    for (const auto& d : set_.diagnostics) out.push_back(d.field_path + ": " + d.message);
    return out;
  }
  ConfigSet set_;
};

TEST_F(DecoderTest, DecodesEveryKnownKeyThroughItsHandler) {
  Point p = decode("{x: 3, label: a}");
  EXPECT_EQ(p.x, 3);
  EXPECT_EQ(p.label, "a");
  EXPECT_TRUE(set_.diagnostics.empty());
}

TEST_F(DecoderTest, UnknownAndDuplicateKeysAreErrorsWithTheirPath) {
  decode("{x: 1, label: a, y: 2}");
  decode("{x: 1, x: 2, label: a}");
  EXPECT_EQ(problems(), (std::vector<std::string>{"spec.point.y: unknown field \"y\"",
                                                  "spec.point.x: duplicate field"}));
}

TEST_F(DecoderTest, MissingOrNullRequiredKeysAreReportedAtObjectOrFieldPath) {
  decode("{x: ~}");
  EXPECT_EQ(problems(), (std::vector<std::string>{"spec.point: x is required",
                                                  "spec.point.label: label is required"}));
}

TEST_F(DecoderTest, RequiredKeysAreReportedAlsoWhenTheObjectIsMalformed) {
  bool walked = true;
  decode("[1, 2]", &walked);
  EXPECT_FALSE(walked);
  EXPECT_EQ(problems(), (std::vector<std::string>{"spec.point: expected an object, got a list",
                                                  "spec.point: x is required",
                                                  "spec.point.label: label is required"}));
}

TEST_F(DecoderTest, HandlerErrorsNameTheKeyPath) {
  decode("{x: abc, label: a}");
  EXPECT_EQ(problems(),
            (std::vector<std::string>{"spec.point.x: expected an integer, got \"abc\""}));
}

}  // namespace
}  // namespace sluice::config::decode
