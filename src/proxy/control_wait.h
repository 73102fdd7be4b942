#pragma once
// What a request does when the snapshot cannot place it yet and the control plane may know more
// (proxy/on_demand.h: a host not loaded; proxy/registry_refresh.h: a pod address not read yet):
// ask control, wait bounded for its answer, and remember what was asked so that a name or
// address that stays unknown costs no control-plane round trip per request.
//
// Event-loop thread only (a worker's or the DNS proxy's).

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>

namespace sluice::proxy {

// Calls `ask` with a `done` callback, before its first suspension (so `ask` may capture the
// caller's locals by reference), and waits until `done` was called (from any thread, also
// after the wait gave up: it then does nothing) or `max_wait` passed. True when `done` came in
// time, false when the wait expired.
asio::awaitable<bool> awaitControlPlane(asio::io_context& io, std::chrono::milliseconds max_wait,
                                        const std::function<void(std::function<void()>)>& ask);

// Keys remembered until a deadline each, at most `max_keys` of them: beyond that the expired ones
// are dropped, and if none has expired, all (an unbounded negative cache would be a memory leak
// a client could drive).
class ExpiringKeys {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ExpiringKeys(size_t max_keys) : max_keys_(max_keys) {}

  // True while `key` is remembered (an expired entry is forgotten here).
  bool contains(const std::string& key);
  void remember(std::string key, Clock::time_point until);
  size_t size() const { return until_.size(); }

 private:
  size_t max_keys_;
  std::unordered_map<std::string, Clock::time_point> until_;
};

}  // namespace sluice::proxy
