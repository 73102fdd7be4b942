#include "http/codec.h"

#include <fmt/format.h>

#include <array>
#include <cstring>

#include "core/strings.h"

namespace sluice::http {
namespace {

constexpr uint8_t kTok = 1;   // tchar
constexpr uint8_t kVal = 2;   // field-value char (HTAB, SP, VCHAR, obs-text)
constexpr uint8_t kTgt = 4;   // request-target char (VCHAR)
constexpr uint8_t kHost = 8;  // Host field chars: reg-name / IP-literal / port

constexpr std::array<uint8_t, 256> makeTable() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t f = 0;
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool digit = c >= '0' && c <= '9';
    if (alpha || digit) f |= kTok | kHost;
    for (char s : std::string_view("!#$%&'*+-.^_`|~")) {
      if (c == s) f |= kTok;
    }
    for (char s : std::string_view("-._~!$&'()*+,;=%:[]")) {
      if (c == s) f |= kHost;
    }
    if (c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80) f |= kVal;
    if (c >= 0x21 && c <= 0x7e) f |= kTgt;
    t[static_cast<size_t>(c)] = f;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kChars = makeTable();

inline bool has(char c, uint8_t f) { return (kChars[static_cast<unsigned char>(c)] & f) != 0; }

std::string describeChar(char c) {
  switch (c) {
    case '\r':
      return "bare CR";
    case '\n':
      return "bare LF";
    case '\0':
      return "NUL";
    default:
      return fmt::format("character 0x{:02x}", static_cast<unsigned char>(c));
  }
}

// Index of the first byte at or after `i` that is not a field-value character (CTL other than
// HTAB, or DEL). Eight bytes at a time: values are long and almost never contain HTAB, so the
// word loop usually runs until the CR that ends the line. `n` bounds the scan; the byte at the
// returned index is always inside [0, n) because every line ends in CRLF.
inline size_t skipFieldValue(const char* p, size_t i, size_t n) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  while (i + 8 <= n) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;  // some byte < 0x20
    uint64_t y = x ^ (kOnes * 0x7f);
    uint64_t del = (y - kOnes) & ~y & kHigh;  // some byte == 0x7f
    if ((below_space | del) != 0) break;
    i += 8;
  }
  while (i < n && has(p[i], kVal)) ++i;
  return i;
}

// Case-insensitive compare against a lowercase literal made of letters and '-' (the names of
// the fields the codec interprets). Field names are tokens, so `c | 0x20` only folds case.
inline bool nameIs(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

HeadResult fail(int status, std::string reason) {
  HeadResult r;
  r.status = ParseStatus::kError;
  r.error = ParseError{status, std::move(reason)};
  return r;
}

// Finds the end of a head incrementally. Returns kComplete with `consumed` = end offset, kError,
// or kIncomplete (the state remembers how far it got).
HeadResult scanHead(std::string_view data, RequestHeadParser::ScanState& s, const Limits& lim,
                    bool request) {
  const char* p = data.data();
  const size_t n = data.size();
  const int line_status = request ? 414 : 502;
  const int head_status = request ? 431 : 502;
  const int bad_status = request ? 400 : 502;
  // Leading empty lines (robustness, RFC 9112 §2.2).
  while (s.first_line && s.scanned == s.start && s.start < n) {
    if (p[s.start] == '\n') return fail(bad_status, "bare LF before the start line");
    if (p[s.start] != '\r') break;
    if (s.start + 1 >= n) return HeadResult{};
    if (p[s.start + 1] != '\n') return fail(bad_status, "bare CR before the start line");
    s.start += 2;
    s.scanned = s.start;
    if (s.start > lim.max_head_bytes)
      return fail(bad_status, "too many empty lines before the start line");
  }
  while (s.scanned < n) {
    const void* hit = std::memchr(p + s.scanned, '\n', n - s.scanned);
    if (hit == nullptr) {
      s.scanned = n;
      break;
    }
    const size_t i = static_cast<size_t>(static_cast<const char*>(hit) - p);
    // Size limits first, in the order the no-LF path below applies them, so the verdict does not
    // depend on how the bytes were split.
    if (s.first_line && i - s.start > lim.max_request_line + 1) {
      return fail(line_status, fmt::format("{} line longer than {} bytes",
                                           request ? "request" : "status", lim.max_request_line));
    }
    if (i - s.start > lim.max_head_bytes) {
      return fail(head_status, fmt::format("head larger than {} bytes", lim.max_head_bytes));
    }
    if (i == s.start || p[i - 1] != '\r') {
      return fail(bad_status,
                  fmt::format("bare LF at byte {} of the head (CRLF required)", i - s.start));
    }
    if (s.first_line) {
      if (i - 1 - s.start > lim.max_request_line) {
        return fail(line_status, fmt::format("{} line longer than {} bytes",
                                             request ? "request" : "status", lim.max_request_line));
      }
      s.first_line = false;
    } else if (p[i - 2] == '\n') {
      HeadResult r;
      r.status = ParseStatus::kComplete;
      r.consumed = i + 1;
      return r;
    } else if (s.lines >= lim.max_headers + 1) {
      return fail(head_status, fmt::format("more than {} header fields", lim.max_headers));
    }
    ++s.lines;
    if (i + 1 - s.start > lim.max_head_bytes) {
      return fail(head_status, fmt::format("head larger than {} bytes", lim.max_head_bytes));
    }
    s.scanned = i + 1;
  }
  if (s.first_line && n - s.start > lim.max_request_line + 1) {
    return fail(line_status, fmt::format("{} line longer than {} bytes",
                                         request ? "request" : "status", lim.max_request_line));
  }
  if (n - s.start > lim.max_head_bytes) {
    return fail(head_status, fmt::format("head larger than {} bytes", lim.max_head_bytes));
  }
  return HeadResult{};
}

// Accumulates the framing- and connection-relevant fields while headers are parsed, so the head
// is walked once.
struct FieldFacts {
  int host_count = 0;
  std::string_view host;
  bool has_cl = false;
  uint64_t cl = 0;
  bool has_te = false;
  bool te_chunked_last = false;
  std::string_view te_unknown;  // first coding other than chunked
  bool conn_close = false;
  bool conn_keep_alive = false;
  bool expect_continue = false;
  bool has_expect = false;

  // Returns an error reason (empty when fine).
  std::string onField(std::string_view name, std::string_view value) {
    switch (name.size()) {
      case 4:
        if (nameIs(name, "host")) {
          ++host_count;
          host = value;
        }
        break;
      case 6:
        if (nameIs(name, "expect")) {
          has_expect = true;
          if (equalsIgnoreCase(value, "100-continue")) expect_continue = true;
        }
        break;
      case 10:
        if (nameIs(name, "connection")) onConnection(value);
        break;
      case 14:
        if (nameIs(name, "content-length")) return onContentLength(value);
        break;
      case 17:
        if (nameIs(name, "transfer-encoding")) return onTransferEncoding(value);
        break;
      default:
        break;
    }
    return {};
  }

  std::string onContentLength(std::string_view value) {
    // RFC 9110 §8.6 lets a recipient fold a list of identical values ("5, 5") or reject it; we
    // reject every list and every repeated field: a proxy that folds while a peer takes the first
    // value (or the last) is how requests get smuggled.
    if (has_cl) return "several Content-Length fields (exactly one value is allowed)";
    if (value.find(',') != std::string_view::npos) {
      return fmt::format("Content-Length '{}' is a list (exactly one value is allowed)", value);
    }
    std::string_view item = trim(value);
    if (item.empty()) return "empty Content-Length";
    // 2^62 keeps every later sum far from overflow.
    auto n = parseUint(item, uint64_t{1} << 62);
    if (!n) return fmt::format("Content-Length '{}' is not a number", value);
    has_cl = true;
    cl = *n;
    return {};
  }

  std::string onTransferEncoding(std::string_view value) {
    has_te = true;
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t comma = value.find(',', pos);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view item = trim(value.substr(pos, comma - pos));
      pos = comma + 1;
      if (item.empty()) continue;  // empty list elements are allowed (RFC 9110 §5.6.1)
      if (te_chunked_last) return "Transfer-Encoding: chunked is not the final coding";
      if (equalsIgnoreCase(item, "chunked")) {
        te_chunked_last = true;
        continue;
      }
      if (!isValidToken(item)) return fmt::format("invalid transfer coding '{}'", item);
      if (te_unknown.empty()) te_unknown = item;
    }
    return {};
  }

  void onConnection(std::string_view value) {
    size_t pos = 0;
    while (pos <= value.size()) {
      size_t comma = value.find(',', pos);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view item = trim(value.substr(pos, comma - pos));
      pos = comma + 1;
      if (equalsIgnoreCase(item, "close")) conn_close = true;
      if (equalsIgnoreCase(item, "keep-alive")) conn_keep_alive = true;
    }
  }

  bool keepAlive(Version v) const {
    if (conn_close) return false;
    return v == Version::kHttp11 || conn_keep_alive;
  }
};

// Parses field lines "name: value\r\n"... in `block` (which ends right after the last line's
// CRLF, without the final blank line) into `out`, replacing its content. Existing entries are
// overwritten in place so a RequestHead reused across a keep-alive connection reuses its strings'
// capacity. `what` is "header" or "trailer". Returns an error reason (empty when fine). FieldFacts
// keeps views into `block`, never into `out` (whose strings move when the vector grows).
std::string parseFieldLines(std::string_view block, Headers& out, FieldFacts& facts,
                            const char* what) {
  auto& entries = out.entries();
  size_t used = 0;
  auto finish = [&](std::string err) {
    entries.resize(used);
    return err;
  };
  const char* p = block.data();
  const size_t n = block.size();
  size_t pos = 0;
  while (pos < n) {
    // Every line ends in CRLF (the scanner checked that each LF follows a CR), so the scans below
    // stop at the CR at the latest; a CR not followed by LF is a bare CR.
    const size_t line_no = used + 1;
    if (p[pos] == ' ' || p[pos] == '\t') {
      return finish(
          fmt::format("{} line {}: obs-fold (line folding) is not allowed", what, line_no));
    }
    size_t i = pos;
    while (has(p[i], kTok)) ++i;
    std::string_view name(p + pos, i - pos);
    if (p[i] != ':') {
      if (p[i] == ' ' || p[i] == '\t') {
        return finish(fmt::format("{} '{}': whitespace between field name and colon", what, name));
      }
      if (p[i] == '\r' && p[i + 1] == '\n') {
        return finish(fmt::format("{} line {}: missing ':'", what, line_no));
      }
      return finish(fmt::format("{} line {}: {} in field name", what, line_no, describeChar(p[i])));
    }
    if (name.empty()) return finish(fmt::format("{} line {}: empty field name", what, line_no));
    ++i;
    while (p[i] == ' ' || p[i] == '\t') ++i;
    const size_t vstart = i;
    i = skipFieldValue(p, i, n);
    if (p[i] != '\r' || p[i + 1] != '\n') {
      return finish(fmt::format("{} '{}': {} in value", what, name, describeChar(p[i])));
    }
    const size_t end = i;
    size_t vend = end;
    while (vend > vstart && (p[vend - 1] == ' ' || p[vend - 1] == '\t')) --vend;
    std::string_view value(p + vstart, vend - vstart);
    if (used < entries.size()) {
      entries[used].first.assign(name);
      entries[used].second.assign(value);
    } else {
      entries.emplace_back(std::string(name), std::string(value));
    }
    ++used;
    if (std::string err = facts.onField(name, value); !err.empty()) return finish(std::move(err));
    pos = end + 2;
  }
  return finish({});
}

bool isHostValue(std::string_view v) {
  for (char c : v) {
    if (!has(c, kHost)) return false;
  }
  return true;
}

// Splits an absolute-form target; returns false when it is not "scheme://authority[/path]".
bool splitAbsolute(std::string_view target, RequestHead& out) {
  size_t colon = target.find("://");
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view scheme = target.substr(0, colon);
  for (char c : scheme) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.';
    if (!ok) return false;
  }
  std::string_view rest = target.substr(colon + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      !isHostValue(authority)) {
    return false;
  }
  out.scheme = toLower(scheme);
  out.authority.assign(authority);
  if (slash == std::string_view::npos) {
    out.path = "/";
  } else if (rest[slash] == '?') {
    out.path = "/";
    out.path.append(rest.substr(slash));
  } else {
    out.path.assign(rest.substr(slash));
  }
  return true;
}

std::string_view versionText(Version v) { return v == Version::kHttp10 ? "HTTP/1.0" : "HTTP/1.1"; }

// "HTTP/1.0" / "HTTP/1.1" -> version; other "HTTP/d.d" -> 505; anything else -> 400.
int parseVersion(std::string_view s, Version& v) {
  if (s == "HTTP/1.1") {
    v = Version::kHttp11;
    return 0;
  }
  if (s == "HTTP/1.0") {
    v = Version::kHttp10;
    return 0;
  }
  bool shaped = s.size() == 8 && s.starts_with("HTTP/") && s[5] >= '0' && s[5] <= '9' &&
                s[6] == '.' && s[7] >= '0' && s[7] <= '9';
  return shaped ? 505 : 400;
}

std::string framingError(const FieldFacts& f, Version v, bool request, int& status,
                         BodyFraming& framing) {
  if (f.has_te) {
    if (f.has_cl) return "both Content-Length and Transfer-Encoding";
    if (request && v == Version::kHttp10) return "Transfer-Encoding in an HTTP/1.0 request";
    if (!f.te_unknown.empty()) {
      status = request ? 501 : 502;
      return fmt::format("unsupported transfer coding '{}'", f.te_unknown);
    }
    if (!f.te_chunked_last) return "empty Transfer-Encoding";
    framing = {BodyKind::kChunked, 0};
    return {};
  }
  if (f.has_cl) {
    framing = {BodyKind::kContentLength, f.cl};
  } else {
    framing = {request ? BodyKind::kNone : BodyKind::kUntilClose, 0};
  }
  return {};
}

}  // namespace

bool isTokenChar(unsigned char c) { return (kChars[c] & kTok) != 0; }
bool isFieldValueChar(unsigned char c) { return (kChars[c] & kVal) != 0; }
bool isValidToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!has(c, kTok)) return false;
  }
  return true;
}

HeadResult RequestHeadParser::parse(std::string_view data, RequestHead& out) {
  HeadResult r = scanHead(data, scan_, limits_, true);
  if (r.status != ParseStatus::kComplete) {
    if (r.status == ParseStatus::kError) reset();
    return r;
  }
  const size_t start = scan_.start;
  const size_t lines = scan_.lines;
  reset();
  const char* p = data.data();
  std::string_view head(p + start, r.consumed - start);

  // request-line = method SP request-target SP HTTP-version CRLF
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  size_t i = 0;
  while (i < line.size() && has(line[i], kTok)) ++i;
  if (i == 0) return fail(400, "request line: missing or invalid method");
  if (i == line.size() || line[i] != ' ') {
    return fail(400, fmt::format("request line: {} after method (expected one SP)",
                                 i == line.size() ? "end" : describeChar(line[i])));
  }
  std::string_view method = line.substr(0, i);
  size_t t = ++i;
  while (i < line.size() && has(line[i], kTgt)) ++i;
  if (i == t) return fail(400, "request line: empty request target (expected one SP)");
  if (i == line.size() || line[i] != ' ') {
    return fail(400,
                fmt::format("request line: {} in request target",
                            i == line.size() ? "missing version after" : describeChar(line[i])));
  }
  std::string_view target = line.substr(t, i - t);
  Version version;
  if (int st = parseVersion(line.substr(i + 1), version); st != 0) {
    return fail(st, st == 505
                        ? fmt::format("unsupported HTTP version '{}'", line.substr(i + 1))
                        : fmt::format("request line: invalid version '{}'", line.substr(i + 1)));
  }

  out.method.assign(method);
  out.target.assign(target);
  out.version = version;
  out.scheme.clear();
  out.authority.clear();
  out.path.clear();
  out.headers.entries().reserve(lines);

  FieldFacts facts;
  int status = 400;
  std::string_view block = head.substr(line_end + 2, head.size() - line_end - 4);
  if (std::string err = parseFieldLines(block, out.headers, facts, "header"); !err.empty()) {
    return fail(status, std::move(err));
  }
  if (facts.host_count > 1) return fail(400, "multiple Host headers");
  if (facts.host_count == 0 && version == Version::kHttp11) {
    return fail(400, "missing Host header (required in HTTP/1.1)");
  }
  if (facts.host_count == 1 && !isHostValue(facts.host)) {
    return fail(400, fmt::format("invalid Host header '{}'", facts.host));
  }

  if (target.front() == '/') {
    out.authority.assign(facts.host);
    out.path.assign(target);
  } else if (target == "*") {
    if (method != "OPTIONS") return fail(400, "request target '*' is only valid for OPTIONS");
    out.authority.assign(facts.host);
    out.path = "*";
  } else if (method == "CONNECT") {
    if (!isHostValue(target) || target.find(':') == std::string_view::npos) {
      return fail(400, fmt::format("invalid CONNECT target '{}'", target));
    }
    out.authority.assign(target);
  } else if (!splitAbsolute(target, out)) {
    return fail(400, fmt::format("invalid request target '{}'", target));
  }

  if (std::string err = framingError(facts, version, true, status, r.framing); !err.empty()) {
    return fail(status, std::move(err));
  }
  r.keep_alive = facts.keepAlive(version);
  r.expect_continue = facts.expect_continue && version == Version::kHttp11;
  return r;
}

HeadResult ResponseHeadParser::parse(std::string_view data, ResponseHead& out,
                                     bool request_was_head) {
  HeadResult r = scanHead(data, scan_, limits_, false);
  if (r.status != ParseStatus::kComplete) {
    if (r.status == ParseStatus::kError) reset();
    return r;
  }
  const size_t start = scan_.start;
  const size_t lines = scan_.lines;
  reset();
  std::string_view head(data.data() + start, r.consumed - start);
  size_t line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  Version version;
  if (line.size() < 12 || line[8] != ' ' || parseVersion(line.substr(0, 8), version) != 0) {
    return fail(502, fmt::format("invalid status line '{}'", line.substr(0, 64)));
  }
  int code = 0;
  for (size_t k = 9; k < 12; ++k) {
    if (line[k] < '0' || line[k] > '9') {
      return fail(502, fmt::format("invalid status code in '{}'", line.substr(0, 64)));
    }
    code = code * 10 + (line[k] - '0');
  }
  if (code < 100) return fail(502, fmt::format("invalid status code {}", code));
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') return fail(502, "status line: expected SP after status code");
    reason = line.substr(13);
    for (char c : reason) {
      if (!has(c, kVal))
        return fail(502, fmt::format("status line: {} in reason", describeChar(c)));
    }
  }
  out.status = code;
  out.reason.assign(reason);
  out.version = version;
  out.headers.entries().reserve(lines);

  FieldFacts facts;
  int status = 502;
  std::string_view block = head.substr(line_end + 2, head.size() - line_end - 4);
  if (std::string err = parseFieldLines(block, out.headers, facts, "header"); !err.empty()) {
    return fail(502, std::move(err));
  }
  if (responseHasNoBody(code, request_was_head)) {
    r.framing = {};
  } else if (std::string err = framingError(facts, version, false, status, r.framing);
             !err.empty()) {
    return fail(502, std::move(err));
  }
  r.keep_alive = facts.keepAlive(version) && r.framing.kind != BodyKind::kUntilClose;
  return r;
}

HeadResult parseRequestHead(std::string_view data, RequestHead& out, const Limits& limits) {
  RequestHeadParser parser(limits);
  return parser.parse(data, out);
}

HeadResult parseResponseHead(std::string_view data, ResponseHead& out, bool request_was_head,
                             const Limits& limits) {
  ResponseHeadParser parser(limits);
  return parser.parse(data, out, request_was_head);
}

namespace {
FramingResult framingFromHeaders(const Headers& headers, Version version, bool request) {
  FramingResult out;
  FieldFacts facts;
  int status = request ? 400 : 502;
  for (const auto& [name, value] : headers.entries()) {
    if (std::string err = facts.onField(name, value); !err.empty()) {
      out.status = ParseStatus::kError;
      out.error = {status, std::move(err)};
      return out;
    }
  }
  if (std::string err = framingError(facts, version, request, status, out.framing); !err.empty()) {
    out.status = ParseStatus::kError;
    out.error = {request ? status : 502, std::move(err)};
  }
  return out;
}
}  // namespace

FramingResult requestFraming(const RequestHead& head) {
  return framingFromHeaders(head.headers, head.version, true);
}

bool responseHasNoBody(int status, bool request_was_head) {
  return request_was_head || (status >= 100 && status < 200) || status == 204 || status == 304;
}

FramingResult responseFraming(const ResponseHead& head, bool request_was_head) {
  if (responseHasNoBody(head.status, request_was_head)) return FramingResult{};
  return framingFromHeaders(head.headers, head.version, false);
}

// ---- chunked ----

void ChunkedDecoder::reset() {
  state_ = State::kSize;
  chunk_remaining_ = 0;
  size_digits_ = 0;
  line_bytes_ = 0;
  ext_started_ = false;
  trailer_scanned_ = 0;
  trailer_lines_ = 0;
  trailers_.clear();
}

ChunkResult ChunkedDecoder::decode(std::string_view data) {
  constexpr size_t kMaxSizeLine = 4096;
  ChunkResult r;
  auto error = [&](std::string reason, int status = 400) {
    r.status = ParseStatus::kError;
    r.error = {status, std::move(reason)};
    return r;
  };
  size_t pos = 0;
  const size_t n = data.size();
  while (pos < n) {
    const char c = data[pos];
    switch (state_) {
      case State::kSize: {
        int digit = -1;
        if (c >= '0' && c <= '9')
          digit = c - '0';
        else if (c >= 'a' && c <= 'f')
          digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
          digit = c - 'A' + 10;
        if (digit >= 0) {
          // Exact: one more digit would shift a set bit out of 64 bits. More than 16 digits
          // (leading zeros) is refused too rather than scanned without end.
          if (chunk_remaining_ > (UINT64_MAX >> 4)) return error("chunk size overflows 64 bits");
          if (++size_digits_ > 16) return error("chunk size has more than 16 hex digits");
          chunk_remaining_ = (chunk_remaining_ << 4) | static_cast<uint64_t>(digit);
          ++pos;
          ++line_bytes_;
          break;
        }
        if (size_digits_ == 0)
          return error(fmt::format("expected chunk size, got {}", describeChar(c)));
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExt;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++pos;
        } else {
          return error(fmt::format("{} after chunk size", describeChar(c)));
        }
        break;
      }
      case State::kExt:
        // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): skipped, characters
        // checked.
        if (c == ';') ext_started_ = true;
        if (c == '\r') {
          // Whitespace after the size is only allowed before a ';' (BWS), not on its own.
          if (!ext_started_) return error("whitespace after chunk size without an extension");
          state_ = State::kSizeLf;
        } else if (!ext_started_ && c != ' ' && c != '\t') {
          return error(fmt::format("{} after chunk size", describeChar(c)));
        } else if (!has(c, kVal)) {
          return error(fmt::format("{} in chunk extension", describeChar(c)));
        } else if (++line_bytes_ > kMaxSizeLine) {
          return error(fmt::format("chunk extension longer than {} bytes", kMaxSizeLine), 413);
        }
        ++pos;
        break;
      case State::kSizeLf:
        if (c != '\n') return error("expected LF after chunk size line");
        ++pos;
        line_bytes_ = 0;
        size_digits_ = 0;
        ext_started_ = false;
        state_ = chunk_remaining_ == 0 ? State::kTrailer : State::kData;
        break;
      case State::kData: {
        size_t take = n - pos;
        if (take > chunk_remaining_) take = static_cast<size_t>(chunk_remaining_);
        r.data = data.substr(pos, take);
        chunk_remaining_ -= take;
        pos += take;
        if (chunk_remaining_ == 0) state_ = State::kDataCr;
        r.consumed = pos;
        return r;
      }
      case State::kDataCr:
        if (c != '\r') return error("expected CRLF after chunk data");
        state_ = State::kDataLf;
        ++pos;
        break;
      case State::kDataLf:
        if (c != '\n') return error("expected CRLF after chunk data");
        state_ = State::kSize;
        ++pos;
        break;
      case State::kTrailer: {
        // The trailer section stays in the caller's buffer until it is complete.
        std::string_view section = data.substr(pos);
        const char* p = section.data();
        const size_t m = section.size();
        size_t end = 0;
        for (size_t k = trailer_scanned_; k < m; ++k) {
          if (p[k] != '\n') continue;
          if (k == 0 || p[k - 1] != '\r') return error("bare LF in chunked trailer section");
          if (k == 1 || p[k - 2] == '\n') {
            end = k + 1;
            break;
          }
          if (++trailer_lines_ > limits_.max_headers) {
            return error(fmt::format("more than {} trailer fields", limits_.max_headers), 431);
          }
          trailer_scanned_ = k + 1;
        }
        if (end == 0) {
          if (m > limits_.max_head_bytes) {
            return error(
                fmt::format("trailer section larger than {} bytes", limits_.max_head_bytes), 431);
          }
          r.consumed = pos;
          return r;
        }
        if (end > limits_.max_head_bytes) {
          return error(fmt::format("trailer section larger than {} bytes", limits_.max_head_bytes),
                       431);
        }
        FieldFacts facts;
        trailers_.clear();
        std::string err = parseFieldLines(section.substr(0, end - 2), trailers_, facts, "trailer");
        if (!err.empty()) return error(std::move(err));
        if (facts.has_cl || facts.has_te || facts.host_count > 0) {
          return error("framing or Host field in chunked trailers");
        }
        state_ = State::kDone;
        r.status = ParseStatus::kComplete;
        r.consumed = pos + end;
        return r;
      }
      case State::kDone:
        r.status = ParseStatus::kComplete;
        r.consumed = pos;
        return r;
    }
  }
  r.consumed = pos;
  if (state_ == State::kDone) r.status = ParseStatus::kComplete;
  return r;
}

// ---- serializers ----

namespace {
void appendHeaders(const Headers& headers, std::string& out) {
  for (const auto& [name, value] : headers.entries()) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
  }
}
size_t headSize(const Headers& headers) {
  size_t n = 2;
  for (const auto& [name, value] : headers.entries()) n += name.size() + value.size() + 4;
  return n;
}
}  // namespace

void serializeRequestHead(const RequestHead& head, std::string& out) {
  out.reserve(out.size() + head.method.size() + head.target.size() + 12 + headSize(head.headers));
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.push_back(' ');
  out.append(versionText(head.version));
  out.append("\r\n");
  appendHeaders(head.headers, out);
  out.append("\r\n");
}

void serializeResponseHead(const ResponseHead& head, std::string& out) {
  std::string_view reason = head.reason.empty() ? reasonPhrase(head.status) : head.reason;
  out.reserve(out.size() + reason.size() + 16 + headSize(head.headers));
  out.append(versionText(head.version));
  out.push_back(' ');
  char code[3] = {static_cast<char>('0' + head.status / 100 % 10),
                  static_cast<char>('0' + head.status / 10 % 10),
                  static_cast<char>('0' + head.status % 10)};
  out.append(code, 3);
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  appendHeaders(head.headers, out);
  out.append("\r\n");
}

void appendChunkHeader(size_t n, std::string& out) {
  char buf[20];
  size_t len = 0;
  do {
    buf[len++] = "0123456789abcdef"[n & 0xf];
    n >>= 4;
  } while (n != 0);
  while (len > 0) out.push_back(buf[--len]);
  out.append("\r\n");
}

void appendChunk(std::string_view data, std::string& out) {
  if (data.empty()) return;
  appendChunkHeader(data.size(), out);
  out.append(data);
  out.append("\r\n");
}

void appendLastChunk(std::string& out, const Headers* trailers) {
  out.append("0\r\n");
  if (trailers != nullptr) appendHeaders(*trailers, out);
  out.append("\r\n");
}

// ---- connection management ----

bool connectionHas(const Headers& headers, std::string_view token) {
  for (const auto& [name, value] : headers.entries()) {
    if (!equalsIgnoreCase(name, "connection")) continue;
    std::string_view v = value;
    size_t pos = 0;
    while (pos <= v.size()) {
      size_t comma = v.find(',', pos);
      if (comma == std::string_view::npos) comma = v.size();
      if (equalsIgnoreCase(trim(v.substr(pos, comma - pos)), token)) return true;
      pos = comma + 1;
    }
  }
  return false;
}

bool keepAlive(Version version, const Headers& headers) {
  if (connectionHas(headers, "close")) return false;
  return version == Version::kHttp11 || connectionHas(headers, "keep-alive");
}

void removeHopByHop(Headers& headers) {
  std::vector<std::string> listed;
  for (const auto& [name, value] : headers.entries()) {
    if (!equalsIgnoreCase(name, "connection")) continue;
    for (std::string_view item : split(value, ',')) {
      item = trim(item);
      if (item.empty() || equalsIgnoreCase(item, "host") ||
          equalsIgnoreCase(item, "content-length")) {
        continue;
      }
      listed.emplace_back(item);
    }
  }
  static constexpr std::string_view kHopByHop[] = {
      "connection",        "keep-alive", "proxy-connection", "te",
      "transfer-encoding", "upgrade",    "trailer"};
  std::erase_if(headers.entries(), [&](const Headers::Entry& e) {
    for (std::string_view h : kHopByHop) {
      if (equalsIgnoreCase(e.first, h)) return true;
    }
    for (const std::string& l : listed) {
      if (equalsIgnoreCase(e.first, l)) return true;
    }
    return false;
  });
}

bool expectsContinue(const RequestHead& head) {
  if (head.version != Version::kHttp11) return false;
  auto v = head.headers.get("expect");
  return v && equalsIgnoreCase(trim(*v), "100-continue");
}

namespace {

class Http1ServerCodec final : public ServerCodec {
 public:
  explicit Http1ServerCodec(const Limits& limits) : parser_(limits) {}
  void onIngress(std::string_view data, RequestHead& head,
                 ServerCodecCallbacks& callbacks) override {
    HeadResult r = parser_.parse(data, head);
    if (r.status == ParseStatus::kComplete) {
      callbacks.onRequestHead(head, r);
    } else if (r.status == ParseStatus::kError) {
      callbacks.onProtocolError(r);
    }
  }

 private:
  RequestHeadParser parser_;
};

}  // namespace

std::unique_ptr<ServerCodec> makeHttp1ServerCodec(const Limits& limits) {
  return std::make_unique<Http1ServerCodec>(limits);
}

}  // namespace sluice::http
