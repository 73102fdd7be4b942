#pragma once
// Method 2 for Consul: the sidecar rewrites its application's instance lookups so that every
// address in them becomes the service's mesh host (the Consul service name); the application then
// calls http://service-provider:PORT/..., and the sidecar's routing decides which instance answers.
//
//   GET /v1/health/service/NAME   [{Node: {Address, TaggedAddresses{lan,wan,...: "ip"}},
//                                   Service: {Address, TaggedAddresses{...: {Address, Port}}},
//                                   Checks}]  -> every one of those addresses := NAME
//   GET /v1/catalog/service/NAME  [{Address, TaggedAddresses, ServiceAddress,
//                                   ServiceTaggedAddresses}]  -> the same
//
// Spring Cloud Consul dials Service.Address, else Node.Address (ConsulServerUtils.findHost); the
// tagged addresses are rewritten too so no instance address is left for a client to pick. Ports,
// ids, tags, meta, checks and unknown fields are kept, and so is the key order. The query string
// (index, wait, passing, dc, token, ...) and the response headers (X-Consul-Index,
// X-Consul-KnownLeader, ...) pass untouched, so blocking queries behave as without the sidecar.
// Accept-Encoding is dropped from the request: the answer comes back uncompressed.
//
// The service name is each entry's Service.Service (health) or ServiceName (catalog), else the
// percent-decoded NAME of the path.
//
// Threads: stateless and const, shared by every worker (http/interception.h).

#include <string_view>

#include "http/interception.h"

namespace sluice::registry::consul {

class ServiceLookupRewriter : public http::InterceptionRewriter {
 public:
  static constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;

  std::string_view registry() const override { return "consul"; }
  // GET /v1/health/service/NAME and /v1/catalog/service/NAME (not .../services, not /v1/agent).
  bool appliesTo(const http::RequestHead& request) const override;
  void prepareRequest(http::RequestHead& request) const override;
  size_t maxBodyBytes() const override { return kMaxBodyBytes; }
  Result<http::RewrittenBody> rewriteResponseBody(const http::RequestHead& request,
                                                  const http::ResponseHead& response,
                                                  std::string_view body) const override;
};

// The rewrite itself, for tests: `path_service` is the NAME of the request path (decoded).
Result<http::RewrittenBody> rewriteServiceLookup(std::string_view body,
                                                 std::string_view path_service);

}  // namespace sluice::registry::consul
