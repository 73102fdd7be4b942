// JSON that the Nacos watcher and the embedded server read from outside: an instance-list answer
// of a real Nacos server (parseInstanceList, both generations' shapes), the `metadata`
// parameter (parseMetadata: JSON object or "k=v,k=v") and a gRPC Instance object
// (parseInstanceJson). Errors are values, never exceptions; what parses keeps its invariants
// (ports in range, weights in [0, 10000]).

#include <string>

#include "fuzz_check.h"
#include "registry/nacos/grpc_codec.h"
#include "registry/nacos/naming_client.h"
#include "registry/nacos/naming_model.h"

using namespace sluice;
using namespace sluice::registry::nacos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);

  if (auto service = parseInstanceList(body, "public", "DEFAULT_GROUP", "service-provider")) {
    for (const auto& instance : service->instances) {
      SLUICE_FUZZ_CHECK(!instance.ip.empty());
      SLUICE_FUZZ_CHECK(instance.port != 0);
    }
  } else {
    SLUICE_FUZZ_CHECK(!service.error().message.empty());
  }

  (void)parseMetadata(body);
  (void)groupedServiceName(body, "DEFAULT_GROUP");
  (void)splitGroupedName(body);
  (void)checkIp(body);
  (void)parseWeightParam(body);
  (void)parsePortParam(body);

  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) {
    if (auto instance = parseInstanceJson(doc, "fuzz.instance")) {
      SLUICE_FUZZ_CHECK(instance->port != 0);
      SLUICE_FUZZ_CHECK(instance->weight >= 0 && instance->weight <= 10000);
      // What the server answers about it parses back to the same instance.
      Json echoed = instanceJson(*instance, "DEFAULT_GROUP@@service-provider");
      auto again = parseInstanceJson(echoed, "fuzz.echoed");
      SLUICE_FUZZ_CHECK(again.has_value());
      SLUICE_FUZZ_CHECK(again->ip == instance->ip && again->port == instance->port);
      SLUICE_FUZZ_CHECK(again->metadata == instance->metadata);
    }
  }
  return 0;
}
