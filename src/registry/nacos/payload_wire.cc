#include "registry/nacos/payload_wire.h"

#include <cstdint>
#include <optional>

namespace sluice::registry::nacos {
namespace {

enum WireType : uint32_t {
  kVarint = 0,
  kFixed64 = 1,
  kLen = 2,
  kStartGroup = 3,
  kEndGroup = 4,
  kFixed32 = 5
};

// libprotobuf's default recursion limit, which also bounds unknown groups.
constexpr int kMaxDepth = 100;

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF), as protobuf checks
// proto3 strings.
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i - 1 < n) return false;
    auto first = static_cast<unsigned char>(s[i + 1]);
    if (first < lo || first > hi) return false;
    for (size_t k = 2; k <= n; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if (b < 0x80 || b > 0xbf) return false;
    }
    i += n + 1;
  }
  return true;
}

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void putTag(std::string& out, uint32_t field, uint32_t wire) {
  putVarint(out, (static_cast<uint64_t>(field) << 3) | wire);
}

void putLen(std::string& out, uint32_t field, std::string_view bytes) {
  putTag(out, field, kLen);
  putVarint(out, bytes.size());
  out.append(bytes);
}

class Reader {
 public:
  Reader(std::string_view all, size_t begin, size_t end) : all_(all), pos_(begin), end_(end) {}

  bool atEnd() const { return pos_ == end_; }
  size_t pos() const { return pos_; }

  std::optional<uint64_t> varint(int max_bytes = 10) {
    uint64_t v = 0;
    for (int i = 0; i < max_bytes; ++i) {
      if (pos_ == end_) return std::nullopt;
      auto b = static_cast<unsigned char>(all_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return v;
    }
    return std::nullopt;
  }

  // A length-delimited field's bounds, as a reader of its own.
  std::optional<Reader> sub() {
    auto len = varint();
    if (!len || *len > end_ - pos_) return std::nullopt;
    Reader r(all_, pos_, pos_ + *len);
    pos_ += *len;
    return r;
  }

  bool skip(size_t n) {
    if (n > end_ - pos_) return false;
    pos_ += n;
    return true;
  }

  std::string_view rest() const { return all_.substr(pos_, end_ - pos_); }
  std::string_view slice(size_t begin, size_t n) const { return all_.substr(begin, n); }

 private:
  std::string_view all_;
  size_t pos_;
  size_t end_;
};

struct Parser {
  std::string error;

  bool fail(std::string why, size_t at) {
    if (error.empty()) error = fmt::format("{} at byte {}", why, at);
    return false;
  }

  // One tag; false on a bad tag. Field number 0 and stray end-groups are errors for the caller.
  bool tag(Reader& r, uint32_t& field, uint32_t& wire) {
    size_t at = r.pos();
    auto t = r.varint(5);
    if (!t) return fail("bad tag", at);
    *t &= 0xffffffffu;  // libprotobuf keeps a 5-byte tag's low 32 bits
    field = static_cast<uint32_t>(*t >> 3);
    wire = static_cast<uint32_t>(*t & 7);
    if (field == 0) return fail("field number 0", at);
    return true;
  }

  // Skips the value of an unknown field whose tag was just read, appending the field to `keep`
  // (when given) as libprotobuf keeps it: re-encoded from its values (minimal varints, the tag's
  // low 32 bits), so a rewritten Payload carries it on byte for byte as libprotobuf would.
  bool skipValue(Reader& r, uint32_t field, uint32_t wire, int depth, std::string* keep) {
    size_t at = r.pos();
    switch (wire) {
      case kVarint: {
        auto v = r.varint();
        if (!v) return fail("truncated varint", at);
        if (keep) {
          putTag(*keep, field, wire);
          putVarint(*keep, *v);
        }
        return true;
      }
      case kFixed64:
      case kFixed32: {
        size_t n = wire == kFixed64 ? 8 : 4;
        if (!r.skip(n))
          return fail(wire == kFixed64 ? "truncated fixed64" : "truncated fixed32", at);
        if (keep) {
          putTag(*keep, field, wire);
          keep->append(r.slice(at, n));
        }
        return true;
      }
      case kLen: {
        auto value = r.sub();
        if (!value) return fail("length beyond the message", at);
        if (keep) putLen(*keep, field, value->rest());
        return true;
      }
      case kStartGroup: {
        if (depth >= kMaxDepth) return fail("groups nested too deep", at);
        if (keep) putTag(*keep, field, kStartGroup);
        for (;;) {
          if (r.atEnd()) return fail("unterminated group", at);
          uint32_t f, w;
          if (!tag(r, f, w)) return false;
          if (w == kEndGroup) {
            if (f != field) return fail("mismatched end group", at);
            if (keep) putTag(*keep, field, kEndGroup);
            return true;
          }
          if (!skipValue(r, f, w, depth + 1, keep)) return false;
        }
      }
      default:
        return fail(wire == kEndGroup ? "end group without a start" : "bad wire type", at);
    }
  }

  // Reads a message's fields, handing each length-delimited one to `on_len` (1 handled, 0 not a
  // known field, -1 error); everything not handled is an unknown field, appended to `keep` when
  // given (libprotobuf drops a map entry's unknown fields: nullptr there).
  template <typename OnLen>
  bool fields(Reader& r, int depth, std::string* keep, OnLen&& on_len) {
    if (depth > kMaxDepth) return fail("messages nested too deep", r.pos());
    while (!r.atEnd()) {
      uint32_t field, wire;
      if (!tag(r, field, wire)) return false;
      if (wire == kLen) {
        size_t at = r.pos();
        auto value = r.sub();
        if (!value) return fail("length beyond the message", at);
        int handled = on_len(field, *value, depth);
        if (handled < 0) return false;
        if (handled == 0 && keep) putLen(*keep, field, value->rest());
        continue;
      }
      if (!skipValue(r, field, wire, depth, keep)) return false;
    }
    return true;
  }

  bool text(Reader& r, std::string& out, const char* name) {
    std::string_view s = r.rest();
    if (!validUtf8(s)) return fail(fmt::format("{} is not UTF-8", name), r.pos());
    out.assign(s);
    return true;
  }

  // 1 handled, -1 error (the fields() protocol).
  static int result(bool ok) { return ok ? 1 : -1; }

  bool entry(Reader& r, int depth, std::map<std::string, std::string>& headers) {
    std::string key, value;
    bool ok = fields(r, depth, nullptr, [&](uint32_t field, Reader& v, int) {
      if (field == 1) return result(text(v, key, "a header name"));
      if (field == 2) return result(text(v, value, "a header value"));
      return 0;
    });
    if (!ok) return false;
    headers.insert_or_assign(std::move(key), std::move(value));
    return true;
  }

  bool metadata(Reader& r, int depth, PayloadWire& out) {
    return fields(r, depth, &out.metadata_unknown_fields, [&](uint32_t field, Reader& v, int d) {
      if (field == 3) return result(text(v, out.type, "metadata.type"));
      if (field == 8) return result(text(v, out.client_ip, "metadata.clientIp"));
      if (field == 7) return result(entry(v, d + 1, out.headers));
      return 0;
    });
  }

  bool any(Reader& r, int depth, PayloadWire& out) {
    return fields(r, depth, &out.body_unknown_fields, [&](uint32_t field, Reader& v, int) {
      if (field == 1) return result(text(v, out.type_url, "body.type_url"));
      if (field != 2) return 0;
      out.value.assign(v.rest());
      return 1;
    });
  }
};

void putText(std::string& out, uint32_t field, std::string_view text) {
  if (!text.empty()) putLen(out, field, text);
}

}  // namespace

Result<PayloadWire> parsePayloadWire(std::string_view bytes) {
  PayloadWire out;
  Parser p;
  Reader r(bytes, 0, bytes.size());
  bool ok = p.fields(r, 0, &out.unknown_fields, [&](uint32_t field, Reader& v, int d) {
    if (field == 2) return Parser::result(p.metadata(v, d + 1, out));
    if (field == 3) return Parser::result(p.any(v, d + 1, out));
    return 0;
  });
  if (!ok) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kDownstream,
                     fmt::format("not a Nacos Payload: {} of {} byte(s)", p.error, bytes.size()));
  }
  return out;
}

std::string serializePayloadWire(const PayloadWire& payload) {
  std::string metadata;
  putText(metadata, 3, payload.type);
  std::string entry;
  for (const auto& [key, value] : payload.headers) {
    entry.clear();
    putLen(entry, 1, key);
    putLen(entry, 2, value);
    putLen(metadata, 7, entry);
  }
  putText(metadata, 8, payload.client_ip);
  metadata += payload.metadata_unknown_fields;
  std::string body;
  putText(body, 1, payload.type_url);
  if (!payload.value.empty()) putLen(body, 2, payload.value);
  body += payload.body_unknown_fields;
  std::string out;
  out.reserve(metadata.size() + body.size() + payload.unknown_fields.size() + 12);
  putLen(out, 2, metadata);
  putLen(out, 3, body);
  out += payload.unknown_fields;
  return out;
}

}  // namespace sluice::registry::nacos
