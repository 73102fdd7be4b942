#include "proxy/protocol_sniffer.h"

namespace sluice::proxy {

namespace {

bool isMethodChar(char c) { return (c >= 'A' && c <= 'Z') || c == '-' || c == '_'; }

// Request-target bytes: visible ASCII (RFC 9112 forbids spaces and controls in it).
bool isTargetChar(char c) { return c > 0x20 && c < 0x7f; }

constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr size_t kMaxMethod = 24;
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace

Sniffed sniffHttp(std::string_view b) {
  if (!b.empty() && b.front() == 'P') {
    size_t n = b.size() < kHttp2Preface.size() ? b.size() : kHttp2Preface.size();
    if (b.substr(0, n) == kHttp2Preface.substr(0, n)) {
      return n == kHttp2Preface.size() ? Sniffed::kHttp2 : Sniffed::kNeedMore;
    }
  }
  // method SP
  size_t i = 0;
  while (i < b.size() && isMethodChar(b[i])) ++i;
  if (i == b.size()) return i <= kMaxMethod ? Sniffed::kNeedMore : Sniffed::kOther;
  if (i == 0 || i > kMaxMethod || b[i] != ' ') return Sniffed::kOther;
  ++i;
  // request-target SP
  size_t target_start = i;
  while (i < b.size() && isTargetChar(b[i])) ++i;
  if (i == b.size()) return b.size() >= kMaxSniffedLine ? Sniffed::kHttp : Sniffed::kNeedMore;
  if (i == target_start || b[i] != ' ') return Sniffed::kOther;
  ++i;
  // HTTP/1.x CRLF (a bare LF is tolerated here; the codec decides what it accepts)
  std::string_view rest = b.substr(i);
  size_t n = rest.size() < kVersionPrefix.size() ? rest.size() : kVersionPrefix.size();
  if (rest.substr(0, n) != kVersionPrefix.substr(0, n)) return Sniffed::kOther;
  if (rest.size() <= kVersionPrefix.size()) return Sniffed::kNeedMore;
  char minor = rest[kVersionPrefix.size()];
  if (minor != '0' && minor != '1') return Sniffed::kOther;
  if (rest.size() == kVersionPrefix.size() + 1) return Sniffed::kNeedMore;
  char end = rest[kVersionPrefix.size() + 1];
  if (end == '\n') return Sniffed::kHttp;
  if (end != '\r') return Sniffed::kOther;
  if (rest.size() == kVersionPrefix.size() + 2) return Sniffed::kNeedMore;
  return rest[kVersionPrefix.size() + 2] == '\n' ? Sniffed::kHttp : Sniffed::kOther;
}

}  // namespace sluice::proxy
