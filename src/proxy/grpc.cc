#include "proxy/grpc.h"

#include <array>

#include "core/strings.h"

namespace sluice::proxy::grpc {

namespace {

constexpr std::array<std::string_view, 17> kNames = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md): everything outside 0x20-0x7e and '%'.
std::string percentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace

bool isGrpc(const http::Headers& headers) {
  constexpr std::string_view kGrpc = "application/grpc";
  auto ct = headers.get("content-type");
  return ct && ct->size() >= kGrpc.size() && equalsIgnoreCase(ct->substr(0, kGrpc.size()), kGrpc);
}

std::optional<std::chrono::milliseconds> timeoutOf(const http::Headers& headers) {
  auto v = headers.get("grpc-timeout");
  if (!v || v->size() < 2 || v->size() > 9) return std::nullopt;
  auto n = parseUint(v->substr(0, v->size() - 1), 99'999'999);
  if (!n) return std::nullopt;
  using std::chrono::milliseconds;
  switch (v->back()) {
    case 'H':
      return milliseconds(*n * 3'600'000);
    case 'M':
      return milliseconds(*n * 60'000);
    case 'S':
      return milliseconds(*n * 1000);
    case 'm':
      return milliseconds(*n);
    case 'u':
      return milliseconds((*n + 999) / 1000);  // rounded up: a deadline never shrinks to 0
    case 'n':
      return milliseconds((*n + 999'999) / 1'000'000);
    default:
      return std::nullopt;
  }
}

int statusOf(const http::Headers& headers) {
  auto v = headers.get("grpc-status");
  if (!v) return -1;
  auto n = parseUint(trim(*v), 1000);
  return n ? static_cast<int>(*n) : -1;
}

int codeForName(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (equalsIgnoreCase(kNames[i], name)) return static_cast<int>(i);
  }
  return -1;
}

int codeForHttpStatus(int s) {
  switch (s) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14;  // UNAVAILABLE
    default:
      return 2;  // UNKNOWN
  }
}

LocalReply asGrpcReply(const LocalReply& reply, int grpc_code) {
  LocalReply g = reply;
  // A timeout the proxy enforced (route timeout, perTryTimeout, grpc-timeout) is the call's
  // deadline passing: DEADLINE_EXCEEDED, as Envoy answers since it stopped mapping its 504 to
  // UNAVAILABLE (which told clients to retry a call whose deadline had gone).
  int code = grpc_code >= 0 ? grpc_code
             : reply.flag == ResponseFlag::kUpstreamRequestTimeout
                 ? 4
                 : codeForHttpStatus(reply.status);
  g.status = 200;
  g.body.clear();
  g.headers.set("content-type", "application/grpc");
  g.headers.set("grpc-status", std::to_string(code));
  std::string_view text = trim(reply.body);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (!text.empty()) g.headers.set("grpc-message", percentEncode(text));
  return g;
}

}  // namespace sluice::proxy::grpc
