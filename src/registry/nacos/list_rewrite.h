#pragma once
// Method 2 of the seed (the Nacos-subscribe Lua EnvoyFilter), done properly: a sidecar that sees
// an application's `GET /nacos/v1/ns/instance/list` rewrites the answer so every instance's `ip`
// becomes the service's mesh host. The application then calls the service by name, and the
// sidecar's VirtualService decides which instance really answers.
//
// What is kept, because clients depend on it: `name` and `clusters` (the client's cache key),
// every host's port, health, enabled flag, weight and metadata, the field order. UDP push would
// overwrite the rewritten list with original addresses, so the request's udpPort is set to 0 and
// clients fall back to polling (registries.md §1.8).

#include <string>
#include <string_view>

#include "core/result.h"
#include "http/interception.h"

namespace sluice::registry::nacos {

// True for the instance-list path of the v1 naming API (the query string is ignored).
bool isInstanceListRequest(std::string_view method, std::string_view target);

// The request target with udpPort=0 (added when absent), other parameters untouched.
std::string disableUdpPush(std::string_view target);

// "DEFAULT_GROUP@@service-provider" -> "service-provider"; a name without a group is returned
// as is.
std::string_view ungroupedName(std::string_view grouped);

struct RewriteResult {
  std::string body;
  std::string service;  // ungrouped service name the list was for
  int hosts_rewritten = 0;
};

// Rewrites an instance-list JSON body: hosts[].ip := mesh_host_for(service). `mesh_host` empty
// means "the ungrouped service name". Errors (kInvalidArgument, source kRegistry) when the body
// is not an instance list; the caller then forwards the original body unchanged.
Result<RewriteResult> rewriteInstanceList(std::string_view body, std::string_view mesh_host = {});

// The above as the registry-neutral interception interface the proxy's filter calls.
class InstanceListRewriter : public http::InterceptionRewriter {
 public:
  // Instance lists larger than this are not rewritten (the filter answers 502).
  static constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;

  std::string_view registry() const override { return "nacos"; }
  bool appliesTo(const http::RequestHead& request) const override;
  // udpPort=0 and no accept-encoding.
  void prepareRequest(http::RequestHead& request) const override;
  size_t maxBodyBytes() const override { return kMaxBodyBytes; }
  Result<http::RewrittenBody> rewriteResponseBody(const http::RequestHead& request,
                                                  const http::ResponseHead& response,
                                                  std::string_view body) const override;
};

}  // namespace sluice::registry::nacos
