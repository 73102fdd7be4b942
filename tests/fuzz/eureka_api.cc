// The embedded Eureka server's REST API (registry::eureka::EurekaApi) fed raw HTTP requests:
// registrations in JSON and XML, renewals, status overrides, metadata, fetches. Every request gets
// an answer with a real status, and every fetch answer decodes as applications again.

#include <string>

#include "fuzz_check.h"
#include "registry/eureka/api.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/store.h"
#include "request_stream.h"

using namespace sluice;
using namespace sluice::registry::eureka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int64_t now = 1'700'000'000'000;
  EurekaStore store(StoreOptions{}, [&] { return now; });
  EurekaApi api(store);
  fuzz::forEachRequest(fuzz::asView(data, size), [&](const http::Request& request) {
    http::Response response = api.handle(request);
    SLUICE_FUZZ_CHECK(response.head.status >= 200 && response.head.status <= 599);
    const std::string& path = request.head.path;
    bool fetch_all =
        request.head.method == "GET" && response.head.status == 200 &&
        (path.ends_with("/apps/") || path.ends_with("/apps") || path.ends_with("/apps/delta"));
    if (fetch_all) SLUICE_FUZZ_CHECK(decodeApplications(response.body).has_value());
    now += 1000;
  });
  return 0;
}
