#pragma once
// The gRPC transport of the embedded Nacos server: a grpc++ server on its own threads that
// serves /Request/request and /BiRequestStream/requestBiStream (nacos_grpc_service.proto) and
// hands every decoded message to a GrpcNamingService on the registry's io_context thread (the
// store's only thread), so the store needs no lock.
//
// The grpc++ half is the module sluice-nacos-grpc.so (grpc_server_module.{h,cc}), loaded by
// start() from the directory of the running binary (/proc/self/exe), so the sidecar, which never
// serves gRPC, does not map grpc++ and protobuf at all. A missing or foreign module is an error
// of start() that names the file.
//
// Bad input never reaches the naming service: bytes that are not a Payload or whose body is not
// a JSON object get an ErrorResponse (400) on that call; messages above max_message_bytes get
// RESOURCE_EXHAUSTED from grpc; other methods get UNIMPLEMENTED; bytes that are not HTTP/2 close
// that connection. Other connections are not affected.
//
// Dead peers: HTTP/2 keep-alive pings (keepalive_time / keepalive_timeout) close connections
// whose peer vanished without a FIN, so their ephemeral instances go too.
//
// Threading: construct, start() and stop() on the io_context's thread (stop() blocks it until
// grpc has finished every call, at most ~shutdown_grace; nothing inside waits for the
// io_context). The destructor stops.

#include <asio/io_context.hpp>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/address.h"
#include "registry/nacos/grpc_naming_service.h"
#include "registry/nacos/grpc_server_module.h"

namespace sluice::registry::nacos {

class GrpcServer {
 public:
  GrpcServer(asio::io_context& io, GrpcNamingService& naming, GrpcServerOptions options = {});
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Loads the module, binds (port 0 picks a free one) and starts serving. Errors: the module
  // cannot be loaded (kUnavailable, naming the path), the address cannot be bound.
  Result<net::HostPort> start(const net::HostPort& listen);
  // Sends every client ConnectResetRequest, ends every call and shuts grpc down. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Where start() looks for the module: kGrpcServerModuleFile beside /proc/self/exe.
std::string grpcServerModulePath();

}  // namespace sluice::registry::nacos
