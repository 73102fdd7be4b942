#pragma once
// The protobuf wire form of the Nacos gRPC Payload (nacos_grpc_service.proto), written by hand:
//   Payload  { Metadata metadata = 2; google.protobuf.Any body = 3; }
//   Metadata { string type = 3; map<string, string> headers = 7; string clientIp = 8; }
//   Any      { string type_url = 1; bytes value = 2; }
//
// Why not libprotobuf: these three messages are all the sidecar ever exchanges with Nacos, and
// linking libprotobuf for them puts ~1.8 MiB of its pages in every idle sidecar (bench/README.md,
// issue #15). The wire format is small (varints, length-delimited fields); what a conformant
// reader must do is done here: fields in any order, a repeated singular field's last value wins,
// a repeated message field is merged, map entries with a missing key or value mean "", a later
// duplicate key wins, unknown fields of any wire type (groups nested to 100 levels) are skipped,
// a known field with another wire type is an unknown field, proto3 strings must be UTF-8, and
// anything truncated, over-long or with field number 0 fails. tests/unit/registry/
// nacos_payload_wire_test.cc checks all of it against libprotobuf's generated classes; the fuzz
// target nacos_grpc_payload feeds it arbitrary bytes.
//
// The writer emits what libprotobuf's deterministic serialization emits: fields in number order,
// empty strings left out, metadata and body always present, map entries sorted by key with both
// key and value written, and each message's unknown fields after its known ones, in the order
// they came, re-encoded as libprotobuf re-encodes them. So method 2's rewrite (grpc_rewrite.h)
// keeps fields a newer Nacos adds, as libprotobuf would; only a map entry's unknown fields are
// dropped, as libprotobuf drops them.
//
// Threading: pure functions.

#include <map>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::registry::nacos {

struct PayloadWire {
  std::string type;  // Metadata.type
  std::string client_ip;
  std::map<std::string, std::string> headers;
  std::string type_url;  // Any.type_url (Nacos leaves it empty)
  std::string value;     // Any.value: the JSON body's bytes
  // Each message's unknown fields, encoded (tag + value), in the order they came.
  std::string unknown_fields;           // Payload's
  std::string metadata_unknown_fields;  // Metadata's
  std::string body_unknown_fields;      // Any's
};

// Errors: kInvalidArgument (source kDownstream) saying what is wrong and at which offset.
Result<PayloadWire> parsePayloadWire(std::string_view bytes);
std::string serializePayloadWire(const PayloadWire& payload);

}  // namespace sluice::registry::nacos
