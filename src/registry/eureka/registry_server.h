#pragma once
// `sluice registry --protocol eureka`: the embedded Eureka server = EurekaStore + EurekaApi behind
// an http::Server, plus the timer that evicts expired leases.
//
// Threading: everything runs on the io_context given to the constructor (single thread); the
// store needs no lock because nothing else touches it.

#include <asio/io_context.hpp>
#include <memory>

#include "core/result.h"
#include "net/address.h"
#include "registry/eureka/api.h"
#include "registry/eureka/store.h"

namespace sluice::registry::eureka {

struct RegistryServerOptions {
  StoreOptions store;
  int64_t eviction_interval_ms = 1000;  // Netflix: 60 s; short so expiry lands close to the lease
};

class RegistryServer {
 public:
  RegistryServer(asio::io_context& io, RegistryServerOptions options = {});
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Binds (port 0 picks one) and starts serving and evicting. Errors: a port that cannot be bound.
  Result<net::HostPort> start(const net::HostPort& listen);
  // Stops accepting and evicting; in-flight requests finish on the io_context.
  void stop();

  EurekaStore& store() { return *store_; }

 private:
  void scheduleEviction();

  asio::io_context& io_;
  RegistryServerOptions options_;
  std::unique_ptr<EurekaStore> store_;
  std::unique_ptr<EurekaApi> api_;
  struct Runtime;
  std::shared_ptr<Runtime> runtime_;
};

}  // namespace sluice::registry::eureka
