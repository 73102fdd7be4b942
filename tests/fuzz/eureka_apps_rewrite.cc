// The Eureka registry-response rewriter (method 2): a full or delta fetch answer (JSON or XML)
// as the sidecar intercepts it. A rewritten body that decoded before decodes again, every
// instance's hostName and ipAddr are its app's mesh host, and rewriting it again changes nothing.
// The first input byte chooses a full fetch or a delta.

#include <cctype>
#include <string>

#include "fuzz_check.h"
#include "registry/eureka/apps_rewrite.h"
#include "registry/eureka/codec.h"

using namespace sluice;
using namespace sluice::registry::eureka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool full = (data[0] & 1) == 0;
  std::string_view body = fuzz::asView(data + 1, size - 1);

  auto rewritten = rewriteApplications(body, full);
  if (!rewritten) {
    SLUICE_FUZZ_CHECK(!rewritten.error().message.empty());
    return 0;
  }
  // A body the codec can read stays readable (the rewriter itself is lenient with the rest).
  auto apps = decodeApplications(rewritten->body);
  SLUICE_FUZZ_CHECK(apps.has_value() || !decodeApplications(body).has_value());
  if (apps) {
    for (const auto& app : apps->applications) {
      std::string mesh_host = app.name;
      for (char& c : mesh_host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const auto& instance : app.instances) {
        SLUICE_FUZZ_CHECK(instance.host_name == mesh_host && instance.ip_addr == mesh_host);
      }
    }
  }
  auto again = rewriteApplications(rewritten->body, full);
  SLUICE_FUZZ_CHECK(again.has_value());
  SLUICE_FUZZ_CHECK(again->body == rewritten->body);

  AppsRewriter rewriter;
  http::RequestHead request;
  request.method = "GET";
  request.target = full ? "/eureka/apps/" : "/eureka/apps/delta";
  request.path = request.target;
  SLUICE_FUZZ_CHECK(rewriter.appliesTo(request));
  rewriter.prepareRequest(request);
  auto through = rewriter.rewriteResponseBody(request, http::ResponseHead{}, body);
  SLUICE_FUZZ_CHECK(through.has_value() && through->body == rewritten->body);
  return 0;
}
