#include "registry/nacos/watcher.h"

#include <algorithm>
#include <asio/use_awaitable.hpp>

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
};

namespace {

bool instanceLess(const Instance& a, const Instance& b) {
  return std::tie(a.ip, a.port, a.cluster) < std::tie(b.ip, b.port, b.cluster);
}

asio::awaitable<Result<std::vector<Service>>> pollOnce(NamingClient& client,
                                                       const NacosSource& source, int page_size,
                                                       Interest interest) {
  auto names = co_await client.listServices(source.group, page_size);
  if (!names) co_return tl::unexpected(names.error());
  // The names are one cheap list; only the wanted services' instances are read.
  std::erase_if(*names, [&](const std::string& n) { return !interest.wants(n); });
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

NacosWatcher::NacosWatcher(asio::io_context& io, NacosSource source, WatcherOptions options)
    : NacosWatcher(&io, std::make_shared<Poller>(std::move(source), options)) {}

NacosWatcher::NacosWatcher(NacosSource source, WatcherOptions options)
    : NacosWatcher(nullptr, std::make_shared<Poller>(std::move(source), options)) {}

NacosWatcher::NacosWatcher(asio::io_context* io, std::shared_ptr<Poller> poller)
    : PollingWatcher(io,
                     poller->source.url.empty() ? "nacos://" + poller->source.server.toString()
                                                : poller->source.url,
                     {poller->options.poll_interval, poller->options.max_backoff},
                     [poller](const Interest& interest) {
                       return pollOnce(poller->client, poller->source, poller->options.page_size,
                                       interest);
                     }) {}

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
