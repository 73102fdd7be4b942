#include "registry/zookeeper/watcher.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "core/log.h"
#include "registry/zookeeper/c_client_session.h"
#include "registry/zookeeper/tree_mirror.h"

namespace sluice::registry::zookeeper {

namespace {

using Clock = std::chrono::steady_clock;

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct ZooKeeperWatcher::State {
  State(ZooKeeperSource src, ZkSessionFactory factory, WatcherOptions opts)
      : source(std::move(src)),
        open_session(std::move(factory)),
        options(opts),
        display_name(source.url.empty() ? "zookeeper://" + source.connectString() + source.root
                                        : source.url) {
    status.source = display_name;
  }

  // Called by the session's threads.
  void enqueue(uint64_t generation, ZkEvent event) {
    {
      std::lock_guard lock(queue_mu);
      queue.push_back(Queued{generation, std::move(event)});
    }
    queue_cv.notify_one();
  }

  void setStatus(bool reachable, std::string error) {
    std::lock_guard lock(status_mu);
    status.reachable = reachable;
    status.last_error = std::move(error);
    if (reachable) status.last_success_unix_ms = unixMs();
  }

  const std::string& name() const { return display_name; }

  const ZooKeeperSource source;
  const ZkSessionFactory open_session;
  const WatcherOptions options;
  const std::string display_name;

  std::thread thread;
  bool started = false;
  std::atomic<bool> stopped{false};

  // Held while calling on_change, and by stop() while setting `stopped`: after stop() returns no
  // call is in progress on another thread and none starts. Recursive: on_change may call stop().
  std::recursive_mutex callback_mu;
  OnChange on_change;

  mutable std::mutex status_mu;
  SourceStatus status;

  // Events from the session's threads, tagged with the session they came from: after a session
  // is replaced, what its threads queued last is dropped.
  struct Queued {
    uint64_t generation;
    ZkEvent event;
  };
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<Queued> queue;
  std::vector<OnRefreshed> refresh_requests;  // refreshNow() callbacks not yet taken up
  std::optional<Interest> new_interest;       // setInterest() not yet taken up
};

void ZooKeeperWatcher::run(std::shared_ptr<State> st) {
  TreeMirror mirror(st->source.root, st->name());
  std::unique_ptr<ZkSession> session;
  uint64_t generation = 0;
  bool connected = false;
  bool ever_connected = false;
  std::string last_session_id;
  Clock::time_point not_connected_since = Clock::now();
  bool timeout_reported = false;
  Clock::time_point reopen_at = Clock::now();
  auto backoff = st->options.reopen_backoff;
  bool published = false;
  std::vector<Service> last;

  auto lostConnection = [&](const std::string& why) {
    connected = false;
    not_connected_since = Clock::now();
    timeout_reported = false;
    st->setStatus(false, why + "; reconnecting");
  };
  auto open = [&] {
    session.reset();  // joins the old session's threads before the new one starts
    uint64_t gen = ++generation;
    State* raw = st.get();  // outlives every session: run() owns them and holds `st`
    auto opened = st->open_session(
        st->source, [raw, gen](ZkEvent event) { raw->enqueue(gen, std::move(event)); });
    if (!opened) {
      SLUICE_LOG_WARN("{}: {}; retrying in {} ms", st->name(), opened.error().message,
                      backoff.count());
      st->setStatus(false, opened.error().message);
      timeout_reported = true;
      reopen_at = Clock::now() + backoff;
      backoff = std::min(backoff * 2, st->options.max_reopen_backoff);
      return;
    }
    session = std::move(*opened);
    backoff = st->options.reopen_backoff;
  };
  auto renewSession = [&](const char* why) {
    SLUICE_LOG_WARN(
        "{}: session {} {}; opening a new session and keeping the last view of {} "
        "service(s) until it has read the tree again",
        st->name(), last_session_id.empty() ? "(none)" : last_session_id, why, last.size());
    lostConnection(fmt::format("session {}", why));
    open();
  };

  // refreshNow() callbacks taken up this round: they run once it is over (read or failed).
  std::vector<OnRefreshed> refreshing;
  auto finishRefreshes = [&] {
    if (refreshing.empty()) return;
    auto done = std::move(refreshing);
    refreshing.clear();
    std::lock_guard lock(st->callback_mu);
    if (st->stopped) return;
    for (auto& fn : done) fn();
  };
  auto onConnected = [&] {
    if (connected) return;
    connected = true;
    std::string id = session ? session->sessionId() : std::string();
    if (!ever_connected) {
      SLUICE_LOG_INFO("{}: connected (session {})", st->name(), id);
    } else if (id == last_session_id) {
      SLUICE_LOG_INFO("{}: reconnected (session {}); reading the tree again", st->name(), id);
    } else {
      SLUICE_LOG_INFO("{}: new session {}; reading the tree again", st->name(), id);
    }
    ever_connected = true;
    last_session_id = id;
    mirror.resyncAll();
  };
  // Applies queued events; returns why the session is dead, if it is.
  auto handle = [&](const std::deque<State::Queued>& events) -> const char* {
    const char* ended = nullptr;
    for (const auto& queued : events) {
      if (queued.generation != generation) continue;
      const ZkEvent& event = queued.event;
      switch (event.kind) {
        case ZkEvent::Kind::kConnected:
          onConnected();
          break;
        case ZkEvent::Kind::kDisconnected:
          if (!connected) break;
          SLUICE_LOG_WARN(
              "{}: connection lost; keeping the last view of {} service(s) while the "
              "client reconnects",
              st->name(), last.size());
          lostConnection("connection lost");
          break;
        case ZkEvent::Kind::kExpired:
          ended = "expired";
          break;
        case ZkEvent::Kind::kAuthFailed:
          ended = "failed authentication";
          break;
        default:
          mirror.onNodeEvent(event);
      }
    }
    return ended;
  };
  auto takeQueued = [&] {
    std::deque<State::Queued> events;
    std::lock_guard lock(st->queue_mu);
    events.swap(st->queue);
    return events;
  };

  open();
  while (!st->stopped) {
    std::deque<State::Queued> events;
    {
      std::unique_lock lock(st->queue_mu);
      auto wake = [&] {
        return st->stopped.load() || !st->queue.empty() || !st->refresh_requests.empty() ||
               st->new_interest.has_value();
      };
      if (!session) {
        st->queue_cv.wait_until(lock, reopen_at, wake);
      } else if (!connected) {
        // Bounded: the deadline for reporting, then a periodic look at the client's own state.
        st->queue_cv.wait_until(
            lock,
            (timeout_reported ? Clock::now() : not_connected_since) + st->options.connect_timeout,
            wake);
      } else {
        st->queue_cv.wait(lock, wake);
      }
      events.swap(st->queue);
      for (auto& fn : st->refresh_requests) refreshing.push_back(std::move(fn));
      st->refresh_requests.clear();
      if (st->new_interest) {
        mirror.setInterest(std::move(*st->new_interest));
        st->new_interest.reset();
      }
    }
    if (st->stopped) break;

    const char* ended = handle(events);
    if (ended == nullptr && connected && !refreshing.empty()) {
      // A barrier: ZooKeeper answers one session's requests in order and sends a watch event
      // before the answer to any later read, so once this read is answered every change the
      // server had applied before it is in the queue. (In an ensemble: as current as the server
      // this session is connected to.)
      ExistsReply barrier = session->exists(st->source.root);
      if (barrier.status == ZkStatus::kSessionExpired) {
        ended = "expired";
      } else if (barrier.status == ZkStatus::kConnectionLoss) {
        lostConnection("connection lost while reading");
      } else {
        ended = handle(takeQueued());
      }
    }
    if (ended != nullptr) {
      renewSession(ended);
      finishRefreshes();
      continue;
    }
    if (!session) {
      if (Clock::now() >= reopen_at) open();
      finishRefreshes();
      continue;
    }
    // A read can fail with a connection error the client recovers from without a session event
    // (an operation timeout): its own state says it is connected again.
    if (!connected && session->connected()) onConnected();
    if (!connected) {
      if (!timeout_reported && Clock::now() >= not_connected_since + st->options.connect_timeout) {
        timeout_reported = true;
        std::string error =
            fmt::format("no ZooKeeper server of {} answered within {} ms",
                        st->source.connectString(), st->options.connect_timeout.count());
        if (!ever_connected) SLUICE_LOG_WARN("{}: {}; still trying", st->name(), error);
        st->setStatus(false, std::move(error));
      }
      finishRefreshes();
      continue;
    }

    ZkStatus synced = mirror.sync(*session, [&] { return st->stopped.load(); });
    if (st->stopped) break;
    if (synced == ZkStatus::kSessionExpired) {
      renewSession("expired");
      finishRefreshes();
      continue;
    }
    if (synced == ZkStatus::kConnectionLoss) {
      // The client reconnects on its own; its kConnected triggers the full re-read.
      lostConnection("connection lost while reading");
      finishRefreshes();
      continue;
    }
    st->setStatus(true, mirror.lastReadError());
    if (mirror.complete()) {
      auto view = mirror.services();
      if (!published || view != last) {
        last = std::move(view);
        published = true;
        std::lock_guard lock(st->callback_mu);
        if (!st->stopped && st->on_change) st->on_change(last);
      }
    }
    finishRefreshes();
  }
  session.reset();
}

ZooKeeperWatcher::ZooKeeperWatcher(ZooKeeperSource source, ZkSessionFactory open_session,
                                   WatcherOptions options)
    : state_(std::make_shared<State>(std::move(source), std::move(open_session), options)) {}

ZooKeeperWatcher::~ZooKeeperWatcher() { stop(); }

void ZooKeeperWatcher::start(OnChange on_change) {
  if (state_->started) return;
  state_->started = true;
  // Held until `thread` is assigned: an on_change that calls stop() must find it joinable.
  std::lock_guard lock(state_->callback_mu);
  state_->on_change = std::move(on_change);
  state_->thread = std::thread([st = state_] { run(st); });
}

void ZooKeeperWatcher::stop() {
  {
    std::lock_guard lock(state_->callback_mu);
    if (state_->stopped.exchange(true)) return;
  }
  {
    std::lock_guard lock(state_->queue_mu);  // no lost wake-up between its check and its wait
  }
  state_->queue_cv.notify_all();
  if (state_->thread.joinable()) {
    if (state_->thread.get_id() == std::this_thread::get_id()) {
      state_->thread.detach();  // stop() from inside on_change: the thread ends on its own
    } else {
      state_->thread.join();
    }
  }
}

void ZooKeeperWatcher::refreshNow(OnRefreshed done) {
  if (!done || state_->stopped) return;
  {
    std::lock_guard lock(state_->queue_mu);
    state_->refresh_requests.push_back(std::move(done));
  }
  state_->queue_cv.notify_one();
}

void ZooKeeperWatcher::setInterest(Interest interest) {
  {
    std::lock_guard lock(state_->queue_mu);
    state_->new_interest = std::move(interest);
  }
  state_->queue_cv.notify_one();
}

SourceStatus ZooKeeperWatcher::status() const {
  std::lock_guard lock(state_->status_mu);
  return state_->status;
}

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(ZooKeeperSource source, parseZooKeeperUrl(url));
  return std::unique_ptr<Watcher>(
      std::make_unique<ZooKeeperWatcher>(std::move(source), &openCClientSession));
}

}  // namespace sluice::registry::zookeeper
