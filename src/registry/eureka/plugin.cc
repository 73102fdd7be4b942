#include "registry/eureka/plugin.h"

#include "registry/eureka/apps_rewrite.h"
#include "registry/eureka/registry_server.h"
#include "registry/eureka/watcher.h"

namespace sluice::registry::eureka {
namespace {

constexpr const char* kLeaseDuration = "--eureka-lease-duration-ms";
constexpr const char* kEvictionInterval = "--eureka-eviction-interval-ms";
constexpr const char* kDeltaRetention = "--eureka-delta-retention-ms";
constexpr const char* kSelfPreservation = "--eureka-self-preservation";

class EurekaEmbeddedServer : public EmbeddedServer {
 public:
  EurekaEmbeddedServer(asio::io_context& io, RegistryServerOptions options)
      : server_(io, options) {}
  Result<net::HostPort> start(const net::HostPort& listen) override {
    return server_.start(listen);
  }
  void stop() override { server_.stop(); }

 private:
  RegistryServer server_;
};

Result<std::unique_ptr<EmbeddedServer>> makeServer(asio::io_context& io,
                                                   const ServerFlagValues& flags) {
  RegistryServerOptions options;
  SLUICE_ASSIGN_OR_RETURN(options.store.lease_duration_ms, flags.getInt(kLeaseDuration));
  SLUICE_ASSIGN_OR_RETURN(options.eviction_interval_ms, flags.getInt(kEvictionInterval));
  SLUICE_ASSIGN_OR_RETURN(options.store.delta_retention_ms, flags.getInt(kDeltaRetention));
  SLUICE_ASSIGN_OR_RETURN(int64_t self_preservation, flags.getInt(kSelfPreservation));
  options.store.self_preservation = self_preservation != 0;
  return std::unique_ptr<EmbeddedServer>(std::make_unique<EurekaEmbeddedServer>(io, options));
}

ServerPlugin serverPlugin() {
  const StoreOptions store;
  const RegistryServerOptions server;
  constexpr int64_t kDay = 86'400'000;
  constexpr int64_t kHour = 3'600'000;
  return ServerPlugin{
      .description = "Eureka server (REST under /eureka/, JSON and XML)",
      .default_listen = "127.0.0.1:8761",
      .flags =
          {
              {kLeaseDuration,
               "Eureka: lease of an instance whose leaseInfo gives no durationInSecs (expires "
               "this long after its last renewal)",
               std::to_string(store.lease_duration_ms), std::pair<int64_t, int64_t>{100, kDay}},
              {kEvictionInterval, "Eureka: how often expired leases are evicted",
               std::to_string(server.eviction_interval_ms), std::pair<int64_t, int64_t>{10, kHour}},
              {kDeltaRetention, "Eureka: how long a change stays in /eureka/apps/delta answers",
               std::to_string(store.delta_retention_ms), std::pair<int64_t, int64_t>{1000, kDay}},
              {kSelfPreservation,
               "Eureka: 1 pauses eviction while renewals fall below 85% of the expected (off: 0)",
               "0", std::pair<int64_t, int64_t>{0, 1}},
          },
      .make = makeServer,
  };
}

}  // namespace

const Plugin& plugin() {
  static const Plugin kPlugin{
      .name = "eureka",
      .url_syntax =
          "eureka://HOST[:PORT][/PATH][?poll_interval_ms=N&delta=true|false] (port "
          "8761, path /eureka, poll 300 ms)",
      .make_watcher = makeWatcher,
      .server = serverPlugin(),
      .rewriter = std::make_shared<const AppsRewriter>(),
      .stream_rewriter = nullptr,
      .grpc_rewriter = nullptr,
  };
  return kPlugin;
}

}  // namespace sluice::registry::eureka
