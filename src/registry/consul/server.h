#pragma once
// `sluice registry --protocol consul`: an embedded Consul agent + catalog (one node, one
// datacenter "dc1") serving what Spring Cloud Consul and the npm `consul` client use:
//
//   PUT /v1/agent/service/register                   register (Check/Checks: TTL, HTTP, TCP)
//   PUT /v1/agent/service/deregister/<id>
//   PUT /v1/agent/service/maintenance/<id>?enable=true|false[&reason=]
//   PUT /v1/agent/check/pass|warn|fail/<check id>[?note=]   PUT /v1/agent/check/update/<id>
//   GET /v1/agent/services  /v1/agent/checks  /v1/agent/self  /v1/agent/service/<id>
//   GET /v1/catalog/services  /v1/catalog/service/<name>  /v1/catalog/nodes
//       /v1/catalog/datacenters  /v1/health/service/<name>[?passing&tag=]
//       /v1/health/checks/<name>  /v1/status/leader  /v1/status/peers
//
// Catalog and health reads are blocking queries: `?index=N&wait=D` (default 5 m, max 10 m) holds
// the answer until the endpoint's X-Consul-Index passes N or the wait ends. The server runs HTTP
// and TCP checks at their interval (the first at once) and expires TTL checks. Unknown endpoints
// answer 404 with a message; a malformed registration answers 400 with Consul's message and
// changes nothing. ACL tokens are accepted and ignored (no ACL system); `dc` other than dc1 gets
// Consul's 500 "No path to datacenter". KV, sessions, events, prepared queries are not
// implemented (404).
//
// Durability: with a data directory, the catalog is written (temp file, fsync, rename) after
// every change and loaded at start, so services survive a restart or kill -9.
//
// Threading: everything runs on the io_context given to the constructor (single thread).

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/address.h"

namespace sluice::registry::consul {

class ConsulCatalog;

struct ServerOptions {
  std::string data_dir;   // "" = in memory only
  int64_t tick_ms = 100;  // TTL expiry, reaping and probe scheduling granularity
  std::string node_name = "sluice";
  std::string datacenter = "dc1";
};

class ConsulServer {
 public:
  ConsulServer(asio::io_context& io, ServerOptions options = {});
  ~ConsulServer();
  ConsulServer(const ConsulServer&) = delete;
  ConsulServer& operator=(const ConsulServer&) = delete;

  // Loads the data directory, binds (port 0 picks one) and starts serving. Errors: an unreadable
  // or malformed catalog file, a port that cannot be bound.
  Result<net::HostPort> start(const net::HostPort& listen);
  void stop();

  ConsulCatalog& catalog();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::registry::consul
