#pragma once
// Watches one Eureka server the way the Netflix DiscoveryClient does and reports its applications
// to the mesh:
//   eureka://HOST:PORT[/PATH][?poll_interval_ms=N&delta=true|false]
// PATH is where the server's REST API lives ("/eureka" by default, the Spring Cloud server;
// "/eureka/v2" for a Netflix server); applications are read from PATH/apps/.
//
// The first poll is a full fetch (GET PATH/apps/); later ones fetch the delta
// (GET PATH/apps/delta), apply it to the local copy and compare the copy's apps hash code with the
// one the server sent: on a mismatch, or when the server refuses deltas (403/404), the next view
// comes from a full fetch instead. `delta=false` always fetches in full.
//
// An application becomes the mesh service named by its lower-cased name (SERVICE-PROVIDER ->
// service-provider); each instance becomes an endpoint at ipAddr:port (securePort when only that
// is enabled) labelled with its metadata; only UP instances are healthy (others are reported with
// healthy=false: the proxy sends them nothing). on_change gets the full set after the first
// successful poll and then only when something changed.
//
// Errors: an unreachable server or a malformed answer (not JSON/XML, no "applications", an
// instance without id or with a bad port or status) keeps the last good view; status() reports
// reachable=false and the error, and polls back off (doubling up to max_backoff).
//
// Works against the Spring Cloud Netflix Eureka server (whose response cache delays changes by up
// to 30 s unless disabled) and `sluice registry --protocol eureka` (no cache).

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/address.h"
#include "registry/eureka/model.h"
#include "registry/polling_watcher.h"
#include "registry/registry.h"

namespace sluice::registry::eureka {

struct WatcherOptions {
  // Poll cadence. 300 ms keeps registry change -> routing well under 1 s against an uncached
  // server.
  std::chrono::milliseconds poll_interval{300};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds request_timeout{2000};
  bool use_delta = true;
};

struct EurekaSource {
  net::HostPort server;
  std::string path = "/eureka";  // no trailing slash
  std::string url;               // as given, for status and messages
  WatcherOptions options;
};

// Parses "eureka://HOST:PORT[/PATH][?poll_interval_ms=N&delta=BOOL]" (port defaults to 8761).
// Unknown parameters are errors, so a typo does not silently change behaviour.
Result<EurekaSource> parseEurekaUrl(std::string_view url);

// The mesh's view of a registry: one Service per application (lower-cased name), sorted.
std::vector<Service> toServices(const std::vector<EurekaApplication>& applications);
// Only the applications `interest` wants.
std::vector<Service> toServices(const std::vector<EurekaApplication>& applications,
                                const Interest& interest);

// What the watcher has done, for tests and logs.
struct FetchCounters {
  uint64_t full_fetches = 0;
  uint64_t delta_fetches = 0;
  uint64_t hash_mismatches = 0;  // deltas whose result disagreed with the server's hash code
};

class EurekaWatcher : public PollingWatcher {
 public:
  // Runs on `io`, which the caller runs; on_change is called on that io_context's thread.
  EurekaWatcher(asio::io_context& io, EurekaSource source);
  // Runs on a thread of its own (started by start(), joined by stop()); on_change is called on
  // that thread.
  explicit EurekaWatcher(EurekaSource source);
  ~EurekaWatcher() override;

  // start() polls at once; stop(), status() and refreshNow() as PollingWatcher says.
  // Thread-safe.
  FetchCounters counters() const;

 private:
  struct Poller;
  EurekaWatcher(asio::io_context* io, std::shared_ptr<Poller> poller);
  static asio::awaitable<Result<std::vector<Service>>> poll(std::shared_ptr<Poller> st,
                                                            Interest interest);
  std::shared_ptr<Poller> poller_;
};

// What the registry scheme table calls: parses the URL and builds a self-threaded watcher.
Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url);

}  // namespace sluice::registry::eureka
