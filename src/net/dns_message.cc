#include "net/dns_message.h"

#include "core/strings.h"

namespace sluice::net::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;
constexpr int kMaxPointerHops = 16;

uint16_t read16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[at]) << 8) |
                               static_cast<uint8_t>(p[at + 1]));
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void put32(std::string& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v & 0xFFFF));
}

tl::unexpected<Error> formatProblem(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kDownstream, "DNS query: " + message);
}

// Reads a (possibly compressed) name starting at `pos`; `end_out` is where the name ends in the
// original sequence (after the first pointer, if any).
Result<std::string> readName(std::string_view p, size_t pos, size_t& end_out) {
  std::string name;
  bool jumped = false;
  int hops = 0;
  while (true) {
    if (pos >= p.size()) return formatProblem("name runs past the end of the packet");
    auto len = static_cast<uint8_t>(p[pos]);
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= p.size()) return formatProblem("truncated compression pointer");
      if (++hops > kMaxPointerHops) return formatProblem("compression loop");
      size_t target = static_cast<size_t>(read16(p, pos) & 0x3FFF);
      if (!jumped) end_out = pos + 2;
      jumped = true;
      if (target >= pos) return formatProblem("compression pointer does not point backwards");
      pos = target;
      continue;
    }
    // 0x40 and 0x80 prefixes are extended/reserved label types: also what a >63 length looks like.
    if ((len & 0xC0) != 0) return formatProblem("label too long or of an unsupported type");
    if (len == 0) {
      if (!jumped) end_out = pos + 1;
      return name;
    }
    if (pos + 1 + len > p.size()) return formatProblem("label runs past the end of the packet");
    if (!name.empty()) name.push_back('.');
    // A '.' inside a label would make the name mean other labels (and match another mesh host);
    // no host name has one, so such a question is refused rather than misread.
    if (p.substr(pos + 1, len).find('.') != std::string_view::npos) {
      return formatProblem("label contains '.'");
    }
    for (size_t i = 0; i < len; ++i) name.push_back(asciiLower(p[pos + 1 + i]));
    if (name.size() > kMaxNameLength) return formatProblem("name longer than 255 bytes");
    pos += 1 + len;
  }
}

void putName(std::string& out, std::string_view name) {
  for (auto label : split(name, '.')) {
    if (label.empty()) continue;
    out.push_back(static_cast<char>(label.size()));
    out.append(label);
  }
  out.push_back('\0');
}

}  // namespace

std::optional<uint16_t> peekId(std::string_view packet) {
  if (packet.size() < 2) return std::nullopt;
  return read16(packet, 0);
}

Result<Query> parseQuery(std::string_view packet) {
  if (packet.size() < kHeaderSize) return formatProblem("truncated header");
  Query q;
  q.id = read16(packet, 0);
  q.flags = read16(packet, 2);
  if ((q.flags & 0x8000) != 0) return formatProblem("is a response, not a query");
  uint16_t qdcount = read16(packet, 4);
  if (qdcount != 1)
    return formatProblem("expected exactly one question, got " + std::to_string(qdcount));
  size_t end = 0;
  auto name = readName(packet, kHeaderSize, end);
  if (!name) return tl::unexpected(name.error());
  if (end + 4 > packet.size()) return formatProblem("truncated question");
  q.question.name = std::move(*name);
  q.question.type = read16(packet, end);
  q.question.klass = read16(packet, end + 2);
  return q;
}

std::string buildResponse(const Query& query, ResponseCode code,
                          const std::vector<IpAddress>& addresses, uint32_t ttl) {
  std::string out;
  out.reserve(64 + addresses.size() * 28);
  put16(out, query.id);
  // QR=1, opcode echoed, AA=1 (we are authoritative for mesh names), RD echoed, RA=1.
  uint16_t flags = 0x8000 | static_cast<uint16_t>(query.opcode() << 11) | 0x0400 |
                   (query.flags & 0x0100) | 0x0080 | static_cast<uint16_t>(code);
  put16(out, flags);
  put16(out, 1);
  put16(out, code == ResponseCode::kNoError ? static_cast<uint16_t>(addresses.size()) : 0);
  put16(out, 0);
  put16(out, 0);
  putName(out, query.question.name);
  put16(out, query.question.type);
  put16(out, query.question.klass);
  if (code != ResponseCode::kNoError) return out;
  for (const auto& ip : addresses) {
    put16(out, static_cast<uint16_t>(0xC000 | kHeaderSize));  // pointer to the question's name
    put16(out, static_cast<uint16_t>(ip.v6 ? RecordType::kAaaa : RecordType::kA));
    put16(out, 1);
    put32(out, ttl);
    put16(out, ip.v6 ? 16 : 4);
    out.append(reinterpret_cast<const char*>(ip.bytes.data()), ip.v6 ? 16 : 4);
  }
  return out;
}

std::string formatError(uint16_t id) {
  std::string out;
  put16(out, id);
  put16(out, 0x8000 | 0x0080 | static_cast<uint16_t>(ResponseCode::kFormatError));
  for (int i = 0; i < 4; ++i) put16(out, 0);
  return out;
}

}  // namespace sluice::net::dns
