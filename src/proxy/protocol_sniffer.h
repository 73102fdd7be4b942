#pragma once
// Protocol detection on the transparent listener (what Envoy's http_inspector does for Istio):
// the first bytes a client sends decide whether the connection is HTTP/1.x (routed per request
// by the connection manager) or anything else (passed through as TCP to its original
// destination, byte for byte). The decision must never break a non-HTTP protocol, so "HTTP" is
// only said once a complete, well-formed HTTP/1.x request line is seen.

#include <cstddef>
#include <string_view>

namespace sluice::proxy {

enum class Sniffed {
  kHttp,      // a complete HTTP/1.0 or HTTP/1.1 request line
  kOther,     // cannot be an HTTP/1.x request (binary, TLS, HTTP/2 preface, ...)
  kNeedMore,  // a valid prefix of a request line so far
};

// Request lines longer than this are not waited for: the bytes so far decide (a proper
// prefix this long is treated as HTTP so the codec answers 414 instead of passing it through).
inline constexpr size_t kMaxSniffedLine = 8192;

Sniffed sniffHttp(std::string_view first_bytes);

}  // namespace sluice::proxy
