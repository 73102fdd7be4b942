#include "registry/eureka/registry_server.h"

#include <asio/steady_timer.hpp>
#include <chrono>

#include "core/log.h"
#include "http/server.h"

namespace sluice::registry::eureka {

struct RegistryServer::Runtime {
  explicit Runtime(asio::io_context& io) : eviction_timer(io) {}
  std::unique_ptr<http::Server> server;
  asio::steady_timer eviction_timer;
  bool stopped = false;
};

namespace {

// Not a lambda coroutine on purpose: the handler object may be copied or destroyed while a
// request is in flight, so everything the coroutine needs travels as its parameters.
asio::awaitable<http::Response> serve(EurekaApi* api, http::Request request) {
  co_return api->handle(request);
}

}  // namespace

RegistryServer::RegistryServer(asio::io_context& io, RegistryServerOptions options)
    : io_(io),
      options_(options),
      store_(std::make_unique<EurekaStore>(options_.store)),
      api_(std::make_unique<EurekaApi>(*store_)),
      runtime_(std::make_shared<Runtime>(io_)) {}

RegistryServer::~RegistryServer() { stop(); }

Result<net::HostPort> RegistryServer::start(const net::HostPort& listen) {
  EurekaApi* api = api_.get();
  runtime_->server = std::make_unique<http::Server>(
      io_, [api](http::Request request) { return serve(api, std::move(request)); });
  auto bound = runtime_->server->listen(listen);
  if (!bound) return bound;
  scheduleEviction();
  return bound;
}

void RegistryServer::scheduleEviction() {
  runtime_->eviction_timer.expires_after(std::chrono::milliseconds(options_.eviction_interval_ms));
  runtime_->eviction_timer.async_wait([this, runtime = runtime_](const asio::error_code& ec) {
    if (ec || runtime->stopped) return;
    if (size_t evicted = store_->evictExpired()) {
      SLUICE_LOG_INFO("eureka registry: evicted {} expired lease(s)", evicted);
    }
    scheduleEviction();
  });
}

void RegistryServer::stop() {
  if (runtime_->stopped) return;
  runtime_->stopped = true;
  runtime_->eviction_timer.cancel();
  if (runtime_->server) runtime_->server->stop();
}

}  // namespace sluice::registry::eureka
