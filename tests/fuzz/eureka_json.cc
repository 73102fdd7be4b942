// Eureka JSON (the Jackson codec) as the watcher reads it from a real Eureka server (full and
// delta fetches) and as the embedded server reads registrations (decodeApplications,
// decodeInstance; the format is sniffed, so XML inputs reach the same code, see eureka_xml).
// Whatever decodes re-encodes (JSON and XML) to a document that decodes and encodes to the same
// bytes again (the model's "" and the default data center class are the same on the wire).

#include <string>

#include "fuzz_check.h"
#include "registry/eureka/codec.h"

using namespace sluice;
using namespace sluice::registry::eureka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::asView(data, size);
  if (auto apps = decodeApplications(body)) {
    for (Format format : {Format::kJson, Format::kXml}) {
      std::string encoded = encodeApplications(*apps, format);
      auto again = decodeApplications(encoded);
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(encodeApplications(*again, format) == encoded);
    }
  } else {
    SLUICE_FUZZ_CHECK(!apps.error().message.empty());
  }
  if (auto instance = decodeInstance(body)) {
    for (Format format : {Format::kJson, Format::kXml}) {
      std::string encoded = encodeInstance(*instance, format);
      auto again = decodeInstance(encoded);
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(encodeInstance(*again, format) == encoded);
    }
  }
  (void)sniffFormat(body);
  (void)formatForAccept(body);
  return 0;
}
