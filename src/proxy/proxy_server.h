#pragma once
// ProxyServer: the data plane process core used by `sluice proxy` (sidecar) and `sluice gateway`.
//
// Threads: `concurrency` worker threads, each with its own io_context, its own SO_REUSEPORT
// listener per address, its own upstream keep-alive pools, load-balancer / outlier state and
// stats; plus one admin thread serving the admin endpoint. A request never takes a lock.
//
// Snapshots: start() takes the initial snapshot; publish() hands a new one to every worker by
// posting it to the worker's io_context (the worker swaps its shared_ptr between requests; a
// request in flight keeps the snapshot it started with). publish() may be called from any
// thread, as often as wanted; workers only ever see whole snapshots.
//
// Listeners: sidecar mode listens on ProxyOptions::listen (explicit proxy: absolute-form
// requests like `GET http://service-provider:8070/x`, or origin-form with a mesh Host) and on
// ProxyOptions::transparent_listen (connections redirected by iptables: original destination,
// HTTP sniffing, TCP passthrough; see proxy/transparent.h). Gateway
// mode listens on listen_host:(server port + port_offset) for every HTTP server port of the
// snapshot's Gateways; listeners follow the published snapshots (ports appear and disappear).
//
// Admin endpoint (http::Server on `admin`): /ready, /config_dump, /clusters, /stats/prometheus,
// /stats/json (proxy/stats_json.h) and the mesh page /ui (proxy/admin_ui.h).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/address.h"
#include "proxy/proxy_options.h"
#include "proxy/registry_source_status.h"
#include "proxy/snapshot.h"

namespace sluice::proxy {

class ProxyServer {
 public:
  ProxyServer();
  ~ProxyServer();  // stops and joins everything
  ProxyServer(const ProxyServer&) = delete;
  ProxyServer& operator=(const ProxyServer&) = delete;

  // Binds every listener and the admin endpoint, starts the threads. Errors: kInvalidArgument
  // (bad options), kIo (bind failed: the message names the address).
  Status start(const ProxyOptions& options, std::shared_ptr<const MeshSnapshot> initial);
  // Hands a new snapshot to every worker (non-blocking; any thread).
  void publish(std::shared_ptr<const MeshSnapshot> snapshot);
  // Addresses actually bound (port 0 resolved). Gateway mode: the current gateway listeners.
  std::vector<net::HostPort> boundAddresses() const;
  net::HostPort adminAddress() const;
  // Shown on /config_dump (config files that failed to load; the last good snapshot serves).
  void setConfigErrors(std::vector<std::string> errors);
  // Config acceptance counts (control::ConfigStore), for /stats/prometheus.
  struct ConfigCounts {
    uint64_t rejected = 0;        // resources and documents the last load rejected
    uint64_t rejected_total = 0;  // rejections summed over every load
    uint64_t held_back = 0;       // VirtualServices held back now (a reference does not resolve)
  };
  void setConfigCounts(ConfigCounts counts);
  // Shown on /clusters and /config_dump.
  void setRegistryStatus(std::vector<RegistrySourceStatus> status);
  // Stops accepting, lets in-flight requests finish for up to `grace`, then closes everything.
  // wait() returns afterwards. Any thread; idempotent.
  void drain(std::chrono::milliseconds grace);
  // Blocks until drain() (or the destructor) has finished.
  void wait();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::proxy
