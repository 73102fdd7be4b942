// The hand-written Payload codec (registry/nacos/payload_wire.h) against libprotobuf's generated
// classes of nacos_grpc_service.proto: what one writes the other reads the same, byte for byte
// under deterministic serialization, and on arbitrary (mutated) bytes both accept or both refuse,
// with the same fields when they accept.

#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "nacos_grpc_service.pb.h"
#include "registry/nacos/payload_wire.h"

namespace sluice::registry::nacos {
namespace {

std::string deterministic(const ::Payload& p) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  p.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

::Payload toProto(const PayloadWire& w) {
  ::Payload p;
  p.mutable_metadata()->set_type(w.type);
  p.mutable_metadata()->set_clientip(w.client_ip);
  for (const auto& [k, v] : w.headers) (*p.mutable_metadata()->mutable_headers())[k] = v;
  p.mutable_body()->set_type_url(w.type_url);
  p.mutable_body()->set_value(w.value);
  return p;
}

void expectSame(const ::Payload& p, const PayloadWire& w) {
  EXPECT_EQ(p.metadata().type(), w.type);
  EXPECT_EQ(p.metadata().clientip(), w.client_ip);
  std::map<std::string, std::string> headers(p.metadata().headers().begin(),
                                             p.metadata().headers().end());
  EXPECT_EQ(headers, w.headers);
  EXPECT_EQ(p.body().type_url(), w.type_url);
  EXPECT_EQ(p.body().value(), w.value);
}

// Both parsers on the same bytes: the same verdict, and the same fields when they accept.
void differential(const std::string& bytes) {
  google::protobuf::LogSilencer quiet;  // libprotobuf logs every invalid UTF-8 string it refuses
  ::Payload p;
  bool proto_ok = p.ParseFromString(bytes);
  auto mine = parsePayloadWire(bytes);
  ASSERT_EQ(proto_ok, mine.has_value()) << "bytes (hex): " << [&] {
    std::string hex;
    for (unsigned char c : bytes) hex += fmt::format("{:02x}", c);
    return hex;
  }() << (mine ? "" : " mine: " + mine.error().message);
  if (!proto_ok) return;
  expectSame(p, *mine);
  // Written again, unknown fields included, as libprotobuf writes what it read (our writer
  // always writes metadata and body, so they are made present on its side too).
  p.mutable_metadata();
  p.mutable_body();
  EXPECT_EQ(deterministic(p), serializePayloadWire(*mine));
}

std::string randomText(std::mt19937& rng, bool any_bytes) {
  std::uniform_int_distribution<int> len(0, 12);
  static const std::vector<std::string> pieces = {"a", "Z", "9", "@@", "é", "中", "😀", "\x01", ""};
  std::string s;
  int n = len(rng);
  for (int i = 0; i < n; ++i) {
    if (any_bytes) {
      s.push_back(static_cast<char>(rng() & 0xff));
    } else {
      s += pieces[rng() % pieces.size()];
    }
  }
  return s;
}

PayloadWire randomPayload(std::mt19937& rng) {
  PayloadWire w;
  w.type = randomText(rng, false);
  w.client_ip = rng() % 2 ? "10.0.0." + std::to_string(rng() % 256) : "";
  int headers = static_cast<int>(rng() % 4);
  for (int i = 0; i < headers; ++i) w.headers[randomText(rng, false)] = randomText(rng, false);
  w.type_url = rng() % 4 == 0 ? "type.googleapis.com/x" : "";
  w.value = randomText(rng, true);
  return w;
}

TEST(NacosPayloadWire, WritesWhatLibprotobufWritesDeterministically) {
  std::mt19937 rng(15);
  for (int i = 0; i < 2000; ++i) {
    PayloadWire w = randomPayload(rng);
    std::string mine = serializePayloadWire(w);
    EXPECT_EQ(mine, deterministic(toProto(w))) << "case " << i;
    ::Payload p;
    ASSERT_TRUE(p.ParseFromString(mine));
    expectSame(p, w);
  }
}

TEST(NacosPayloadWire, ReadsWhatLibprotobufWritesIncludingUnknownFields) {
  std::mt19937 rng(16);
  for (int i = 0; i < 2000; ++i) {
    PayloadWire w = randomPayload(rng);
    ::Payload p = toProto(w);
    auto* unknown = p.GetReflection()->MutableUnknownFields(&p);
    unknown->AddVarint(1, rng());
    unknown->AddFixed64(9, rng());
    unknown->AddLengthDelimited(4, "skipped");
    unknown->AddGroup(5)->AddFixed32(6, 7);
    auto* meta_unknown =
        p.mutable_metadata()->GetReflection()->MutableUnknownFields(p.mutable_metadata());
    meta_unknown->AddVarint(3, 1);  // a known field with the wrong wire type: unknown
    auto* body_unknown = p.mutable_body()->GetReflection()->MutableUnknownFields(p.mutable_body());
    body_unknown->AddLengthDelimited(15, "a later field");
    auto mine = parsePayloadWire(p.SerializeAsString());
    ASSERT_TRUE(mine) << mine.error().message;
    expectSame(p, *mine);
    // Kept: a rewritten Payload carries them on (method 2 must not drop what a newer Nacos adds).
    EXPECT_EQ(serializePayloadWire(*mine), deterministic(p));
  }
}

std::string tagged(uint32_t field, uint32_t wire) {
  std::string out;
  uint64_t v = (static_cast<uint64_t>(field) << 3) | wire;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}

std::string len(uint32_t field, const std::string& bytes) {
  return tagged(field, 2) + static_cast<char>(bytes.size()) + bytes;
}

TEST(NacosPayloadWire, AgreesWithLibprotobufOnTheEdgesOfTheFormat) {
  std::string type = len(3, "InstanceRequest");
  std::string entry = len(1, "k") + len(2, "v");
  const std::vector<std::string> cases = {
      "",                                                         // every field absent
      len(2, type) + len(2, len(8, "1.2.3.4")),                   // metadata merged
      len(2, len(3, "A") + len(3, "B")),                          // last value wins
      len(2, len(7, entry) + len(7, len(1, "k") + len(2, "w"))),  // later key wins
      len(2, len(7, len(2, "no key"))),                           // key missing: ""
      len(2, len(7, len(1, "no value"))),
      len(2, len(7, entry + tagged(3, 0) + "\x05")),        // unknown field in an entry
      len(2, tagged(3, 0) + "\x01"),                        // wrong wire type: unknown
      len(2, tagged(7, 5) + "abcd"),                        // map field as fixed32
      tagged(2, 3) + tagged(1, 0) + "\x01" + tagged(2, 4),  // a known field as a group
      tagged(9, 3) + tagged(9, 4),                          // unknown empty group
      tagged(9, 3) + tagged(8, 4),                          // mismatched end group
      tagged(9, 4),                                         // stray end group
      tagged(0, 0) + "\x01",                                // field number 0
      tagged(9, 6),                                         // wire types 6 and 7
      tagged(9, 7), len(2, type).substr(0, 5),              // truncated
      tagged(2, 2) + "\x7f",                                // length past the end
      tagged(9, 0) + std::string(10, '\xff') + "\x01",      // varint of 11 bytes
      tagged(9, 0) + std::string(9, '\xff') + "\x01",       // varint of 10 bytes
      tagged(9, 1) + "1234567",                             // truncated fixed64
      std::string("\xff\xff\xff\xff\x0f", 5) + "\x00",      // largest tag
      std::string("\xff\xff\xff\xff\x1f", 5) + "\x00",      // tag above 32 bits
      std::string("\x80\x80\x80\x80\x80\x00", 6),           // 6-byte tag
      len(2, len(3, "\xc3\x28")),                           // bad UTF-8 in type
      len(2, len(3, "\xed\xa0\x80")),                       // a surrogate
      len(2, len(3, "\xf4\x90\x80\x80")),                   // above U+10FFFF
      len(2, len(3, "\xe0\x80\x80")),                       // overlong
      len(2, len(8, "\xff")),                               // bad UTF-8 in clientIp
      len(2, len(7, len(1, "\xff") + len(2, "v"))),         // in a header name
      len(2, len(7, len(1, "k") + len(2, "\xff"))),         // in a header value
      len(3, len(1, "\xff")),                               // in type_url
      len(3, len(2, "\xff\xfe")),                           // value is bytes: fine
      len(3, len(2, "a") + len(2, "b")),                    // body merged, last wins
      // Unknown fields written back as libprotobuf re-encodes them:
      tagged(9, 0) + "\x81\x80\x00",                    // an over-long varint
      std::string("\xc8\x80\x80\x80\x00", 5) + "\x01",  // an over-long tag (field 9)
      tagged(9, 3) + tagged(1, 0) + "\x01" + len(2, "x") + tagged(9, 4),   // a group's fields
      len(2, len(9, "m")) + len(3, len(9, "b")) + tagged(12, 5) + "abcd",  // one per message
      len(2, len(9, "1")) + len(2, len(3, "T")) + len(2, len(9, "2")),     // merged, in order
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    differential(cases[i]);
  }
}

TEST(NacosPayloadWire, AgreesWithLibprotobufOnMutatedBytes) {
  std::mt19937 rng(17);
  for (int i = 0; i < 20000; ++i) {
    PayloadWire w = randomPayload(rng);
    std::string bytes = serializePayloadWire(w);
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !bytes.empty(); ++e) {
      size_t at = rng() % bytes.size();
      switch (rng() % 4) {
        case 0:
          bytes[at] = static_cast<char>(rng() & 0xff);
          break;
        case 1:
          bytes.insert(at, 1, static_cast<char>(rng() & 0xff));
          break;
        case 2:
          bytes.erase(at, 1);
          break;
        default:
          bytes.resize(at);
          break;
      }
    }
    SCOPED_TRACE(i);
    differential(bytes);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace sluice::registry::nacos
