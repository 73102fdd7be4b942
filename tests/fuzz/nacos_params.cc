// The embedded Nacos server's v1 Open API (registry::nacos::NamingApi) fed raw HTTP requests:
// query strings and form bodies (Params), beat and metadata JSON, service and cluster names.
// Every request gets an answer with a real status; every JSON answer is valid JSON; a bad request
// (4xx) changes nothing that a following instance list shows.

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_check.h"
#include "registry/nacos/naming_api.h"
#include "registry/nacos/params.h"
#include "registry/nacos/snapshot_storage.h"
#include "request_stream.h"

using namespace sluice;
using namespace sluice::registry::nacos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::asView(data, size);

  // The parameter layer alone, on the whole input as one encoded string.
  Params params;
  if (params.addEncoded(input)) {
    (void)params.optional("serviceName", "fallback");
    (void)params.required("ip");
  }

  int64_t now = 1'700'000'000'000;
  NamingStore store(StoreOptions{}, std::make_unique<MemorySnapshotStorage>(), [&] { return now; });
  NamingApi api(store);
  fuzz::forEachRequest(input, [&](const http::Request& request) {
    http::Response response = api.handle(request);
    SLUICE_FUZZ_CHECK(response.head.status >= 200 && response.head.status <= 599);
    auto type = response.head.headers.get("Content-Type");
    if (type && fuzz::isJson(*type) && !response.body.empty()) {
      SLUICE_FUZZ_CHECK(nlohmann::json::accept(response.body));
    }
    now += 1000;
  });
  return 0;
}
