#pragma once
// The skeleton the HTTP registry watchers share, so each adapter writes only what is its own (how
// to read the registry and what its answer means):
//
// - WatcherCore: the thread and io_context a watcher runs on, the stop protocol, status(), the
//   "publish only on change" rule for on_change, and refreshNow() callbacks. Used directly by
//   watchers with their own loop shape (Consul's blocking queries).
// - Backoff: a delay that doubles per failure up to a ceiling and resets on success.
// - PollingWatcher: a complete Watcher for registries read by polling (Eureka, Nacos v1): every
//   poll_interval it calls the adapter's Poll and publishes the result.
//
// Outage rule (all three): a failed read keeps the last known services (no on_change), status()
// says reachable=false and why, and the next read backs off; the first success after that resets
// the backoff and status.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "registry/registry.h"

namespace sluice::registry {

// Milliseconds since the Unix epoch, for SourceStatus::last_success_unix_ms.
int64_t unixMs();

// Counts the endpoints of `services` (for logs).
size_t endpointCount(const std::vector<Service>& services);

// A delay that starts at `initial`, doubles per grow() up to `max`, and reset() returns to
// `initial`. Not thread-safe: one per loop.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max), current_(initial) {}
  std::chrono::milliseconds current() const { return current_; }
  // Doubles the delay (capped at max) and returns the new one.
  std::chrono::milliseconds grow() {
    current_ = std::min(current_ * 2, max_);
    return current_;
  }
  void reset() { current_ = initial_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
};

// The shared state of one watcher. Create with std::make_shared; owned by the watcher object and
// by the coroutines it spawns on io(); the watcher's destructor calls shutdown(), which destroys
// the private io_context (and with it the suspended coroutines that keep this alive).
//
// Threads: start/stop/status/shutdown from any thread; everything else on the io thread only.
// on_change and refresh callbacks run on the io thread under a recursive callback lock that
// stop() also takes, so after stop() returns none is running on another thread and none starts;
// a callback may call stop() (then the io thread is detached and ends on its own).
class WatcherCore : public std::enable_shared_from_this<WatcherCore> {
 public:
  // `external`: run on that io_context (the caller runs it); nullptr: on a private one, run by a
  // thread that start() starts and stop() joins. `source_name` names the registry in status()
  // and logs.
  WatcherCore(asio::io_context* external, std::string source_name);

  asio::io_context& io() { return *io_; }
  bool stopped() const { return stopped_; }
  const std::string& sourceName() const { return source_name_; }

  // Sets on_change, calls `spawn` (which co_spawns the watcher's loops on io()) and, when
  // self-threaded, starts the thread. Once only; later calls do nothing.
  void start(Watcher::OnChange on_change, const std::function<void()>& spawn);
  // Idempotent. Wakes a sleep() in progress; when self-threaded stops the io_context and joins
  // (or, called on the io thread, detaches) the thread.
  void stop();
  // stop(), then breaks the ownership cycle with the coroutines (unless the thread was
  // detached: then the state is left to it). For the watcher's destructor.
  void shutdown();
  SourceStatus status() const;
  // Watcher::setInterest: stored for interest() and publish(); any thread.
  void setInterest(Interest interest);
  Interest interest() const;

  // io thread only from here on.

  // A good read: status reachable, error cleared, success time now; logs "reachable again" after
  // a failure.
  void reportSuccess();
  // A failed read: status unreachable with `error`; logs a warning when it was reachable.
  void reportFailure(const std::string& error);
  // Calls on_change with the wanted ones of `services` (interest()) unless they equal the last
  // published set (the first call always publishes, even an empty set); logs the service and
  // endpoint counts on change.
  void publish(std::vector<Service> services);
  const std::vector<Service>& lastPublished() const { return last_; }
  // Runs refreshNow() callbacks under the callback lock, stopping early once stopped.
  void runRefreshed(std::vector<Watcher::OnRefreshed>& callbacks);
  // Waits `delay` on a timer that stop() and wake() cancel. One sleep() at a time.
  asio::awaitable<void> sleep(std::chrono::milliseconds delay);
  // Ends a sleep() in progress at once.
  void wake();

 private:
  std::string source_name_;
  std::unique_ptr<asio::io_context> own_io_;  // self-threaded mode only
  asio::io_context* io_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  bool started_ = false;
  bool detached_ = false;                   // stop() ran on the watcher's own thread
  asio::steady_timer* sleeping_ = nullptr;  // the timer of a sleep() in progress (io thread)

  std::recursive_mutex callback_mu_;
  Watcher::OnChange on_change_;

  mutable std::mutex status_mu_;
  SourceStatus status_;
  Interest interest_;  // guarded by status_mu_

  // io thread only
  bool was_reachable_ = true;
  bool have_last_ = false;
  std::vector<Service> last_;
};

struct PollingOptions {
  std::chrono::milliseconds poll_interval{500};
  // Failed polls wait poll_interval doubled per failure, up to this.
  std::chrono::milliseconds max_backoff{2000};
};

// A Watcher that reads its registry by polling. Poll reads the registry once (only the services
// the interest it is given wants, where the protocol allows: the rest are dropped anyway) and
// returns every service (sorted the same way each time, so an unchanged registry is no change) or
// the error; it runs on the watcher's io thread, one call at a time, and may keep state between
// calls in what it captures. The first successful poll is always published.
//
// refreshNow(): polls now instead of at the next tick; `done` runs after that poll (after
// on_change when something changed, also when it failed). A request that arrives during a poll
// waits for the next one, which starts at once: the poll in progress may have read the registry
// before what the caller asks about registered.
class PollingWatcher : public Watcher {
 public:
  using Poll = std::function<asio::awaitable<Result<std::vector<Service>>>(const Interest&)>;

  // `io`: see WatcherCore. Starts polling on start().
  PollingWatcher(asio::io_context* io, std::string source_name, PollingOptions options, Poll poll);
  ~PollingWatcher() override;

  void start(OnChange on_change) override;
  void stop() override;
  SourceStatus status() const override;
  void refreshNow(OnRefreshed done) override;
  // Takes effect at once: a poll starts now (what is no longer wanted leaves its report).
  void setInterest(Interest interest) override;

 private:
  struct State;
  static asio::awaitable<void> run(std::shared_ptr<State> st);
  std::shared_ptr<State> state_;
};

}  // namespace sluice::registry
