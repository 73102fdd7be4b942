#pragma once
// The Nacos naming HTTP Open API v1 over a NamingStore: what Spring Cloud Alibaba's nacos-client
// 1.x, the official Node SDK (`nacos` 2.6.0) and curl users send to a real Nacos server.
//
//   POST|PUT|PATCH|DELETE|GET /nacos/v1/ns/instance   register / update / patch / deregister /
//                                                     detail
//   PUT  /nacos/v1/ns/instance/beat                   heartbeat (re-registers from the beat body)
//   GET  /nacos/v1/ns/instance/list                   instances of a service (+ cluster filter)
//   GET  /nacos/v1/ns/service/list                    service names, paged
//   GET  /nacos/v1/ns/operator/metrics                {"status":"UP",...}
//   GET  /nacos/serverlist                            this server (endpoint mode of the SDKs)
//
// Parameters come from the query string and a form body, merged (params.h). Service names are
// normalised like the real server's filter (no "@@" -> "<groupName|DEFAULT_GROUP>@@name").
// Writes answer "ok"; reads answer JSON in the shapes of the real server (the instance list is
// the union of the 1.x and 2.x shapes, with `name` and `clusters` echoed as requested, because
// clients key their caches on them). Bad requests get 400 with the real server's "caused: ...;"
// text and change nothing. Responses are never compressed: the Node SDK cannot decode gzip.
//
// UDP push is not implemented: clients announce a udpPort, we do not push to it and answer with
// the pull cacheMillis instead, so they poll at that cadence.
//
// Threading: handle() runs on the server's io_context thread, like the store it uses.

#include <cstdint>

#include "http/server.h"
#include "registry/nacos/naming_store.h"

namespace sluice::registry::nacos {

struct ApiOptions {
  // cacheMillis in instance lists: how often clients poll (real server without push: 3000).
  int64_t cache_millis = 3000;
  // Nacos' protect threshold: when the healthy share of a service is <= this, every instance is
  // answered healthy. Negative turns protection off (the default here: unhealthy instances are
  // reported as such so the mesh can skip them).
  double protect_threshold = -1;
};

class NamingApi {
 public:
  NamingApi(NamingStore& store, ApiOptions options = {});

  // Answers one request. Never throws.
  http::Response handle(const http::Request& request);

 private:
  NamingStore& store_;
  ApiOptions options_;
};

}  // namespace sluice::registry::nacos
