#pragma once
// Method 2 for Eureka: the sidecar rewrites its application's registry fetches
// (GET .../apps/ and .../apps/delta, JSON or XML) so that every instance's hostName and ipAddr
// become its service's mesh host, the lower-cased application name (SERVICE-PROVIDER ->
// service-provider). Spring Cloud's EurekaServiceInstance dials hostName:port, so the application
// then calls http://service-provider:PORT/..., and the sidecar's routing decides which instance
// answers. Everything else (port, status, metadata, instance ids, unknown fields) is kept.
//
// The apps hash code counts statuses only, so the rewrite leaves it right; a full fetch's hash code
// is still recomputed from the rewritten body, so a client's delta check always agrees with what
// it was given. Accept-Encoding is dropped from the request: the answer comes back uncompressed.
//
// Threads: stateless and const, shared by every worker (http/interception.h).

#include "http/interception.h"

namespace sluice::registry::eureka {

class AppsRewriter : public http::InterceptionRewriter {
 public:
  std::string_view registry() const override { return "eureka"; }
  bool appliesTo(const http::RequestHead& request) const override;
  void prepareRequest(http::RequestHead& request) const override;
  size_t maxBodyBytes() const override { return 32 * 1024 * 1024; }
  Result<http::RewrittenBody> rewriteResponseBody(const http::RequestHead& request,
                                                  const http::ResponseHead& response,
                                                  std::string_view body) const override;
};

// The rewrite itself, for tests: `full` recomputes apps__hashcode (a full fetch; a delta's hash
// code is the whole registry's and stays).
Result<http::RewrittenBody> rewriteApplications(std::string_view body, bool full);

}  // namespace sluice::registry::eureka
