#include "core/base64.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(Base64, StrictUrlTakesOnlyBase64UrlWithTrailingPadding) {
  EXPECT_EQ(decodeBase64("AAEAABAA", Base64Input::kStrictUrl), std::string("\0\1\0\0\x10\0", 6));
  EXPECT_EQ(decodeBase64("-_8", Base64Input::kStrictUrl), "\xfb\xff");
  EXPECT_EQ(decodeBase64("-_8=", Base64Input::kStrictUrl), "\xfb\xff");
  for (const char* bad : {"", "==", "+/8", "AA AA", "A", "AAAAA"}) {
    EXPECT_FALSE(decodeBase64(bad, Base64Input::kStrictUrl).has_value()) << bad;
  }
}

TEST(Base64, LenientTakesEitherAlphabetAndSkipsPaddingAndWhitespace) {
  EXPECT_EQ(decodeBase64("+/8=", Base64Input::kLenient), "\xfb\xff");
  EXPECT_EQ(decodeBase64("-_8", Base64Input::kLenient), "\xfb\xff");
  EXPECT_EQ(decodeBase64("aGVs\nbG8=\r\n", Base64Input::kLenient), "hello");
  EXPECT_EQ(decodeBase64("", Base64Input::kLenient), "");
  EXPECT_FALSE(decodeBase64("aGVs*bG8", Base64Input::kLenient).has_value());
}

TEST(Base64, EncodedUrlDecodesBack) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  for (size_t n = 1; n <= bytes.size(); n += 37) {
    std::string encoded = encodeBase64Url(bytes.substr(0, n));
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(decodeBase64(encoded, Base64Input::kStrictUrl), bytes.substr(0, n));
  }
}

}  // namespace
}  // namespace sluice
