#include "registry/nacos/registry_server.h"

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <chrono>

#include "core/log.h"
#include "http/server.h"
#include "registry/nacos/snapshot_storage.h"

namespace sluice::registry::nacos {

struct RegistryServer::Runtime {
  explicit Runtime(asio::io_context& io) : sweep_timer(io) {}
  std::unique_ptr<http::Server> server;
  asio::steady_timer sweep_timer;
  bool stopped = false;
};

namespace {

// Not a lambda coroutine on purpose: the handler object may be copied or destroyed while a
// request is in flight, so everything the coroutine needs travels as its parameters.
asio::awaitable<http::Response> serve(NamingApi* api, http::Request request) {
  co_return api->handle(request);
}

}  // namespace

RegistryServer::RegistryServer(asio::io_context& io, RegistryServerOptions options)
    : io_(io), options_(std::move(options)) {
  std::unique_ptr<SnapshotStorage> storage;
  if (options_.data_dir.empty()) {
    storage = std::make_unique<MemorySnapshotStorage>();
  } else {
    storage = std::make_unique<FileSnapshotStorage>(options_.data_dir);
  }
  store_ = std::make_unique<NamingStore>(options_.store, std::move(storage));
  api_ = std::make_unique<NamingApi>(*store_, options_.api);
  runtime_ = std::make_shared<Runtime>(io_);
}

RegistryServer::~RegistryServer() { stop(); }

Result<net::HostPort> RegistryServer::start(const net::HostPort& listen) {
  SLUICE_RETURN_IF_ERROR(store_->load());
  NamingApi* api = api_.get();
  runtime_->server = std::make_unique<http::Server>(
      io_, [api](http::Request request) { return serve(api, std::move(request)); });
  auto bound = runtime_->server->listen(listen);
  if (!bound) return bound;
  if (options_.grpc_mode != RegistryServerOptions::GrpcMode::kOff) {
    net::HostPort grpc_listen{bound->host, 0};
    if (options_.grpc_mode == RegistryServerOptions::GrpcMode::kPort) {
      grpc_listen.port = options_.grpc_port;
    } else if (listen.port != 0) {
      if (bound->port > 65535 - 1000) {
        return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                         fmt::format("HTTP port {} + 1000 is no port: set the gRPC port explicitly",
                                     bound->port));
      }
      grpc_listen.port = static_cast<uint16_t>(bound->port + 1000);
    }
    grpc_naming_ = std::make_unique<GrpcNamingService>(io_, *store_, options_.grpc_naming);
    grpc_server_ = std::make_unique<GrpcServer>(io_, *grpc_naming_, options_.grpc);
    auto grpc_bound = grpc_server_->start(grpc_listen);
    if (!grpc_bound) return tl::unexpected(grpc_bound.error());
    grpc_address_ = *grpc_bound;
  }
  scheduleSweep();
  return bound;
}

void RegistryServer::scheduleSweep() {
  // Sweep often enough that expiry lands within ~1/5 of the shortest timeout (tests shorten them).
  int64_t shortest = std::min(options_.store.beat_timeout_ms, options_.store.delete_timeout_ms);
  auto period = std::chrono::milliseconds(std::clamp<int64_t>(shortest / 5, 20, 1000));
  runtime_->sweep_timer.expires_after(period);
  runtime_->sweep_timer.async_wait([this, runtime = runtime_](const asio::error_code& ec) {
    if (ec || runtime->stopped) return;
    store_->sweep();
    scheduleSweep();
  });
}

void RegistryServer::stop() {
  if (runtime_->stopped) return;
  runtime_->stopped = true;
  runtime_->sweep_timer.cancel();
  if (grpc_server_) grpc_server_->stop();
  if (runtime_->server) runtime_->server->stop();
}

}  // namespace sluice::registry::nacos
