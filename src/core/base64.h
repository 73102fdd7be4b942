#pragma once
// Base64 (RFC 4648), written here because two small inputs need it and each wants its own
// strictness: HTTP2-Settings values (http/h2/upgrade.h: base64url, RFC 7540 §3.2.1) and
// DirectResponse body.bytes in mesh config (any of the two alphabets, as Istio's YAML users
// write it). Pure functions.

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

enum class Base64Input {
  // base64url only (RFC 4648 §5); trailing '=' padding tolerated; nothing else skipped; at least
  // one character, and no lone character left over (6 bits are no byte).
  kStrictUrl,
  // Either alphabet ('+' or '-', '/' or '_'); '=', spaces and line breaks anywhere are skipped.
  kLenient,
};

// The decoded bytes, or nullopt when `in` is not base64 as `mode` reads it.
std::optional<std::string> decodeBase64(std::string_view in, Base64Input mode);

// base64url without padding (RFC 4648 §5), as an HTTP/2 client writes HTTP2-Settings.
std::string encodeBase64Url(std::string_view bytes);

}  // namespace sluice
