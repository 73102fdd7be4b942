#pragma once
// Protocol detection on the transparent listener (what Envoy's http_inspector does for Istio):
// the first bytes a client sends decide whether the connection is HTTP/1.x (routed per request
// by the connection manager) or anything else (passed through as TCP to its original
// destination, byte for byte). The decision must never break a non-HTTP protocol, so "HTTP" is
// only said once a complete, well-formed HTTP/1.x request line is seen, "HTTP/2" once the whole
// 24-byte HTTP/2 connection preface is (cleartext with prior knowledge, RFC 9113 §3.3).

#include <cstddef>
#include <string_view>

namespace sluice::proxy {

enum class Sniffed {
  kHttp,      // a complete HTTP/1.0 or HTTP/1.1 request line
  kHttp2,     // the HTTP/2 connection preface
  kOther,     // neither (binary, TLS, ...)
  kNeedMore,  // a valid prefix of a request line or of the preface so far
};

// Request lines longer than this are not waited for: the bytes so far decide (a proper
// prefix this long is treated as HTTP so the codec answers 414 instead of passing it through).
inline constexpr size_t kMaxSniffedLine = 8192;

Sniffed sniffHttp(std::string_view first_bytes);

}  // namespace sluice::proxy
