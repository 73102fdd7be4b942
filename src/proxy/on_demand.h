#pragma once
// Services loaded on first use (`--load-services=on-demand`, no Sidecar resource selecting the
// sidecar): the snapshot holds only the services this workload has used, so a request whose
// Host (HTTP/1.1 and HTTP/2 alike) or a DNS query whose name the snapshot does not know may be
// for a mesh service not loaded yet. Before answering it as an unknown name (502 explicit,
// passthrough transparent, forwarded DNS), the proxy asks the control plane to load that host
// and waits, bounded, for the snapshot that has it; then resolves again. A host that is still
// unknown afterwards is remembered as absent for a while, so an external host costs no control
// plane or registry round trip per request.
//
// The proxy does not know what a registry is: control hands it a ServiceLoad callback
// (ProxyOptions::service_load, DnsProxyOptions::service_load). One OnDemandLoader per event loop
// (each worker, the DNS proxy), used on that loop's thread only.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proxy/control_wait.h"

namespace sluice::proxy {

// Asks the control plane to load `host` (lower-cased, no port). `done` is called (on any thread)
// once the snapshot that carries it, if any registry or the config has it, was published to the
// workers and the DNS proxy, or at once when `host` cannot be a mesh name; it may never be
// called (a registry that hangs, a shutdown): the caller bounds its wait. Called on a worker or
// DNS thread; must not block. Must not call `done` after the proxy was destroyed.
using ServiceLoad = std::function<void(std::string host, std::function<void()> done)>;

class OnDemandLoader {
 public:
  struct Options {
    ServiceLoad load;                          // empty = off (unknown names answered at once)
    std::chrono::milliseconds max_wait{1000};  // how long one request waits; 0 = off
    // A host still unknown after a load is not asked about again for this long.
    std::chrono::milliseconds absent_for{5000};
    size_t max_absent = 4096;  // bound of the negative cache (oldest state dropped beyond it)
  };

  OnDemandLoader(asio::io_context& io, Options options)
      : io_(io), options_(std::move(options)), absent_(options_.max_absent) {}

  bool enabled() const { return options_.load && options_.max_wait.count() > 0; }

  // Loads `host` and waits until the load is done or max_wait passed; then `known()` (the
  // caller's look-up in its current snapshot) decides: false remembers `host` as absent. Returns
  // false at once, without asking, when disabled or `host` is remembered as absent; true when it
  // waited (the caller looks again).
  asio::awaitable<bool> load(std::string host, std::function<bool()> known);

  bool rememberedAbsent(const std::string& host);
  uint64_t loads() const { return loads_; }
  uint64_t timeouts() const { return timeouts_; }
  size_t absentCount() const { return absent_.size(); }

 private:
  asio::io_context& io_;
  Options options_;
  ExpiringKeys absent_;
  uint64_t loads_ = 0;
  uint64_t timeouts_ = 0;
};

struct MeshSnapshot;
struct Resolution;
class Worker;

// For a request resolveRequest could not place by name (an unknown-name reply, or a passthrough
// to where the application dialled) whose authority is a host name: loads it on demand
// (bounded, see OnDemandLoader) and returns true; the caller then resolves the request again
// against w.snapshot(). False (at once) when on-demand loading is off, the authority is an IP
// literal, or the request was resolved.
asio::awaitable<bool> loadUnknownHost(Worker& w, const Resolution& resolution,
                                      std::string_view authority);

}  // namespace sluice::proxy
