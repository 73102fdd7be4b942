#pragma once
// MD5 (RFC 1321), for the `checksum` of the embedded server's v1 instance lists, which Nacos
// clients compare as the real server computes it. Not for security. Written here because it was
// libcrypto's only use in the binary, and libcrypto is ~1.4 MiB resident in every sidecar
// (issue #15); tests/unit/registry/nacos_md5_test.cc checks it against RFC 1321's test suite and
// against OpenSSL.
//
// Threading: a pure function.

#include <string>
#include <string_view>

namespace sluice::registry::nacos {

// The digest as 32 lowercase hex digits.
std::string md5Hex(std::string_view data);

}  // namespace sluice::registry::nacos
