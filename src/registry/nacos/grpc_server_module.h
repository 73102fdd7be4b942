#pragma once
// The boundary between `sluice registry` and its grpc++ transport, which lives in a module of
// its own (sluice-nacos-grpc.so, built beside the sluice binary) so that grpc++, protobuf, abseil
// and c-ares are mapped only into a process that serves Nacos gRPC, never into a sidecar
// (issue #15: they were ~4.5 MiB of every idle sidecar's RSS). GrpcServer (grpc_server.h) loads
// the module on start() and talks to it through these two interfaces only.
//
// Why virtual calls and no shared symbols: the module is dlopen'ed RTLD_LOCAL and the binary
// exports nothing, so the module must not need a single symbol of ours. It sees header-only code
// (GrpcMessage, Result, nlohmann::json) and shared libraries both sides load once (libstdc++,
// libfmt, libspdlog: the module logs through the binary's spdlog setup); everything that is
// compiled code of ours (the codec, the naming service, the io_context) it reaches through
// GrpcServerHost. Both sides are built from the same tree; kGrpcServerModuleAbi changes whenever
// these interfaces do, and a module of another version is refused by name.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "registry/nacos/grpc_codec.h"

namespace sluice::registry::nacos {

inline constexpr int kGrpcServerModuleAbi = 1;
inline constexpr const char* kGrpcServerModuleFile = "sluice-nacos-grpc.so";
inline constexpr const char* kGrpcServerModuleEntry = "sluice_nacos_grpc_server_create";

struct GrpcServerOptions {
  int max_message_bytes = 10 * 1024 * 1024;  // the real server's default inbound limit
  std::chrono::milliseconds keepalive_time{10'000};
  std::chrono::milliseconds keepalive_timeout{5'000};
  std::chrono::milliseconds shutdown_grace{1'000};
};

// What the transport may ask of the binary. post() may be called from any thread (grpc's); the
// naming calls only from work posted with post() (they run on the store's thread).
class GrpcServerHost {
 public:
  virtual ~GrpcServerHost() = default;
  virtual void post(std::function<void()> work) = 0;

  // GrpcNamingService, one to one.
  virtual GrpcMessage handleUnary(const std::string& peer, const GrpcMessage& request) = 0;
  virtual uint64_t streamOpened(const std::string& peer,
                                std::function<bool(GrpcMessage)> writer) = 0;
  virtual void streamMessage(const std::string& peer, uint64_t stream_id,
                             const GrpcMessage& message) = 0;
  virtual void streamClosed(const std::string& peer, uint64_t stream_id) = 0;
  virtual void resetAll() = 0;

  // The codec (grpc_codec.h); any thread.
  virtual Result<GrpcMessage> decode(std::string_view bytes) = 0;
  virtual std::string encode(const GrpcMessage& message) = 0;
  virtual GrpcMessage errorResponse(int error_code, std::string message,
                                    const GrpcMessage* request) = 0;
};

// The transport (GrpcServer's contract, grpc_server.h): start and stop on the io thread.
class GrpcServerTransport {
 public:
  virtual ~GrpcServerTransport() = default;
  // The bound port. Errors: the address cannot be bound (kUnavailable).
  virtual Result<uint16_t> start(const std::string& address) = 0;
  virtual void stop() = 0;
};

// The module's one exported symbol (kGrpcServerModuleEntry). Returns null when `abi` is not
// kGrpcServerModuleAbi. The host outlives the transport; the caller deletes the transport.
using GrpcServerCreateFn = GrpcServerTransport* (*)(int abi, GrpcServerHost* host,
                                                    const GrpcServerOptions* options);

}  // namespace sluice::registry::nacos
