#include "demo/demo_app.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"
#include "http/server.h"
#include "http/url.h"
#include "registry/nacos/naming_client.h"

namespace sluice::demo {

namespace nacos = registry::nacos;
using namespace std::chrono_literals;

Result<std::optional<net::HostPort>> proxyFromEnvironment() {
  const char* value = std::getenv("http_proxy");
  const char* name = "http_proxy";
  if (value == nullptr || *value == '\0') {
    value = std::getenv("HTTP_PROXY");
    name = "HTTP_PROXY";
  }
  if (value == nullptr || *value == '\0') return std::optional<net::HostPort>{};
  std::string_view text = trim(value);
  if (text.starts_with("http://")) text.remove_prefix(7);
  if (text.find("://") != std::string_view::npos) {
    return invalidArgument("{}={}: only http:// proxies are supported", name, value);
  }
  while (!text.empty() && text.back() == '/') text.remove_suffix(1);
  // curl's default proxy port when none is given.
  auto hp = net::parseHostPort(text, 1080);
  if (!hp) return invalidArgument("{}={}: {}", name, value, hp.error().message);
  return std::optional<net::HostPort>(*hp);
}

bool bypassesProxy(std::string_view no_proxy, std::string_view host, uint16_t port) {
  std::string host_port = fmt::format("{}:{}", host, port);
  for (std::string_view entry : split(no_proxy, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (equalsIgnoreCase(entry, host) || equalsIgnoreCase(entry, host_port)) return true;
    std::string_view suffix = entry.starts_with('.') ? entry.substr(1) : entry;
    if (host.size() > suffix.size() && host[host.size() - suffix.size() - 1] == '.' &&
        equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

namespace {

constexpr int kRegisterAttempts = 20;
constexpr auto kRegisterRetryDelay = 250ms;

http::Response textResponse(int status, std::string body) {
  return http::Response::text(status, std::move(body), "text/plain;charset=UTF-8");
}

// One demo application: its HTTP server, its Nacos registration and (consumer) its view of the
// provider. Everything runs on one io_context thread, so no member needs a lock.
class App {
 public:
  App(asio::io_context& io, DemoAppOptions options, net::HostPort registry,
      std::optional<net::HostPort> proxy, std::string no_proxy)
      : io_(io),
        options_(std::move(options)),
        client_(nacos::ClientOptions{std::move(registry), options_.namespace_id,
                                     std::chrono::milliseconds(2000)}),
        proxy_(std::move(proxy)),
        no_proxy_(std::move(no_proxy)),
        beat_timer_(io),
        refresh_timer_(io),
        position_(std::random_device{}() % 1000) {}

  bool isConsumer() const { return options_.role == "consumer"; }

  Result<net::HostPort> listen() {
    server_ = std::make_unique<http::Server>(
        io_, [this](http::Request request) { return handle(std::move(request)); });
    auto bound = server_->listen(net::HostPort{options_.ip, static_cast<uint16_t>(options_.port)});
    if (!bound) return bound;
    self_.ip = options_.ip;
    self_.port = bound->port;
    self_.metadata = {{"label", options_.version},
                      {"version", options_.version},
                      {"preserved.register.source", "SPRING_CLOUD"}};
    return net::HostPort{options_.ip, bound->port};
  }

  // Registers, prints the readiness line, then keeps beating (and, for the consumer, refreshing).
  asio::awaitable<void> start() {
    auto registered = co_await registerSelf();
    if (!registered) {
      fmt::print(stderr, "demo-app {}: cannot register {}: {}\n", options_.role, options_.service,
                 registered.error().message);
      exit_code_ = 1;
      stopEverything();
      co_return;
    }
    if (stopping_) co_return;
    fmt::print("demo-app {} {} {} listening on {}:{}\n", options_.role, options_.service,
               options_.version, self_.ip, self_.port);
    std::fflush(stdout);
    if (isConsumer()) asio::co_spawn(io_, refreshLoop(), asio::detached);
    co_await beatLoop();
  }

  // SIGTERM/SIGINT: deregister (like Spring's shutdown hook), then stop.
  asio::awaitable<void> shutdown() {
    if (stopping_) co_return;
    stopping_ = true;
    beat_timer_.cancel();
    refresh_timer_.cancel();
    if (server_) server_->stop();
    if (registered_) {
      auto st = co_await client_.deregisterInstance(options_.service, options_.group, self_);
      if (st) {
        SLUICE_LOG_INFO("demo-app: deregistered {} {}:{}", options_.service, self_.ip, self_.port);
      } else {
        SLUICE_LOG_WARN("demo-app: deregistration failed: {}", st.error().message);
      }
    }
    io_.stop();
  }

  int exitCode() const { return exit_code_; }

 private:
  void stopEverything() {
    stopping_ = true;
    beat_timer_.cancel();
    refresh_timer_.cancel();
    if (server_) server_->stop();
    io_.stop();
  }

  asio::awaitable<Status> registerSelf() {
    Status last = ok();
    for (int attempt = 1; attempt <= kRegisterAttempts && !stopping_; ++attempt) {
      last = co_await client_.registerInstance(options_.service, options_.group, self_);
      if (last) {
        registered_ = true;
        SLUICE_LOG_INFO("demo-app: registered {} {}:{} (version {}) in {}", options_.service,
                        self_.ip, self_.port, options_.version, client_.describe());
        co_return ok();
      }
      if (!last.error().retryable) co_return last;
      beat_timer_.expires_after(kRegisterRetryDelay);
      asio::error_code ec;
      co_await beat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    co_return last;
  }

  // nacos-client 1.x BeatReactor: beat every clientBeatInterval; light beats once allowed;
  // register again when the server no longer knows us (20404).
  asio::awaitable<void> beatLoop() {
    auto interval = std::chrono::milliseconds(options_.beat_interval_ms);
    bool light = false;
    bool failing = false;
    while (!stopping_) {
      beat_timer_.expires_after(interval);
      asio::error_code ec;
      co_await beat_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (stopping_) break;
      auto reply = co_await client_.sendBeat(options_.service, options_.group, self_, light);
      if (stopping_) break;
      if (!reply) {
        if (!failing) SLUICE_LOG_WARN("demo-app: beat failed: {}", reply.error().message);
        failing = true;
        light = false;
        continue;
      }
      if (failing) SLUICE_LOG_INFO("demo-app: beats reach {} again", client_.describe());
      failing = false;
      if (reply->code == 20404) {
        SLUICE_LOG_INFO("demo-app: {} forgot {} {}:{}; registering again", client_.describe(),
                        options_.service, self_.ip, self_.port);
        auto st = co_await client_.registerInstance(options_.service, options_.group, self_);
        if (!st) SLUICE_LOG_WARN("demo-app: re-registration failed: {}", st.error().message);
        light = false;
      } else {
        light = reply->light_beat_enabled;
      }
      interval = std::chrono::milliseconds(
          std::clamp<int64_t>(reply->client_beat_interval_ms, 100, 60'000));
    }
  }

  asio::awaitable<void> refreshLoop() {
    while (!stopping_) {
      co_await refreshProviders();
      refresh_timer_.expires_after(std::chrono::milliseconds(options_.refresh_ms));
      asio::error_code ec;
      co_await refresh_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }

  // Spring's NacosServiceDiscovery: instances that are healthy, enabled and weighted.
  asio::awaitable<void> refreshProviders() {
    auto service = co_await client_.listInstances(options_.provider, options_.group);
    if (!service) {
      if (refresh_error_.empty()) {
        SLUICE_LOG_WARN("demo-app: cannot look up {}: {}", options_.provider,
                        service.error().message);
      }
      refresh_error_ = service.error().message;
      last_failure_ = std::chrono::steady_clock::now();
      co_return;
    }
    refresh_error_.clear();
    std::vector<registry::Instance> usable;
    for (auto& inst : service->instances) {
      if (inst.healthy && inst.enabled && inst.weight > 0) usable.push_back(std::move(inst));
    }
    auto now = std::chrono::steady_clock::now();
    if (usable.empty() && !providers_.empty() && now - last_failure_ < kEmptyProtection) {
      // Empty-list protection right after a registry outage (Nacos clients' push-empty
      // protection, Spring's load-balancer cache): a registry that just restarted has lost its
      // ephemeral instances until their next beat. An empty list at any other time is believed.
      refreshed_at_ = now;
      co_return;
    }
    if (usable != providers_) {
      std::string list;
      for (const auto& i : usable) list += fmt::format(" {}:{}", i.ip, i.port);
      SLUICE_LOG_INFO("demo-app: {} has {} instance(s):{}", options_.provider, usable.size(), list);
    }
    providers_ = std::move(usable);
    refreshed_at_ = std::chrono::steady_clock::now();
  }

  asio::awaitable<http::Response> handle(http::Request request) {
    const std::string& full = request.head.path.empty() ? request.head.target : request.head.path;
    std::string_view path = std::string_view(full).substr(0, full.find('?'));
    if (!path.starts_with("/echo/")) co_return textResponse(404, "Not Found\n");
    if (request.head.method != "GET" && request.head.method != "HEAD") {
      co_return textResponse(405, "Method Not Allowed\n");
    }
    std::string_view raw = path.substr(6);
    if (!isConsumer()) {
      co_return textResponse(200, fmt::format("Hello Nacos Discovery From {}{}", options_.version,
                                              http::percentDecode(raw)));
    }
    co_return co_await callProvider(std::string(raw));
  }

  // Spring Cloud LoadBalancer's RoundRobinLoadBalancer over the cached instance list.
  asio::awaitable<http::Response> callProvider(std::string raw) {
    auto age = std::chrono::steady_clock::now() - refreshed_at_;
    if (providers_.empty() || age > 3 * std::chrono::milliseconds(options_.refresh_ms)) {
      co_await refreshProviders();  // stale (or nothing yet): look up now
    }
    if (providers_.empty()) {
      co_return textResponse(
          502, fmt::format("demo-app consumer: no healthy instance of {} in {}{}\n",
                           options_.provider, client_.describe(),
                           refresh_error_.empty() ? "" : " (" + refresh_error_ + ")"));
    }
    size_t index = 0;
    if (providers_.size() > 1) {
      position_ = (position_ + 1) & INT_MAX;
      index = static_cast<size_t>(position_) % providers_.size();
    }
    const registry::Instance target = providers_[index];
    http::ClientRequest call;
    call.url =
        fmt::format("http://{}/echo/{}", net::HostPort{target.ip, target.port}.toString(), raw);
    call.timeout = std::chrono::milliseconds(options_.call_timeout_ms);
    call.headers.set("Accept", "text/plain, application/json, */*");
    call.headers.set("User-Agent", "Java/17 demo-app consumer");
    bool via_proxy = proxy_ && !bypassesProxy(no_proxy_, target.ip, target.port);
    if (via_proxy) call.proxy = proxy_;
    std::string how = via_proxy ? " via proxy " + proxy_->toString() : "";
    auto response = co_await http::fetch(call);
    if (!response) {
      SLUICE_LOG_WARN("demo-app: GET {}{} failed: {}", call.url, how, response.error().message);
      co_return textResponse(502, fmt::format("demo-app consumer: GET {}{} failed: {}\n", call.url,
                                              how, response.error().message));
    }
    SLUICE_LOG_INFO("demo-app: GET {}{} -> {}", call.url, how, response->head.status);
    if (response->head.status != 200) {
      co_return textResponse(
          502, fmt::format("demo-app consumer: GET {}{} answered {}: {}\n", call.url, how,
                           response->head.status, response->body.substr(0, 500)));
    }
    co_return textResponse(200, std::move(response->body));
  }

  asio::io_context& io_;
  DemoAppOptions options_;
  nacos::NamingClient client_;
  std::optional<net::HostPort> proxy_;
  std::string no_proxy_;
  std::unique_ptr<http::Server> server_;
  nacos::NamingInstance self_;
  asio::steady_timer beat_timer_;
  asio::steady_timer refresh_timer_;
  static constexpr std::chrono::seconds kEmptyProtection{30};
  std::chrono::steady_clock::time_point last_failure_{};  // last failed registry lookup
  bool registered_ = false;
  bool stopping_ = false;
  int exit_code_ = 0;
  // consumer
  std::vector<registry::Instance> providers_;
  std::chrono::steady_clock::time_point refreshed_at_{};
  std::string refresh_error_;
  uint32_t position_;
};

}  // namespace

int runDemoApp(const DemoAppOptions& options) {
  if (options.role != "provider" && options.role != "consumer") {
    fmt::print(stderr, "demo-app: unknown role '{}' (provider or consumer)\n", options.role);
    return 2;
  }
  auto registry = net::parseHostPort(options.registry, 8848);
  if (!registry) {
    fmt::print(stderr, "demo-app: --registry {}: {}\n", options.registry, registry.error().message);
    return 2;
  }
  std::optional<net::HostPort> proxy;
  std::string no_proxy;
  if (options.role == "consumer") {
    auto env = proxyFromEnvironment();
    if (!env) {
      fmt::print(stderr, "demo-app consumer: {}\n", env.error().message);
      return 2;
    }
    proxy = *env;
    const char* np = std::getenv("no_proxy");
    if (np == nullptr) np = std::getenv("NO_PROXY");
    no_proxy = np ? np : "";
  }

  asio::io_context io;
  App app(io, options, *registry, proxy, no_proxy);
  auto bound = app.listen();
  if (!bound) {
    fmt::print(stderr, "demo-app {}: {}\n", options.role, bound.error().message);
    return 1;
  }
  if (proxy) {
    SLUICE_LOG_INFO("demo-app: provider calls go through http proxy {}{}", proxy->toString(),
                    no_proxy.empty() ? "" : " (no_proxy=" + no_proxy + ")");
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int) {
    if (!ec) asio::co_spawn(io, app.shutdown(), asio::detached);
  });
  asio::co_spawn(io, app.start(), asio::detached);
  io.run();
  return app.exitCode();
}

}  // namespace sluice::demo
