#pragma once
// The Eureka REST API over an EurekaStore: what Spring Cloud Netflix clients, the Netflix Java
// client and eureka-js-client send to a Eureka server. Served under /eureka/ (Spring Cloud's
// server) and /eureka/v2/ (Netflix's, eureka-js-client's default servicePath):
//
//   POST   apps/{APP}                      register ({"instance":{...}} or <instance>): 204
//   PUT    apps/{APP}/{id}                 renew: 200, 404 when unknown (the client registers)
//   DELETE apps/{APP}/{id}                 cancel: 200 / 404
//   PUT    apps/{APP}/{id}/status?value=S  status override: 200 / 404
//   DELETE apps/{APP}/{id}/status[?value=] remove the override: 200 / 404
//   PUT    apps/{APP}/{id}/metadata?k=v    add metadata: 200 / 404
//   GET    apps/ | apps/delta | apps/{APP} | apps/{APP}/{id} | instances/{id} | vips/{v} |
//   svips/{v}
//
// Reads answer JSON when Accept mentions application/json, XML otherwise (the real server's
// rule), uncompressed (every client reads identity bodies). There is no response cache: a change
// is visible to the next fetch. A malformed request gets 400 with a text message naming the
// problem and changes nothing.
//
// Threading: handle() runs on the server's io_context thread, like the store.

#include "http/server.h"
#include "registry/eureka/store.h"

namespace sluice::registry::eureka {

class EurekaApi {
 public:
  explicit EurekaApi(EurekaStore& store) : store_(store) {}

  // Answers one request. Never throws.
  http::Response handle(const http::Request& request);

 private:
  EurekaStore& store_;
};

}  // namespace sluice::registry::eureka
