// The v1 API's checksum digest (registry/nacos/md5.h): RFC 1321's test suite, and OpenSSL's MD5
// on every length around the block and padding boundaries and on random bytes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

#include "registry/nacos/md5.h"

namespace sluice::registry::nacos {
namespace {

std::string openssl(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr), 1);
  std::string out;
  for (unsigned int i = 0; i < len; ++i) out += fmt::format("{:02x}", digest[i]);
  return out;
}

TEST(NacosMd5, Rfc1321TestSuite) {
  EXPECT_EQ(md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5Hex("a"), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(md5Hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(md5Hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(md5Hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(md5Hex("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                   "7890"),
            "57edf4a22be3c955ac49da2e2107b67a");
}

TEST(NacosMd5, SameAsOpenSslOnEveryLengthAroundTheBlocksAndOnRandomBytes) {
  std::mt19937 rng(1321);
  for (size_t n = 0; n <= 200; ++n) {
    std::string data(n, '\0');
    for (char& c : data) c = static_cast<char>(rng() & 0xff);
    ASSERT_EQ(md5Hex(data), openssl(data)) << "length " << n;
  }
  std::string big(1 << 20, '\0');
  for (char& c : big) c = static_cast<char>(rng() & 0xff);
  EXPECT_EQ(md5Hex(big), openssl(big));
}

}  // namespace
}  // namespace sluice::registry::nacos
