// Eureka JSON (the Jackson codec) as the watcher reads it from a real Eureka server (full and
// delta fetches) and as the embedded server reads registrations (decodeApplications,
// decodeInstance; the format is sniffed, so XML inputs reach the same code, see eureka_xml).
// Decoded values re-encode (JSON and XML) to documents that decode to the same values.

#include <string>

#include "fuzz_check.h"
#include "registry/eureka/codec.h"

using namespace sluice;
using namespace sluice::registry::eureka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::asView(data, size);
  if (auto apps = decodeApplications(body)) {
    for (Format format : {Format::kJson, Format::kXml}) {
      auto again = decodeApplications(encodeApplications(*apps, format));
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(*again == *apps);
    }
  } else {
    SLUICE_FUZZ_CHECK(!apps.error().message.empty());
  }
  if (auto instance = decodeInstance(body)) {
    for (Format format : {Format::kJson, Format::kXml}) {
      auto again = decodeInstance(encodeInstance(*instance, format));
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(*again == *instance);
    }
  }
  (void)sniffFormat(body);
  (void)formatForAccept(body);
  return 0;
}
