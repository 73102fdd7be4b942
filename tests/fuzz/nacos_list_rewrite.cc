// The Nacos registry-response rewriter (method 2): an instance-list body from the registry, as
// the sidecar intercepts it, and the request target it rewrites (udpPort=0). A rewritten body is
// valid JSON whose every host has the mesh host as ip, and rewriting it again changes nothing.
// The first input byte splits the request target (before it) from the body (after it).

#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_check.h"
#include "http/url.h"
#include "registry/nacos/list_rewrite.h"

using namespace sluice;
using namespace sluice::registry::nacos;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest = fuzz::asView(data + 1, size - 1);
  const size_t target_size = std::min<size_t>(data[0] % 64, rest.size());
  std::string_view target = rest.substr(0, target_size);
  std::string_view body = rest.substr(target_size);

  std::string prepared = disableUdpPush(target);
  SLUICE_FUZZ_CHECK(http::queryParam(prepared.substr(std::min(prepared.find('?'), prepared.size())),
                                     "udpPort") == std::optional<std::string>("0"));
  (void)isInstanceListRequest("GET", target);
  (void)ungroupedName(target);

  auto rewritten = rewriteInstanceList(body);
  if (!rewritten) {
    SLUICE_FUZZ_CHECK(!rewritten.error().message.empty());
    return 0;
  }
  auto doc = nlohmann::ordered_json::parse(rewritten->body, nullptr, false);
  SLUICE_FUZZ_CHECK(!doc.is_discarded());
  auto again = rewriteInstanceList(rewritten->body);
  SLUICE_FUZZ_CHECK(again.has_value());
  SLUICE_FUZZ_CHECK(again->body == rewritten->body);
  SLUICE_FUZZ_CHECK(again->service == rewritten->service);

  // Through the interception interface, as the proxy's filter calls it.
  InstanceListRewriter rewriter;
  http::RequestHead request;
  request.method = "GET";
  request.target = "/nacos/v1/ns/instance/list?serviceName=x";
  request.path = request.target;
  SLUICE_FUZZ_CHECK(rewriter.appliesTo(request));
  rewriter.prepareRequest(request);
  auto through = rewriter.rewriteResponseBody(request, http::ResponseHead{}, body);
  SLUICE_FUZZ_CHECK(through.has_value() && through->body == rewritten->body);
  return 0;
}
