#pragma once
// Watches one Nacos namespace/group over the HTTP Open API v1 and reports its services:
//   nacos://HOST:PORT[?namespace=public&group=DEFAULT_GROUP&poll_interval_ms=500]
// Each poll lists the services (service/list, page by page) and each service's instances
// (instance/list, all clusters, healthyOnly=false). on_change gets the full set after the first
// successful poll and then only when something changed. Only enabled instances with weight > 0
// are reported; unhealthy ones are reported with healthy=false (the proxy skips them). Instances
// are sorted by ip, port, cluster so a server that reorders its answer is not a change.
// When the registry cannot be reached the last known set stays, polls back off exponentially
// (poll interval doubling up to max_backoff), and status() says why.
//
// Works against real Nacos 1.x and 2.x servers (both keep the v1 HTTP API) and sluice registry.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/address.h"
#include "registry/polling_watcher.h"
#include "registry/registry.h"

namespace sluice::registry::nacos {

struct NacosSource {
  net::HostPort server;
  std::string namespace_id = "public";
  std::string group = "DEFAULT_GROUP";
  std::string url;  // as given, for status and messages
  // How to read it (grpc_watcher.h): kAuto = gRPC subscribe push when the server answers
  // ServerCheck on the gRPC port, else v1 HTTP polling; kGrpc = gRPC only; kHttp = v1 only.
  enum class Transport { kAuto, kGrpc, kHttp };
  Transport transport = Transport::kAuto;
  uint16_t grpc_port = 0;  // 0: the HTTP port + 1000, like nacos-client
  // ?poll_interval_ms=: how often v1 polls (and gRPC re-reads the service list); unset = default
  std::optional<std::chrono::milliseconds> poll_interval;
};

// Parses "nacos://HOST:PORT[?namespace=NS&group=GROUP&transport=auto|grpc|http&grpcPort=N&
// poll_interval_ms=N]" (port defaults to 8848, poll_interval_ms to 500). Unknown query parameters
// are errors, so a typo does not silently watch the wrong namespace.
Result<NacosSource> parseNacosUrl(std::string_view url);

struct WatcherOptions {
  std::chrono::milliseconds poll_interval{500};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds request_timeout{2000};
  int page_size = 100;
};

class NacosWatcher : public PollingWatcher {
 public:
  // Runs on `io`, which the caller runs; on_change is called on that io_context's thread.
  NacosWatcher(asio::io_context& io, NacosSource source, WatcherOptions options = {});
  // Runs on a thread of its own (started by start(), joined by stop()); on_change is called on
  // that thread.
  explicit NacosWatcher(NacosSource source, WatcherOptions options = {});
  ~NacosWatcher() override;
  // start() polls at once; stop(), status() and refreshNow() as PollingWatcher says.

  struct Poller;  // the poll's state (watcher.cc)

 private:
  NacosWatcher(asio::io_context* io, std::shared_ptr<Poller> poller);
};

// What control's registry factory calls: parses the URL and builds a self-threaded watcher
// (gRPC push with v1 fallback unless transport=http, see grpc_watcher.h).
Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url);

}  // namespace sluice::registry::nacos
