#include "registry/polling_watcher.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/log.h"

namespace sluice::registry {

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

size_t endpointCount(const std::vector<Service>& services) {
  size_t n = 0;
  for (const auto& s : services) n += s.instances.size();
  return n;
}

WatcherCore::WatcherCore(asio::io_context* external, std::string source_name)
    : source_name_(std::move(source_name)),
      own_io_(external ? nullptr : std::make_unique<asio::io_context>()),
      io_(external ? external : own_io_.get()) {
  status_.source = source_name_;
}

void WatcherCore::start(Watcher::OnChange on_change, const std::function<void()>& spawn) {
  if (started_) return;
  started_ = true;
  // Held until the thread handle is set: an on_change that calls stop() (it takes this lock)
  // must find the handle to detach, not an empty one that is assigned after it returned.
  std::lock_guard lock(callback_mu_);
  on_change_ = std::move(on_change);
  spawn();
  if (own_io_) thread_ = std::thread([this] { io_->run(); });
}

void WatcherCore::stop() {
  {
    std::lock_guard lock(callback_mu_);
    if (stopped_.exchange(true)) return;
  }
  asio::post(*io_, [self = shared_from_this()] { self->wake(); });
  if (!own_io_) return;
  own_io_->stop();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    detached_ = true;  // stop() from inside on_change: the thread ends on its own
    thread_.detach();
  } else {
    thread_.join();
  }
}

void WatcherCore::shutdown() {
  stop();
  // Destroying the private io_context destroys the suspended coroutines, which hold a reference
  // to this state: without this the two would keep each other alive. After a detach the thread
  // may still be inside a coroutine: then the state is left to it.
  if (own_io_ && !detached_) own_io_.reset();
}

SourceStatus WatcherCore::status() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

void WatcherCore::setInterest(Interest interest) {
  std::lock_guard lock(status_mu_);
  interest_ = std::move(interest);
}

Interest WatcherCore::interest() const {
  std::lock_guard lock(status_mu_);
  return interest_;
}

void WatcherCore::reportSuccess() {
  {
    std::lock_guard lock(status_mu_);
    status_.reachable = true;
    status_.last_error.clear();
    status_.last_success_unix_ms = unixMs();
  }
  if (!was_reachable_) SLUICE_LOG_INFO("{}: reachable again", source_name_);
  was_reachable_ = true;
}

void WatcherCore::reportFailure(const std::string& error) {
  {
    std::lock_guard lock(status_mu_);
    status_.reachable = false;
    status_.last_error = error;
  }
  if (was_reachable_) {
    SLUICE_LOG_WARN(
        "{}: {}; keeping the last known {} service(s), {} endpoint(s), retrying with backoff",
        source_name_, error, last_.size(), endpointCount(last_));
  }
  was_reachable_ = false;
}

void WatcherCore::publish(std::vector<Service> services) {
  keepWanted(services, interest());
  if (have_last_ && services == last_) return;
  last_ = std::move(services);
  have_last_ = true;
  SLUICE_LOG_INFO("{}: {} service(s), {} endpoint(s)", source_name_, last_.size(),
                  endpointCount(last_));
  std::lock_guard lock(callback_mu_);
  if (!stopped_ && on_change_) on_change_(last_);
}

void WatcherCore::runRefreshed(std::vector<Watcher::OnRefreshed>& callbacks) {
  if (callbacks.empty()) return;
  std::lock_guard lock(callback_mu_);
  for (auto& done : callbacks) {
    if (stopped_) break;
    done();
  }
}

asio::awaitable<void> WatcherCore::sleep(std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(delay);
  sleeping_ = &timer;
  asio::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  sleeping_ = nullptr;
}

void WatcherCore::wake() {
  if (sleeping_ != nullptr) sleeping_->cancel();
}

struct PollingWatcher::State {
  State(asio::io_context* io, std::string source_name, PollingOptions opts, Poll p)
      : core(std::make_shared<WatcherCore>(io, std::move(source_name))),
        options(opts),
        poll(std::move(p)) {}
  std::shared_ptr<WatcherCore> core;
  PollingOptions options;
  Poll poll;
  // refreshNow() callbacks waiting for the next poll to finish (io thread only).
  std::vector<OnRefreshed> refresh_waiting;
};

PollingWatcher::PollingWatcher(asio::io_context* io, std::string source_name,
                               PollingOptions options, Poll poll)
    : state_(std::make_shared<State>(io, std::move(source_name), options, std::move(poll))) {}

PollingWatcher::~PollingWatcher() { state_->core->shutdown(); }

asio::awaitable<void> PollingWatcher::run(std::shared_ptr<State> st) {
  WatcherCore& core = *st->core;
  Backoff backoff(st->options.poll_interval, st->options.max_backoff);
  while (!core.stopped()) {
    // Callbacks that arrive during this poll wait for the next one: this one may have read the
    // registry before what they ask about registered.
    std::vector<OnRefreshed> refreshed = std::move(st->refresh_waiting);
    st->refresh_waiting.clear();
    Result<std::vector<Service>> polled = co_await st->poll(core.interest());
    if (core.stopped()) break;
    std::chrono::milliseconds delay = st->options.poll_interval;
    if (polled) {
      core.reportSuccess();
      backoff.reset();
      core.publish(std::move(*polled));
    } else {
      core.reportFailure(polled.error().message);
      delay = backoff.grow();
    }
    core.runRefreshed(refreshed);
    if (!st->refresh_waiting.empty()) continue;
    co_await core.sleep(delay);
  }
}

void PollingWatcher::start(OnChange on_change) {
  state_->core->start(std::move(on_change),
                      [this] { asio::co_spawn(state_->core->io(), run(state_), asio::detached); });
}

void PollingWatcher::stop() { state_->core->stop(); }

SourceStatus PollingWatcher::status() const { return state_->core->status(); }

void PollingWatcher::refreshNow(OnRefreshed done) {
  if (!done) return;
  asio::post(state_->core->io(), [st = state_, done = std::move(done)]() mutable {
    if (st->core->stopped()) return;
    st->refresh_waiting.push_back(std::move(done));
    st->core->wake();  // poll now, not at the next tick
  });
}

void PollingWatcher::setInterest(Interest interest) {
  state_->core->setInterest(std::move(interest));
  asio::post(state_->core->io(), [st = state_] {
    if (!st->core->stopped()) st->core->wake();
  });
}

}  // namespace sluice::registry
