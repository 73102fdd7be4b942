#include "registry/nacos/plugin.h"

#include "core/log.h"
#include "core/strings.h"
#include "registry/nacos/grpc_rewrite.h"
#include "registry/nacos/list_rewrite.h"
#include "registry/nacos/registry_server.h"
#include "registry/nacos/watcher.h"

namespace sluice::registry::nacos {
namespace {

// The flags of the Nacos server keep the names `sluice registry` always had.
constexpr const char* kDataDir = "--data-dir";
constexpr const char* kBeatTimeout = "--beat-timeout-ms";
constexpr const char* kDeleteTimeout = "--delete-timeout-ms";
constexpr const char* kClientBeatInterval = "--client-beat-interval-ms";
constexpr const char* kCacheMillis = "--cache-millis";
constexpr const char* kGrpcPort = "--grpc-port";

class NacosEmbeddedServer : public EmbeddedServer {
 public:
  NacosEmbeddedServer(asio::io_context& io, RegistryServerOptions options)
      : server_(io, std::move(options)) {}
  Result<net::HostPort> start(const net::HostPort& listen) override {
    auto bound = server_.start(listen);
    // Before the CLI's readiness line, which stays "... listening on HOST:PORT" (scripts and the
    // demo read the HTTP port from its end).
    if (bound && server_.grpcAddress()) {
      fmt::print("sluice registry grpc on {}\n", server_.grpcAddress()->toString());
    }
    return bound;
  }
  void stop() override { server_.stop(); }

 private:
  RegistryServer server_;
};

Result<std::unique_ptr<EmbeddedServer>> makeServer(asio::io_context& io,
                                                   const ServerFlagValues& flags) {
  RegistryServerOptions options;
  options.data_dir = flags.get(kDataDir);
  SLUICE_ASSIGN_OR_RETURN(options.store.beat_timeout_ms, flags.getInt(kBeatTimeout));
  SLUICE_ASSIGN_OR_RETURN(options.store.delete_timeout_ms, flags.getInt(kDeleteTimeout));
  SLUICE_ASSIGN_OR_RETURN(options.store.client_beat_interval_ms, flags.getInt(kClientBeatInterval));
  SLUICE_ASSIGN_OR_RETURN(options.api.cache_millis, flags.getInt(kCacheMillis));
  if (std::string grpc = flags.get(kGrpcPort); grpc == "off") {
    options.grpc_mode = RegistryServerOptions::GrpcMode::kOff;
  } else if (!grpc.empty()) {
    auto port = parseUint(trim(grpc), 65535);
    if (!port) {
      return invalidArgument("{} {}: expected a port (0 = a free one) or off", kGrpcPort, grpc);
    }
    options.grpc_mode = RegistryServerOptions::GrpcMode::kPort;
    options.grpc_port = static_cast<uint16_t>(*port);
  }
  if (options.data_dir.empty()) {
    SLUICE_LOG_WARN("registry: no --data-dir: persistent instances are kept in memory only");
  }
  return std::unique_ptr<EmbeddedServer>(
      std::make_unique<NacosEmbeddedServer>(io, std::move(options)));
}

ServerPlugin serverPlugin() {
  const StoreOptions store;
  const ApiOptions api;
  constexpr int64_t kDay = 86'400'000;
  constexpr int64_t kHour = 3'600'000;
  return ServerPlugin{
      .description = "Nacos naming server (HTTP Open API v1 and the 2.x/3.x gRPC API)",
      .default_listen = "127.0.0.1:8848",
      .flags =
          {
              {kDataDir,
               "Nacos: directory for persistent (ephemeral=false) instances; survives restarts", "",
               std::nullopt},
              {kBeatTimeout,
               "Nacos: ephemeral instance turns unhealthy after this long without a beat",
               std::to_string(store.beat_timeout_ms), std::pair<int64_t, int64_t>{1, kDay}},
              {kDeleteTimeout,
               "Nacos: ephemeral instance is removed after this long without a beat",
               std::to_string(store.delete_timeout_ms), std::pair<int64_t, int64_t>{1, kDay}},
              {kClientBeatInterval, "Nacos: beat interval the beat answer tells clients",
               std::to_string(store.client_beat_interval_ms),
               std::pair<int64_t, int64_t>{100, kHour}},
              {kCacheMillis, "Nacos: cacheMillis of instance lists: how often clients re-poll",
               std::to_string(api.cache_millis), std::pair<int64_t, int64_t>{100, kHour}},
              {kGrpcPort,
               "Nacos: gRPC port for nacos-client 2.x/3.x (default: the HTTP port + 1000, a free "
               "one when --listen has port 0; 0 = a free one; off = HTTP v1 only)",
               "", std::nullopt},
          },
      .make = makeServer,
  };
}

}  // namespace

const Plugin& plugin() {
  static const Plugin kPlugin{
      .name = "nacos",
      .url_syntax =
          "nacos://HOST[:PORT][?namespace=NS&group=GROUP&transport=auto|grpc|http&grpcPort=N&"
          "poll_interval_ms=N] (port 8848, namespace public, group DEFAULT_GROUP, transport auto: "
          "gRPC push on PORT+1000 when offered, else v1 polling every 500 ms)",
      .make_watcher = makeWatcher,
      .server = serverPlugin(),
      .rewriter = std::make_shared<const InstanceListRewriter>(),
      .stream_rewriter = nullptr,
      .grpc_rewriter = std::make_shared<const GrpcPayloadRewriter>(),
  };
  return kPlugin;
}

}  // namespace sluice::registry::nacos
