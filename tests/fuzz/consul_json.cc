// Consul JSON from outside: what the watcher reads from a real Consul agent
// (/v1/health/service/<name>, /v1/catalog/services) and what the embedded agent reads from
// clients (PUT /v1/agent/service/register) or from its own data directory (ConsulCatalog::load),
// plus Go durations. A registration that is accepted survives snapshot() -> load() unchanged; a
// refused one changes no index.

#include <string>

#include "fuzz_check.h"
#include "registry/consul/catalog.h"
#include "registry/consul/watcher.h"

using namespace sluice;
using namespace sluice::registry::consul;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::asView(data, size);

  if (auto instances = parseHealthService(body)) {
    for (const auto& instance : *instances) SLUICE_FUZZ_CHECK(!instance.ip.empty());
  } else {
    SLUICE_FUZZ_CHECK(!instances.error().message.empty());
  }
  (void)parseCatalogServices(body);
  if (auto ms = parseGoDurationMs(body)) SLUICE_FUZZ_CHECK(*ms >= 0);

  int64_t now = 1'700'000'000'000;
  ConsulCatalog catalog([&] { return now; });
  const uint64_t before = catalog.index();
  if (auto registered = catalog.registerService(body); registered) {
    SLUICE_FUZZ_CHECK(!catalog.services().empty());
    std::string snapshot = catalog.snapshot();
    ConsulCatalog restored([&] { return now; });
    auto loaded = restored.load(snapshot);
    SLUICE_FUZZ_CHECK(loaded.has_value());
    SLUICE_FUZZ_CHECK(restored.snapshot() == snapshot);
    now += 60'000;
    catalog.tick();
  } else {
    SLUICE_FUZZ_CHECK(!registered.error().message.empty());
    SLUICE_FUZZ_CHECK(catalog.index() == before && catalog.services().empty());
  }

  ConsulCatalog from_disk([&] { return now; });
  (void)from_disk.load(body);
  return 0;
}
