#pragma once
// The nacos:// watcher against Nacos 2.x/3.x servers: subscribe with server push over gRPC, the
// way nacos-client 2.x/3.x learns about changes, so a registry change reaches on_change within
// milliseconds instead of a poll interval. The service list itself has no push in 2.x: it is
// read (ServiceListRequest) every list_interval, and each new service is subscribed. With an
// Interest naming services (setInterest), only those are subscribed, by name (a service that
// registers later is pushed at once), and the list is read every 10 s only.
//
// Transport (NacosSource::transport):
//   auto  gRPC on grpc_port (default HTTP port + 1000) when it answers ServerCheck; when it does
//         not but v1 HTTP answers (a 1.x server, or gRPC blocked), this watcher becomes the v1
//         polling NacosWatcher for good. Once gRPC worked, outages reconnect to gRPC.
//   grpc  gRPC only (retries with backoff).
// Reported like NacosWatcher: only enabled instances with weight > 0, sorted by ip, port,
// cluster; services sorted by name; on_change after the first complete read and then on every
// change; on an outage the last set stays and status() says why. A connection that drops is
// reconnected with exponential backoff (the server dropped our subscriptions with it, so they
// are made again and the answers are compared with what was reported).
//
// Threading: self-threaded (start() starts the thread, stop() joins it; stop() from inside
// on_change detaches instead). on_change runs on that thread (or the v1 watcher's, after a
// fallback). start/stop/status/refreshNow are safe from any thread.

#include <chrono>
#include <memory>

#include "registry/nacos/watcher.h"

namespace sluice::registry::nacos {

struct GrpcWatcherOptions {
  std::chrono::milliseconds list_interval{500};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds request_timeout{2000};
  int page_size = 100;
  WatcherOptions http;  // for the v1 fallback
};

class NacosGrpcWatcher : public Watcher {
 public:
  explicit NacosGrpcWatcher(NacosSource source, GrpcWatcherOptions options = {});
  ~NacosGrpcWatcher() override;

  void start(OnChange on_change) override;
  void stop() override;
  SourceStatus status() const override;
  void refreshNow(OnRefreshed done) override;
  // Subscribes to the wanted services only (unsubscribes the others) at once.
  void setInterest(Interest interest) override;

  // Which transport is in use now: "grpc", "http" (v1 fallback) or "" (not decided yet).
  std::string transportInUse() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace sluice::registry::nacos
