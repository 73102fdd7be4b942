#include "registry/nacos/grpc_server.h"

#include <dlfcn.h>

#include <asio/post.hpp>
#include <filesystem>
#include <mutex>

#include "core/log.h"

namespace sluice::registry::nacos {
namespace {

class NamingHost : public GrpcServerHost {
 public:
  NamingHost(asio::io_context& io, GrpcNamingService& naming) : io_(io), naming_(naming) {}

  void post(std::function<void()> work) override { asio::post(io_, std::move(work)); }
  GrpcMessage handleUnary(const std::string& peer, const GrpcMessage& request) override {
    return naming_.handleUnary(peer, request);
  }
  uint64_t streamOpened(const std::string& peer, std::function<bool(GrpcMessage)> writer) override {
    return naming_.streamOpened(peer, std::move(writer));
  }
  void streamMessage(const std::string& peer, uint64_t stream_id,
                     const GrpcMessage& message) override {
    naming_.streamMessage(peer, stream_id, message);
  }
  void streamClosed(const std::string& peer, uint64_t stream_id) override {
    naming_.streamClosed(peer, stream_id);
  }
  void resetAll() override { naming_.resetAll(); }
  Result<GrpcMessage> decode(std::string_view bytes) override { return decodePayload(bytes); }
  std::string encode(const GrpcMessage& message) override { return encodePayload(message); }
  GrpcMessage errorResponse(int error_code, std::string message,
                            const GrpcMessage* request) override {
    return makeErrorResponse(error_code, std::move(message), request);
  }

 private:
  asio::io_context& io_;
  GrpcNamingService& naming_;
};

// Loaded once per process and never unloaded: grpc keeps threads and globals of its own until
// exit.
Result<GrpcServerCreateFn> loadModule() {
  static std::mutex mu;
  static GrpcServerCreateFn create = nullptr;
  std::lock_guard lock(mu);
  if (create != nullptr) return create;
  std::string path = grpcServerModulePath();
  auto unavailable = [&](std::string_view why) {
    return makeError(ErrorCode::kUnavailable, ErrorSource::kInternal,
                     fmt::format("nacos grpc: cannot load the gRPC server module {} ({}): it is "
                                 "built beside the sluice binary; or run with --grpc-port off",
                                 path, why));
  };
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = dlerror();
    return unavailable(err != nullptr ? err : "dlopen failed");
  }
  void* entry = dlsym(handle, kGrpcServerModuleEntry);
  if (entry == nullptr) return unavailable(fmt::format("no symbol {}", kGrpcServerModuleEntry));
  create = reinterpret_cast<GrpcServerCreateFn>(entry);
  return create;
}

}  // namespace

std::string grpcServerModulePath() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return kGrpcServerModuleFile;
  return (exe.parent_path() / kGrpcServerModuleFile).string();
}

struct GrpcServer::Impl {
  Impl(asio::io_context& io, GrpcNamingService& naming, GrpcServerOptions opts)
      : host(io, naming), options(opts) {}
  NamingHost host;
  GrpcServerOptions options;
  std::unique_ptr<GrpcServerTransport> transport;
  bool stopped = false;
};

GrpcServer::GrpcServer(asio::io_context& io, GrpcNamingService& naming, GrpcServerOptions options)
    : impl_(std::make_unique<Impl>(io, naming, options)) {}

GrpcServer::~GrpcServer() { stop(); }

Result<net::HostPort> GrpcServer::start(const net::HostPort& listen) {
  SLUICE_ASSIGN_OR_RETURN(GrpcServerCreateFn create, loadModule());
  impl_->transport.reset(create(kGrpcServerModuleAbi, &impl_->host, &impl_->options));
  if (!impl_->transport) {
    return makeError(ErrorCode::kUnavailable, ErrorSource::kInternal,
                     fmt::format("nacos grpc: the module {} is of another build (ABI {} wanted)",
                                 grpcServerModulePath(), kGrpcServerModuleAbi));
  }
  SLUICE_ASSIGN_OR_RETURN(uint16_t port, impl_->transport->start(listen.toString()));
  net::HostPort bound = listen;
  bound.port = port;
  return bound;
}

void GrpcServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->transport) impl_->transport->stop();
  impl_->transport.reset();
}

}  // namespace sluice::registry::nacos
