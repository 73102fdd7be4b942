#include "registry/nacos/watcher.h"

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
#include "http/url.h"
#include "registry/nacos/grpc_watcher.h"
#include "registry/nacos/naming_client.h"
#include "registry/nacos/naming_model.h"

namespace sluice::registry::nacos {

Result<NacosSource> parseNacosUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return makeError(
        ErrorCode::kInvalidArgument, ErrorSource::kConfig,
        fmt::format("registry URL '{}': {} (expected "
                    "nacos://HOST:PORT[?namespace=NS&group=GROUP&transport=auto|grpc|http&"
                    "grpcPort=N&poll_interval_ms=N])",
                    url, what));
  };
  constexpr std::string_view kScheme = "nacos://";
  if (url.size() < kScheme.size() || !equalsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return bad("not a nacos:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("no path expected after HOST:PORT");
  auto server = net::parseHostPort(rest, 8848);
  if (!server) return bad(server.error().message);
  NacosSource source;
  source.server = *server;
  source.url = std::string(url);
  for (auto& [key, value] : http::parseQuery(query)) {
    if (key == "namespace" || key == "namespaceId") {
      if (trim(value).empty()) return bad("empty namespace");
      source.namespace_id = std::string(trim(value));
    } else if (key == "group" || key == "groupName") {
      if (trim(value).empty() || value.find("@@") != std::string::npos) return bad("bad group");
      source.group = std::string(trim(value));
    } else if (key == "transport") {
      if (value == "auto") {
        source.transport = NacosSource::Transport::kAuto;
      } else if (value == "grpc") {
        source.transport = NacosSource::Transport::kGrpc;
      } else if (value == "http") {
        source.transport = NacosSource::Transport::kHttp;
      } else {
        return bad(fmt::format("transport '{}' is not auto, grpc or http", value));
      }
    } else if (key == "grpcPort") {
      auto port = parseUint(trim(value), 65535);
      if (!port || *port == 0) return bad(fmt::format("grpcPort '{}' is not a port", value));
      source.grpc_port = static_cast<uint16_t>(*port);
    } else if (key == "poll_interval_ms") {
      auto ms = parseUint(trim(value), 3'600'000);
      if (!ms || *ms < 50) return bad("poll_interval_ms must be an integer in [50, 3600000]");
      source.poll_interval = std::chrono::milliseconds(*ms);
    } else {
      return bad(fmt::format("unknown parameter '{}'", key));
    }
  }
  return source;
}

struct NacosWatcher::State {
  State(asio::io_context* external, NacosSource src, WatcherOptions opts)
      : source(std::move(src)),
        options(opts),
        own_io(external ? nullptr : std::make_unique<asio::io_context>()),
        io(external ? external : own_io.get()),
        client(ClientOptions{source.server, source.namespace_id, options.request_timeout,
                             "sluice-nacos-watcher"}) {
    status.source = source.url.empty() ? "nacos://" + source.server.toString() : source.url;
  }

  NacosSource source;
  WatcherOptions options;
  std::unique_ptr<asio::io_context> own_io;  // self-threaded mode only
  asio::io_context* io;
  std::thread thread;
  NamingClient client;

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

  bool have_last = false;
  std::vector<Service> last;  // io thread only

  // refreshNow() callbacks waiting for the next poll to finish (io thread only).
  std::vector<OnRefreshed> refresh_waiting;
};

namespace {

bool instanceLess(const Instance& a, const Instance& b) {
  return std::tie(a.ip, a.port, a.cluster) < std::tie(b.ip, b.port, b.cluster);
}

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

asio::awaitable<Result<std::vector<Service>>> pollOnce(NamingClient& client,
                                                       const NacosSource& source, int page_size) {
  auto names = co_await client.listServices(source.group, page_size);
  if (!names) co_return tl::unexpected(names.error());
  std::sort(names->begin(), names->end());
  names->erase(std::unique(names->begin(), names->end()), names->end());
  std::vector<Service> services;
  services.reserve(names->size());
  for (const std::string& name : *names) {
    auto service = co_await client.listInstances(name, source.group);
    if (!service) co_return tl::unexpected(service.error());
    std::erase_if(service->instances,
                  [](const Instance& i) { return !i.enabled || !(i.weight > 0); });
    std::sort(service->instances.begin(), service->instances.end(), instanceLess);
    services.push_back(std::move(*service));
  }
  co_return services;
}

}  // namespace

asio::awaitable<void> NacosWatcher::run(std::shared_ptr<State> st) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  auto backoff = st->options.poll_interval;
  bool was_reachable = true;
  while (!st->stopped) {
    // Callbacks that arrive during this poll wait for the next one: this one may have read the
    // service list before what they ask about registered.
    std::vector<OnRefreshed> refreshed = std::move(st->refresh_waiting);
    st->refresh_waiting.clear();
    auto polled = co_await pollOnce(st->client, st->source, st->options.page_size);
    if (st->stopped) break;
    std::chrono::milliseconds delay = st->options.poll_interval;
    if (polled) {
      {
        std::lock_guard lock(st->status_mu);
        st->status.reachable = true;
        st->status.last_error.clear();
        st->status.last_success_unix_ms = unixMs();
      }
      if (!was_reachable) SLUICE_LOG_INFO("{}: reachable again", st->status.source);
      was_reachable = true;
      backoff = st->options.poll_interval;
      if (!st->have_last || *polled != st->last) {
        st->last = std::move(*polled);
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
      backoff = std::min(backoff * 2, st->options.max_backoff);
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

NacosWatcher::NacosWatcher(asio::io_context& io, NacosSource source, WatcherOptions options)
    : state_(std::make_shared<State>(&io, std::move(source), options)) {}

NacosWatcher::NacosWatcher(NacosSource source, WatcherOptions options)
    : state_(std::make_shared<State>(nullptr, std::move(source), options)) {}

NacosWatcher::~NacosWatcher() {
  stop();
  // Destroying the private io_context destroys the suspended poll coroutine, which holds a
  // reference to the state: without this the two would keep each other alive.
  // (After a detach the thread may still be inside run(): then the state is left to it.)
  if (state_->own_io && !state_->detached) state_->own_io.reset();
}

void NacosWatcher::start(OnChange on_change) {
  if (state_->started) return;
  state_->started = true;
  // Held until the thread handle is set: an on_change that calls stop() (it takes this lock)
  // must find the handle to detach, not an empty one that is assigned after it returned.
  std::lock_guard lock(state_->callback_mu);
  state_->on_change = std::move(on_change);
  asio::co_spawn(*state_->io, run(state_), asio::detached);
  if (state_->own_io) {
    state_->thread = std::thread([st = state_.get()] { st->io->run(); });
  }
}

void NacosWatcher::stop() {
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

void NacosWatcher::refreshNow(OnRefreshed done) {
  if (!done) return;
  asio::post(*state_->io, [st = state_, done = std::move(done)]() mutable {
    if (st->stopped) return;
    st->refresh_waiting.push_back(std::move(done));
    if (st->sleeping != nullptr) st->sleeping->cancel();  // poll now, not at the next tick
  });
}

SourceStatus NacosWatcher::status() const {
  std::lock_guard lock(state_->status_mu);
  return state_->status;
}

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(NacosSource source, parseNacosUrl(url));
  WatcherOptions http;
  if (source.poll_interval) {
    http.poll_interval = *source.poll_interval;
    http.max_backoff = std::max(http.max_backoff, http.poll_interval);
  }
  if (source.transport == NacosSource::Transport::kHttp) {
    return std::unique_ptr<Watcher>(std::make_unique<NacosWatcher>(std::move(source), http));
  }
  GrpcWatcherOptions grpc;
  grpc.http = http;
  if (source.poll_interval) grpc.list_interval = *source.poll_interval;
  return std::unique_ptr<Watcher>(std::make_unique<NacosGrpcWatcher>(std::move(source), grpc));
}

}  // namespace sluice::registry::nacos
