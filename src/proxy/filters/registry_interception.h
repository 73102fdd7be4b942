#pragma once
// Registry interception (the seed's method 2: the Nacos-subscribe Lua EnvoyFilter, implemented
// natively). Every piece of it on the data plane is in this file:
//   - which requests: on a sidecar (not a gateway), a request to a port that a recognised
//     Nacos-subscribe filter names (MeshSnapshot::nacosRewriteFor) that is an instance-list
//     request of the Nacos v1 naming API;
//   - how the request is prepared: udpPort=0 (a UDP push of the original list must not
//     overwrite the rewritten one) and no Accept-Encoding (the body must come back in identity
//     to be rewritten);
//   - the response: a 200 in identity is read whole (up to kMaxInstanceList; incomplete or
//     larger -> 502 UPE) and every instance's ip becomes the service's mesh host; the connection
//     manager sends it with Content-Length. A compressed answer, or one that is not an instance
//     list, passes unchanged with a warning.
// Also used by the transparent listener: a connection to an intercepted port is HTTP spoken
// client-first (registryInterceptionPort).

#include <cstddef>
#include <cstdint>

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

// A Nacos instance list is buffered whole to be rewritten (a few KiB per hundred instances).
inline constexpr size_t kMaxInstanceList = 16 * 1024 * 1024;

// Whether requests to `port` may be intercepted (a recognised rule names the port).
bool registryInterceptionPort(const MeshSnapshot& snapshot, uint32_t port);

class RegistryInterceptionFilter final : public HttpFilter {
 public:
  std::string_view name() const override { return "registry_interception"; }
  void onUpstreamRequest(FilterContext& ctx) const override;
  FilterResult onResponseHead(FilterContext& ctx, http::ResponseHead& response) const override;
  void onResponseBody(FilterContext& ctx, http::ResponseHead& response,
                      std::string& body) const override;
};

}  // namespace sluice::proxy
