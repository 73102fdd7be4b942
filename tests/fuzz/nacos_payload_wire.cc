// The hand-written protobuf codec of the Nacos Payload (registry/nacos/payload_wire.h) on
// arbitrary bytes: an error is a value with a message; what parses re-serializes to bytes that
// parse to the same fields, and serializing those again gives the same bytes (the writer is
// canonical) and carries the same unknown fields; an accepted Payload's strings are UTF-8 (the
// writer's output parses, which checks).

#include <string>

#include "fuzz_check.h"
#include "registry/nacos/payload_wire.h"

using namespace sluice::registry::nacos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = parsePayloadWire(sluice::fuzz::asView(data, size));
  if (!parsed) {
    SLUICE_FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  std::string bytes = serializePayloadWire(*parsed);
  auto again = parsePayloadWire(bytes);
  SLUICE_FUZZ_CHECK(again.has_value());
  SLUICE_FUZZ_CHECK(again->type == parsed->type && again->client_ip == parsed->client_ip);
  SLUICE_FUZZ_CHECK(again->headers == parsed->headers);
  SLUICE_FUZZ_CHECK(again->type_url == parsed->type_url && again->value == parsed->value);
  // Unknown fields are carried on (method 2's rewrite must not drop them).
  SLUICE_FUZZ_CHECK(again->unknown_fields == parsed->unknown_fields);
  SLUICE_FUZZ_CHECK(again->metadata_unknown_fields == parsed->metadata_unknown_fields);
  SLUICE_FUZZ_CHECK(again->body_unknown_fields == parsed->body_unknown_fields);
  SLUICE_FUZZ_CHECK(serializePayloadWire(*again) == bytes);
  return 0;
}
