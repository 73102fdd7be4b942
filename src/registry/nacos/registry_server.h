#pragma once
// `sluice registry`: the embedded Nacos naming server = NamingStore + NamingApi behind an
// http::Server, plus the timer that expires ephemeral instances without beats, plus the Nacos
// 2.x/3.x gRPC API (grpc_server.h) on the same store: what one protocol registers the other sees.
//
// Threading: everything runs on the io_context given to the constructor (single thread); the
// store needs no lock because nothing else touches it.

#include <asio/io_context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "net/address.h"
#include "registry/nacos/grpc_naming_service.h"
#include "registry/nacos/grpc_server.h"
#include "registry/nacos/naming_api.h"
#include "registry/nacos/naming_store.h"

namespace sluice::registry::nacos {

struct RegistryServerOptions {
  StoreOptions store;
  ApiOptions api;
  // Where persistent instances are kept; empty keeps them in memory only (lost on exit).
  std::string data_dir;
  // gRPC beside HTTP: off, on the HTTP port + 1000 like the real server (a free port when HTTP
  // listens on port 0), or on a given port (0 = a free one).
  enum class GrpcMode { kOff, kHttpPortPlus1000, kPort };
  GrpcMode grpc_mode = GrpcMode::kHttpPortPlus1000;
  uint16_t grpc_port = 0;  // kPort only
  GrpcServerOptions grpc;
  GrpcNamingOptions grpc_naming;
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
  // Stops accepting and expiring (gRPC clients are told to reconnect); in-flight HTTP requests
  // finish on the io_context.
  void stop();

  NamingStore& store() { return *store_; }
  // Where gRPC is served once start() succeeded; nullopt when off.
  const std::optional<net::HostPort>& grpcAddress() const { return grpc_address_; }

 private:
  void scheduleSweep();

  asio::io_context& io_;
  RegistryServerOptions options_;
  std::unique_ptr<NamingStore> store_;
  std::unique_ptr<NamingApi> api_;
  std::unique_ptr<GrpcNamingService> grpc_naming_;
  std::unique_ptr<GrpcServer> grpc_server_;
  std::optional<net::HostPort> grpc_address_;
  struct Runtime;
  std::shared_ptr<Runtime> runtime_;
};

}  // namespace sluice::registry::nacos
