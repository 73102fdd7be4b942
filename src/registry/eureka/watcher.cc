#include "registry/eureka/watcher.h"

#include <algorithm>
#include <asio/use_awaitable.hpp>
#include <mutex>

#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"
#include "http/url.h"
#include "registry/eureka/codec.h"
#include "registry/registry_url.h"

namespace sluice::registry::eureka {

Result<EurekaSource> parseEurekaUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return registryUrlError(url, what,
                            "eureka://HOST:PORT[/PATH][?poll_interval_ms=N&delta=true|false]");
  };
  auto parts = splitRegistryUrl(url, "eureka://");
  if (!parts) return bad("not a eureka:// URL");
  std::string_view rest = parts->rest;
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
  for (auto& [key, value] : parts->query) {
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
  return toServices(applications, Interest{});
}

std::vector<Service> toServices(const std::vector<EurekaApplication>& applications,
                                const Interest& interest) {
  std::map<std::string, Service> by_name;
  for (const auto& app : applications) {
    std::string name = toLower(app.name);
    if (!interest.wants(name)) continue;
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

// What one poll reads and keeps between polls (the registry as the last fetches left it).
struct EurekaWatcher::Poller {
  explicit Poller(EurekaSource src)
      : source(std::move(src)),
        name(source.url.empty() ? "eureka://" + source.server.toString() + source.path
                                : source.url),
        apps_path(source.path + "/apps/"),
        delta_path(source.path + "/apps/delta") {}

  EurekaSource source;
  std::string name;
  std::string apps_path;
  std::string delta_path;

  mutable std::mutex counters_mu;
  FetchCounters counters;

  // io thread only
  bool have_local = false;
  std::vector<EurekaApplication> local;  // sorted

  void count(uint64_t FetchCounters::*counter) {
    std::lock_guard lock(counters_mu);
    ++(counters.*counter);
  }
};

namespace {

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

// A delta applied to the local copy when possible and consistent, a full fetch otherwise;
// st->local stays untouched on error.
asio::awaitable<Result<std::vector<Service>>> EurekaWatcher::poll(std::shared_ptr<Poller> st,
                                                                  Interest interest) {
  const WatcherOptions& options = st->source.options;
  bool need_full = !st->have_local || !options.use_delta;
  if (!need_full) {
    auto fetched = co_await get(st->source, st->delta_path);
    if (!fetched) co_return tl::unexpected(fetched.error());
    if (fetched->status == 403 || fetched->status == 404) {
      need_full = true;  // deltas disabled on this server
    } else if (fetched->status != 200) {
      co_return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                          fmt::format("GET {}: HTTP {}: {}", st->delta_path, fetched->status,
                                      fetched->body.substr(0, 200)),
                          true);
    } else if (auto delta = decodeApplications(fetched->body); !delta) {
      co_return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                          fmt::format("GET {}: {}", st->delta_path, delta.error().message));
    } else {
      std::vector<EurekaApplication> merged = st->local;
      applyDelta(merged, *delta);
      sortApplications(merged);
      st->count(&FetchCounters::delta_fetches);
      if (appsHashCode(merged) == delta->apps_hashcode) {
        st->local = std::move(merged);
      } else {
        SLUICE_LOG_DEBUG("{}: delta leaves hash code {} but the server has {}: full fetch",
                         st->name, appsHashCode(merged), delta->apps_hashcode);
        st->count(&FetchCounters::hash_mismatches);
        need_full = true;
      }
    }
  }
  if (need_full) {
    auto full = co_await fetchApplications(st->source, st->apps_path);
    if (!full) co_return tl::unexpected(full.error());
    sortApplications(full->applications);
    st->local = std::move(full->applications);
    st->have_local = true;
    st->count(&FetchCounters::full_fetches);
  }
  // The fetch is always the whole registry (Eureka has no per-application delta), and the local
  // copy stays whole for the deltas' hash code; only the wanted applications become services.
  co_return toServices(st->local, interest);
}

EurekaWatcher::EurekaWatcher(asio::io_context& io, EurekaSource source)
    : EurekaWatcher(&io, std::make_shared<Poller>(std::move(source))) {}

EurekaWatcher::EurekaWatcher(EurekaSource source)
    : EurekaWatcher(nullptr, std::make_shared<Poller>(std::move(source))) {}

EurekaWatcher::EurekaWatcher(asio::io_context* io, std::shared_ptr<Poller> poller)
    : PollingWatcher(io, poller->name,
                     {poller->source.options.poll_interval, poller->source.options.max_backoff},
                     [poller](const Interest& interest) { return poll(poller, interest); }),
      poller_(std::move(poller)) {}

EurekaWatcher::~EurekaWatcher() = default;

FetchCounters EurekaWatcher::counters() const {
  std::lock_guard lock(poller_->counters_mu);
  return poller_->counters;
}

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(EurekaSource source, parseEurekaUrl(url));
  return std::unique_ptr<Watcher>(std::make_unique<EurekaWatcher>(std::move(source)));
}

}  // namespace sluice::registry::eureka
