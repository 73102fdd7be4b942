#include "registry/eureka/watcher.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"
#include "http/url.h"
#include "registry/eureka/codec.h"

namespace sluice::registry::eureka {

Result<EurekaSource> parseEurekaUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                     fmt::format("registry URL '{}': {} (expected eureka://HOST:PORT[/PATH]"
                                 "[?poll_interval_ms=N&delta=true|false])",
                                 url, what));
  };
  constexpr std::string_view kScheme = "eureka://";
  if (url.size() < kScheme.size() || !equalsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return bad("not a eureka:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  EurekaSource source;
  source.url = std::string(url);
  std::string_view authority = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    std::string_view path = rest.substr(slash);
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    if (path == "/") path = "";
    // Someone pasting the apps URL means the API root above it.
    if (endsWith(path, "/apps")) path.remove_suffix(5);
    if (!path.empty()) source.path = std::string(path);
  }
  auto server = net::parseHostPort(authority, 8761);
  if (!server) return bad(server.error().message);
  source.server = *server;
  for (auto& [key, value] : http::parseQuery(query)) {
    if (key == "poll_interval_ms") {
      auto ms = parseUint(trim(value), 3'600'000);
      if (!ms || *ms < 10) return bad("poll_interval_ms must be a number from 10 to 3600000");
      source.options.poll_interval = std::chrono::milliseconds(*ms);
      source.options.max_backoff =
          std::max(source.options.max_backoff, source.options.poll_interval);
    } else if (key == "delta") {
      if (value == "true") {
        source.options.use_delta = true;
      } else if (value == "false") {
        source.options.use_delta = false;
      } else {
        return bad("delta must be true or false");
      }
    } else {
      return bad(fmt::format("unknown parameter '{}'", key));
    }
  }
  return source;
}

std::vector<Service> toServices(const std::vector<EurekaApplication>& applications) {
  std::map<std::string, Service> by_name;
  for (const auto& app : applications) {
    std::string name = toLower(app.name);
    Service& service = by_name[name];
    service.name = name;
    for (const auto& inst : app.instances) {
      Instance endpoint;
      endpoint.ip = inst.ip_addr.empty() ? inst.host_name : inst.ip_addr;
      if (inst.port_enabled && inst.port != 0) {
        endpoint.port = inst.port;
      } else if (inst.secure_port_enabled && inst.secure_port != 0) {
        endpoint.port = inst.secure_port;
      } else {
        continue;  // no port to send traffic to
      }
      endpoint.healthy = inst.status == InstanceStatus::kUp;
      endpoint.metadata = inst.metadata;
      service.instances.push_back(std::move(endpoint));
    }
  }
  std::vector<Service> services;
  services.reserve(by_name.size());
  for (auto& [name, service] : by_name) {
    std::sort(service.instances.begin(), service.instances.end(),
              [](const Instance& a, const Instance& b) {
                return std::tie(a.ip, a.port, a.healthy) < std::tie(b.ip, b.port, b.healthy);
              });
    services.push_back(std::move(service));
  }
  return services;
}

struct EurekaWatcher::State {
  State(asio::io_context* external, EurekaSource src)
      : source(std::move(src)),
        own_io(external ? nullptr : std::make_unique<asio::io_context>()),
        io(external ? external : own_io.get()) {
    status.source =
        source.url.empty() ? "eureka://" + source.server.toString() + source.path : source.url;
  }

  EurekaSource source;
  std::unique_ptr<asio::io_context> own_io;  // self-threaded mode only
  asio::io_context* io;
  std::thread thread;

  std::atomic<bool> stopped{false};
  bool started = false;
  bool detached = false;                   // stop() ran on the watcher's own thread
  asio::steady_timer* sleeping = nullptr;  // the poll timer while waiting (io thread only)

  // Held while calling on_change, and by stop() while setting `stopped`: after stop() returns no
  // call is in progress on another thread and none starts. Recursive: on_change may call stop().
  std::recursive_mutex callback_mu;
  OnChange on_change;

  mutable std::mutex status_mu;
  SourceStatus status;
  FetchCounters counters;

  // io thread only
  bool have_local = false;
  std::vector<EurekaApplication> local;  // the registry as the last fetches left it, sorted
  bool have_last = false;
  std::vector<Service> last;
  // refreshNow() callbacks waiting for the next poll to finish.
  std::vector<OnRefreshed> refresh_waiting;
};

namespace {

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Fetched {
  int status = 0;
  std::string body;
};

asio::awaitable<Result<Fetched>> get(const EurekaSource& source, const std::string& path) {
  http::ClientRequest request;
  request.url = fmt::format("http://{}{}", source.server.toString(), path);
  request.timeout = source.options.request_timeout;
  // JSON like the Spring and Node clients; no Accept-Encoding, so the answer is not gzipped.
  request.headers.set("Accept", "application/json");
  request.headers.set("User-Agent", "sluice-eureka-watcher");
  auto response = co_await http::fetch(std::move(request));
  if (!response) {
    Error e = response.error();
    e.source = ErrorSource::kRegistry;
    co_return tl::unexpected(std::move(e));
  }
  co_return Fetched{response->head.status, std::move(response->body)};
}

asio::awaitable<Result<EurekaApplications>> fetchApplications(const EurekaSource& source,
                                                              const std::string& path) {
  auto fetched = co_await get(source, path);
  if (!fetched) co_return tl::unexpected(fetched.error());
  if (fetched->status != 200) {
    co_return makeError(
        fetched->status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInvalidArgument,
        ErrorSource::kRegistry,
        fmt::format("GET {}: HTTP {}: {}", path, fetched->status, fetched->body.substr(0, 200)),
        fetched->status >= 500);
  }
  auto apps = decodeApplications(fetched->body);
  if (!apps) {
    co_return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                        fmt::format("GET {}: {}", path, apps.error().message));
  }
  co_return std::move(*apps);
}

}  // namespace

asio::awaitable<void> EurekaWatcher::run(std::shared_ptr<State> st) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  const WatcherOptions& options = st->source.options;
  const std::string apps_path = st->source.path + "/apps/";
  const std::string delta_path = st->source.path + "/apps/delta";
  auto backoff = options.poll_interval;
  bool was_reachable = true;
  while (!st->stopped) {
    // Callbacks that arrive during this poll wait for the next one: this one may have been
    // answered before what they ask about registered.
    std::vector<OnRefreshed> refreshed = std::move(st->refresh_waiting);
    st->refresh_waiting.clear();
    // A delta applied to the local copy when possible and consistent, a full fetch otherwise;
    // st->local stays untouched on error.
    Status polled = ok();
    bool need_full = !st->have_local || !options.use_delta;
    if (!need_full) {
      auto fetched = co_await get(st->source, delta_path);
      if (!fetched) {
        polled = tl::unexpected(fetched.error());
      } else if (fetched->status == 403 || fetched->status == 404) {
        need_full = true;  // deltas disabled on this server
      } else if (fetched->status != 200) {
        polled = makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                           fmt::format("GET {}: HTTP {}: {}", delta_path, fetched->status,
                                       fetched->body.substr(0, 200)),
                           true);
      } else if (auto delta = decodeApplications(fetched->body); !delta) {
        polled = makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                           fmt::format("GET {}: {}", delta_path, delta.error().message));
      } else {
        std::vector<EurekaApplication> merged = st->local;
        applyDelta(merged, *delta);
        sortApplications(merged);
        {
          std::lock_guard lock(st->status_mu);
          ++st->counters.delta_fetches;
        }
        if (appsHashCode(merged) == delta->apps_hashcode) {
          st->local = std::move(merged);
        } else {
          SLUICE_LOG_DEBUG("{}: delta leaves hash code {} but the server has {}: full fetch",
                           st->status.source, appsHashCode(merged), delta->apps_hashcode);
          std::lock_guard lock(st->status_mu);
          ++st->counters.hash_mismatches;
          need_full = true;
        }
      }
    }
    if (polled && need_full) {
      auto full = co_await fetchApplications(st->source, apps_path);
      if (full) {
        sortApplications(full->applications);
        st->local = std::move(full->applications);
        st->have_local = true;
        std::lock_guard lock(st->status_mu);
        ++st->counters.full_fetches;
      } else {
        polled = tl::unexpected(full.error());
      }
    }
    if (st->stopped) break;
    std::chrono::milliseconds delay = options.poll_interval;
    if (polled) {
      {
        std::lock_guard lock(st->status_mu);
        st->status.reachable = true;
        st->status.last_error.clear();
        st->status.last_success_unix_ms = unixMs();
      }
      if (!was_reachable) SLUICE_LOG_INFO("{}: reachable again", st->status.source);
      was_reachable = true;
      backoff = options.poll_interval;
      std::vector<Service> services = toServices(st->local);
      if (!st->have_last || services != st->last) {
        st->last = std::move(services);
        st->have_last = true;
        std::lock_guard lock(st->callback_mu);
        if (!st->stopped && st->on_change) st->on_change(st->last);
      }
    } else {
      {
        std::lock_guard lock(st->status_mu);
        st->status.reachable = false;
        st->status.last_error = polled.error().message;
      }
      if (was_reachable) {
        SLUICE_LOG_WARN("{}: {}; keeping the last known {} service(s), retrying with backoff",
                        st->status.source, polled.error().message, st->last.size());
      }
      was_reachable = false;
      backoff = std::min(backoff * 2, options.max_backoff);
      delay = backoff;
    }
    if (!refreshed.empty()) {
      std::lock_guard lock(st->callback_mu);
      for (auto& done : refreshed) {
        if (st->stopped) break;
        done();
      }
    }
    if (!st->refresh_waiting.empty()) continue;
    timer.expires_after(delay);
    st->sleeping = &timer;
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    st->sleeping = nullptr;
  }
}

EurekaWatcher::EurekaWatcher(asio::io_context& io, EurekaSource source)
    : state_(std::make_shared<State>(&io, std::move(source))) {}

EurekaWatcher::EurekaWatcher(EurekaSource source)
    : state_(std::make_shared<State>(nullptr, std::move(source))) {}

EurekaWatcher::~EurekaWatcher() {
  stop();
  // Destroying the private io_context destroys the suspended poll coroutine, which holds a
  // reference to the state: without this the two would keep each other alive.
  if (state_->own_io && !state_->detached) state_->own_io.reset();
}

void EurekaWatcher::start(OnChange on_change) {
  if (state_->started) return;
  state_->started = true;
  {
    std::lock_guard lock(state_->callback_mu);
    state_->on_change = std::move(on_change);
  }
  asio::co_spawn(*state_->io, run(state_), asio::detached);
  if (state_->own_io) {
    state_->thread = std::thread([st = state_.get()] { st->io->run(); });
  }
}

void EurekaWatcher::stop() {
  {
    std::lock_guard lock(state_->callback_mu);
    if (state_->stopped.exchange(true)) return;
  }
  asio::post(*state_->io, [st = state_] {
    if (st->sleeping != nullptr) st->sleeping->cancel();
  });
  if (state_->own_io) {
    state_->own_io->stop();
    if (state_->thread.joinable()) {
      if (state_->thread.get_id() == std::this_thread::get_id()) {
        state_->detached = true;  // stop() from inside on_change: the thread ends on its own
        state_->thread.detach();
      } else {
        state_->thread.join();
      }
    }
  }
}

void EurekaWatcher::refreshNow(OnRefreshed done) {
  if (!done) return;
  asio::post(*state_->io, [st = state_, done = std::move(done)]() mutable {
    if (st->stopped) return;
    st->refresh_waiting.push_back(std::move(done));
    if (st->sleeping != nullptr) st->sleeping->cancel();  // poll now, not at the next tick
  });
}

SourceStatus EurekaWatcher::status() const {
  std::lock_guard lock(state_->status_mu);
  return state_->status;
}

FetchCounters EurekaWatcher::counters() const {
  std::lock_guard lock(state_->status_mu);
  return state_->counters;
}

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(EurekaSource source, parseEurekaUrl(url));
  return std::unique_ptr<Watcher>(std::make_unique<EurekaWatcher>(std::move(source)));
}

}  // namespace sluice::registry::eureka
