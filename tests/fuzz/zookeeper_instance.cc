// Curator service-discovery records, the data of an instance znode as the ZooKeeper watcher reads
// it (parseServiceInstance) and as the wire rewriter rewrites it (rewriteRecord): never throws;
// a rewritten record is still a record, with the service name as its address and the rest kept.

#include <string>

#include "fuzz_check.h"
#include "registry/zookeeper/service_instance.h"
#include "registry/zookeeper/wire_rewriter.h"

using namespace sluice;
using namespace sluice::registry::zookeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view record = fuzz::asView(data, size);
  auto instance = parseServiceInstance(record);
  if (instance) {
    SLUICE_FUZZ_CHECK(!instance->ip.empty() && instance->port != 0);
  } else {
    SLUICE_FUZZ_CHECK(!instance.error().message.empty());
  }

  std::string rewritten = WireRewriter::rewriteRecord(record, "service-provider");
  if (!rewritten.empty()) {
    auto parsed = parseServiceInstance(rewritten);
    if (instance) {
      SLUICE_FUZZ_CHECK(parsed.has_value());
      SLUICE_FUZZ_CHECK(parsed->ip == "service-provider");
      SLUICE_FUZZ_CHECK(parsed->port == instance->port);
      SLUICE_FUZZ_CHECK(parsed->metadata == instance->metadata);
    }
    SLUICE_FUZZ_CHECK(WireRewriter::rewriteRecord(rewritten, "service-provider") == rewritten);
  }
  (void)WireRewriter::serviceOfInstancePath("/services", record);
  return 0;
}
