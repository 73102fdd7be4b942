#pragma once
// `sluice registry`: the embedded Nacos naming server = NamingStore + NamingApi behind an
// http::Server, plus the timer that expires ephemeral instances without beats.
//
// Threading: everything runs on the io_context given to the constructor (single thread); the
// store needs no lock because nothing else touches it.

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/address.h"
#include "registry/nacos/naming_api.h"
#include "registry/nacos/naming_store.h"

namespace sluice::registry::nacos {

struct RegistryServerOptions {
  StoreOptions store;
  ApiOptions api;
  // Where persistent instances are kept; empty keeps them in memory only (lost on exit).
  std::string data_dir;
};

class RegistryServer {
 public:
  RegistryServer(asio::io_context& io, RegistryServerOptions options);
  ~RegistryServer();
  RegistryServer(const RegistryServer&) = delete;
  RegistryServer& operator=(const RegistryServer&) = delete;

  // Loads the persistent instances, binds (port 0 picks one) and starts serving and expiring.
  // Errors: a corrupt data file (named), a port that cannot be bound.
  Result<net::HostPort> start(const net::HostPort& listen);
  // Stops accepting and expiring; in-flight requests finish on the io_context.
  void stop();

  NamingStore& store() { return *store_; }

 private:
  void scheduleSweep();

  asio::io_context& io_;
  RegistryServerOptions options_;
  std::unique_ptr<NamingStore> store_;
  std::unique_ptr<NamingApi> api_;
  struct Runtime;
  std::shared_ptr<Runtime> runtime_;
};

}  // namespace sluice::registry::nacos
