#pragma once
// Registry interception (the seed's method 2: the Nacos-subscribe Lua EnvoyFilter, implemented
// natively, and the same for Eureka and Consul). Every piece of it on the data plane is here;
// what is registry-specific is the snapshot rule's http::InterceptionRewriter:
//   - which requests: on a sidecar (not a gateway), a request to a port that a recognised
//     interception rule names (MeshSnapshot::interceptionFor) that the rule's rewriter
//     appliesTo (Nacos: /nacos/v1/ns/instance/list; Eureka: .../apps and .../apps/delta;
//     Consul: /v1/health/service/NAME, /v1/catalog/service/NAME);
//   - how the request is prepared: the rewriter's prepareRequest (always: no Accept-Encoding, the
//     body must come back in identity to be rewritten; Nacos also udpPort=0);
//   - the response: a 200 in identity is read whole (up to the rewriter's maxBodyBytes;
//     incomplete or larger -> 502 UPE) and every instance's address becomes the service's mesh
//     host; the connection manager sends it with Content-Length. Response headers (Consul's
//     X-Consul-Index, ...) pass untouched. A compressed answer, or one that is not an instance
//     list, passes unchanged with a warning.
// Also used by the transparent listener: a connection to an intercepted port is HTTP spoken
// client-first (registryInterceptionPort).

#include <cstdint>

#include "proxy/filters/http_filter.h"

namespace sluice::proxy {

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
