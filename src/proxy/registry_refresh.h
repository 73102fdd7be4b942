#pragma once
// Registry refresh on an unknown pod address (method 1): an application that already knows a
// brand-new instance (its own registry client was faster than this sidecar's last registry read)
// calls the instance's pod address, which reverse DNS does not know yet. Passing that request
// through would leave it ungoverned by the mesh's rules, so the connection manager first asks the
// control plane to re-read the registries now and waits, bounded, for the snapshot that may know
// the address; then it resolves the request again.
//
// The proxy does not know what a registry is: control hands it a RegistryRefresh callback
// (ProxyOptions::registry_refresh). One RegistryRefresher per worker, worker thread only.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <string>

#include "proxy/control_wait.h"

namespace sluice::proxy {

// Asks the control plane for a registry re-read. `done` is called (on any thread) once the
// registries have answered and any snapshot that carries their news was published to the
// workers; it may never be called (a registry that hangs, a shutdown), the caller bounds its
// wait. Called on a worker thread; must not block. Must not call `done` after the ProxyServer
// was destroyed.
using RegistryRefresh = std::function<void(std::function<void()> done)>;

class RegistryRefresher {
 public:
  struct Options {
    RegistryRefresh refresh;                   // empty = never refresh (pass through at once)
    std::chrono::milliseconds max_wait{1000};  // how long one request waits; 0 = never refresh
    // An address that was refreshed for is not refreshed for again for this long (a pod that is
    // not registered at all is asked about once per window, not per request).
    std::chrono::milliseconds retry_after{5000};
  };

  RegistryRefresher(asio::io_context& io, Options options)
      : io_(io), options_(std::move(options)), recent_(kMaxRemembered) {}

  bool enabled() const { return options_.refresh && options_.max_wait.count() > 0; }

  // Refreshes for `address` ("ip:port") and waits until the refresh is done or max_wait passed.
  // Returns false without waiting when disabled or when `address` was refreshed for within
  // retry_after. The caller re-reads the worker's snapshot afterwards.
  asio::awaitable<bool> refreshFor(const std::string& address);

  uint64_t refreshes() const { return refreshes_; }
  uint64_t timeouts() const { return timeouts_; }

 private:
  asio::io_context& io_;
  Options options_;
  static constexpr size_t kMaxRemembered = 4096;
  ExpiringKeys recent_;  // addresses refreshed for lately
  uint64_t refreshes_ = 0;
  uint64_t timeouts_ = 0;
};

struct MeshSnapshot;
class Worker;

// For a request about to be passed through to `destination`: when that address lies in the pod
// CIDRs of a reverse-DNS rule (method 1) and no known instance has it, refreshes the registries
// (bounded, see RegistryRefresher) and returns true; the caller then resolves the request again
// against w.snapshot(). False (at once) for any other destination.
asio::awaitable<bool> refreshForUnknownPodAddress(Worker& w, const MeshSnapshot& snapshot,
                                                  const asio::ip::tcp::endpoint& destination);

}  // namespace sluice::proxy
