#include "registry/nacos/watcher.h"

#include <algorithm>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <map>

#include "core/log.h"
#include "core/strings.h"
#include "http/url.h"
#include "registry/nacos/grpc_watcher.h"
#include "registry/nacos/naming_client.h"
#include "registry/nacos/naming_model.h"
#include "registry/registry_url.h"

namespace sluice::registry::nacos {

Result<NacosSource> parseNacosUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return registryUrlError(url, what,
                            "nacos://HOST:PORT[?namespace=NS&group=GROUP&transport=auto|grpc|http&"
                            "grpcPort=N&poll_interval_ms=N]");
  };
  auto parts = splitRegistryUrl(url, "nacos://");
  if (!parts) return bad("not a nacos:// URL");
  std::string_view rest = parts->rest;
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("no path expected after HOST:PORT");
  auto server = net::parseHostPort(rest, 8848);
  if (!server) return bad(server.error().message);
  NacosSource source;
  source.server = *server;
  source.url = std::string(url);
  for (auto& [key, value] : parts->query) {
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

struct NacosWatcher::Poller {
  Poller(NacosSource src, WatcherOptions opts)
      : source(std::move(src)),
        options(opts),
        client(ClientOptions{source.server, source.namespace_id, options.request_timeout,
                             "sluice-nacos-watcher"}) {}
  NacosSource source;
  WatcherOptions options;
  NamingClient client;  // io thread only
  // Reading by name (a finite interest): the registry's spelling of wanted names whose case
  // differs from the lower-cased interest, from a service list read now and then (io thread).
  std::map<std::string, std::string> spelled;
  std::chrono::steady_clock::time_point next_list{};
};

namespace {

bool instanceLess(const Instance& a, const Instance& b) {
  return std::tie(a.ip, a.port, a.cluster) < std::tie(b.ip, b.port, b.cluster);
}

// A service read by name that the registry does not have: Nacos answers its instance list
// with no hosts (1.x and 2.x), or, configured to, with an error saying it was not found.
bool missingService(const Result<Service>& read) {
  if (read) return read->instances.empty();
  return read.error().code == ErrorCode::kInvalidArgument &&
         read.error().message.find("not found") != std::string::npos;
}

// How often the service list is read when only named services are wanted: it only finds the
// registry's spelling of names whose case differs from the lower-cased one asked for.
constexpr std::chrono::seconds kNamedListInterval{10};

void tidy(Service& service) {
  std::erase_if(service.instances, [](const Instance& i) { return !i.enabled || !(i.weight > 0); });
  std::sort(service.instances.begin(), service.instances.end(), instanceLess);
}

// A finite interest (a Sidecar's hosts, the services loaded on demand): those instance lists are
// read by name instead of the whole service list (100 pages in a 10,000-service registry) every
// poll. A name the registry does not have is left out, not an error. Only when a wanted name is
// missing, and at most every kNamedListInterval, the service list is read to find the registry's
// spelling of names whose case differs.
asio::awaitable<Result<std::vector<Service>>> pollByName(NacosWatcher::Poller& poller,
                                                         const Interest& interest) {
  NamingClient& client = poller.client;
  const NacosSource& source = poller.source;
  std::vector<Service> services;
  std::vector<std::string> missing;
  for (const std::string& wanted : interest.names) {
    auto spelled = poller.spelled.find(wanted);
    auto service = co_await client.listInstances(
        spelled == poller.spelled.end() ? wanted : spelled->second, source.group);
    if (missingService(service)) {
      missing.push_back(wanted);
      continue;
    }
    if (!service) co_return tl::unexpected(service.error());
    tidy(*service);
    services.push_back(std::move(*service));
  }
  auto now = std::chrono::steady_clock::now();
  if (!missing.empty() && now >= poller.next_list) {
    poller.next_list = now + kNamedListInterval;
    auto listed = co_await client.listServices(source.group, poller.options.page_size);
    if (!listed) co_return tl::unexpected(listed.error());
    poller.spelled.clear();
    for (const auto& n : *listed) {
      std::string lower = toLower(n);
      if (lower != n && interest.wants(lower)) poller.spelled[lower] = n;
    }
    for (const std::string& wanted : missing) {
      auto spelled = poller.spelled.find(wanted);
      if (spelled == poller.spelled.end()) continue;
      auto service = co_await client.listInstances(spelled->second, source.group);
      if (missingService(service)) continue;
      if (!service) co_return tl::unexpected(service.error());
      tidy(*service);
      services.push_back(std::move(*service));
    }
  }
  if (interest.names.empty()) {
    // Nothing wanted: a one-name page keeps status() honest about reachability.
    auto probe = co_await client.listServices(source.group, 1, 1);
    if (!probe) co_return tl::unexpected(probe.error());
  }
  std::sort(services.begin(), services.end(),
            [](const Service& a, const Service& b) { return a.name < b.name; });
  co_return services;
}

asio::awaitable<Result<std::vector<Service>>> pollOnce(NacosWatcher::Poller& poller,
                                                       Interest interest) {
  if (!interest.all) co_return co_await pollByName(poller, interest);
  NamingClient& client = poller.client;
  auto names = co_await client.listServices(poller.source.group, poller.options.page_size);
  if (!names) co_return tl::unexpected(names.error());
  std::sort(names->begin(), names->end());
  names->erase(std::unique(names->begin(), names->end()), names->end());
  std::vector<Service> services;
  services.reserve(names->size());
  for (const std::string& name : *names) {
    auto service = co_await client.listInstances(name, poller.source.group);
    if (!service) co_return tl::unexpected(service.error());
    tidy(*service);
    services.push_back(std::move(*service));
  }
  co_return services;
}

}  // namespace

NacosWatcher::NacosWatcher(asio::io_context& io, NacosSource source, WatcherOptions options)
    : NacosWatcher(&io, std::make_shared<Poller>(std::move(source), options)) {}

NacosWatcher::NacosWatcher(NacosSource source, WatcherOptions options)
    : NacosWatcher(nullptr, std::make_shared<Poller>(std::move(source), options)) {}

NacosWatcher::NacosWatcher(asio::io_context* io, std::shared_ptr<Poller> poller)
    : PollingWatcher(io,
                     poller->source.url.empty() ? "nacos://" + poller->source.server.toString()
                                                : poller->source.url,
                     {poller->options.poll_interval, poller->options.max_backoff},
                     [poller](const Interest& interest) { return pollOnce(*poller, interest); }) {}

NacosWatcher::~NacosWatcher() = default;

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
