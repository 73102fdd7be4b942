#include "registry/consul/plugin.h"

#include "core/log.h"
#include "registry/consul/rewrite.h"
#include "registry/consul/server.h"
#include "registry/consul/watcher.h"

namespace sluice::registry::consul {
namespace {

constexpr const char* kDataDir = "--consul-data-dir";

class ConsulEmbeddedServer : public EmbeddedServer {
 public:
  ConsulEmbeddedServer(asio::io_context& io, ServerOptions options) : server_(io, options) {}
  Result<net::HostPort> start(const net::HostPort& listen) override {
    return server_.start(listen);
  }
  void stop() override { server_.stop(); }

 private:
  ConsulServer server_;
};

Result<std::unique_ptr<EmbeddedServer>> makeServer(asio::io_context& io,
                                                   const ServerFlagValues& flags) {
  ServerOptions options;
  options.data_dir = flags.get(kDataDir);
  if (options.data_dir.empty()) {
    SLUICE_LOG_WARN("consul registry: no {}: the catalog is kept in memory only", kDataDir);
  }
  return std::unique_ptr<EmbeddedServer>(std::make_unique<ConsulEmbeddedServer>(io, options));
}

}  // namespace

const Plugin& plugin() {
  static const Plugin kPlugin{
      .name = "consul",
      .url_syntax = "consul://HOST[:PORT][?dc=DC&token=TOKEN&wait=DURATION] (port 8500)",
      .make_watcher = makeWatcher,
      .server =
          ServerPlugin{
              .description = "Consul agent + catalog (HTTP API /v1/, blocking queries)",
              .default_listen = "127.0.0.1:8500",
              .flags = {{kDataDir,
                         "Consul: directory where the catalog is persisted (survives restarts)", "",
                         std::nullopt}},
              .make = makeServer,
          },
      .rewriter = std::make_shared<const ServiceLookupRewriter>(),
      .stream_rewriter = nullptr,
      .grpc_rewriter = nullptr,
  };
  return kPlugin;
}

}  // namespace sluice::registry::consul
