#include "core/base64.h"

#include <cstdint>

namespace sluice {
namespace {

// 0-63, or -1. `url_only`: '+' and '/' are not letters of the alphabet.
int letterValue(char c, bool url_only) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || (c == '+' && !url_only)) return 62;
  if (c == '_' || (c == '/' && !url_only)) return 63;
  return -1;
}

}  // namespace

std::optional<std::string> decodeBase64(std::string_view in, Base64Input mode) {
  bool strict = mode == Base64Input::kStrictUrl;
  if (strict) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    // Padding alone is no token68 (RFC 9110 §11.2: one character at least before any '=').
    if (in.empty()) return std::nullopt;
    // One character left over carries 6 bits: no whole byte (RFC 4648 §4).
    if (in.size() % 4 == 1) return std::nullopt;
  }
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (!strict && (c == '=' || c == '\n' || c == '\r' || c == ' ')) continue;
    int v = letterValue(c, strict);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string encodeBase64Url(std::string_view bytes) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace sluice
