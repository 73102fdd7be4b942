#include "registry/consul/watcher.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <nlohmann/json.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"
#include "http/url.h"
#include "registry/polling_watcher.h"
#include "registry/registry_url.h"

namespace sluice::registry::consul {

using nlohmann::json;
using std::chrono::milliseconds;

namespace {

std::optional<int64_t> parseDurationMs(std::string_view text) {
  // "30s", "500ms", "1m": what Consul's wait parameter takes.
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  auto value = parseUint(text.substr(0, digits), 600'000'000);
  if (!value) return std::nullopt;
  std::string_view unit = text.substr(digits);
  int64_t v = static_cast<int64_t>(*value);
  if (unit == "ms") return v;
  if (unit == "s" || unit.empty()) return v * 1000;
  if (unit == "m") return v * 60'000;
  return std::nullopt;
}

}  // namespace

Result<ConsulSource> parseConsulUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return registryUrlError(url, what, "consul://HOST[:PORT][?dc=DC&token=TOKEN&wait=DURATION]");
  };
  auto parts = splitRegistryUrl(url, "consul://");
  if (!parts) return bad("not a consul:// URL");
  std::string_view rest = parts->rest;
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("a path is not allowed");
  auto server = net::parseHostPort(rest, 8500);
  if (!server) return bad(server.error().message);
  ConsulSource source;
  source.server = *server;
  source.url = std::string(url);
  for (auto& [key, value] : parts->query) {
    if (key == "dc") {
      if (value.empty()) return bad("dc must not be empty");
      source.dc = value;
    } else if (key == "token") {
      source.token = value;
    } else if (key == "wait") {
      auto ms = parseDurationMs(value);
      if (!ms || *ms < 100 || *ms > 600'000)
        return bad("wait must be a duration from 100ms to 10m");
      source.wait = milliseconds(*ms);
    } else {
      return bad(fmt::format("unknown parameter '{}'", key));
    }
  }
  return source;
}

Result<std::vector<std::string>> parseCatalogServices(std::string_view body) {
  auto bad = [](const std::string& what) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     "GET /v1/catalog/services: " + what);
  };
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    return bad(fmt::format("not JSON: {}", e.what()));
  }
  if (!j.is_object()) return bad("not a JSON object of service name -> tags");
  std::vector<std::string> names;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "consul") continue;  // the agents themselves
    names.push_back(it.key());
  }
  return names;
}

Result<std::vector<Instance>> parseHealthService(std::string_view body) {
  auto bad = [](const std::string& what) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry, what);
  };
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    return bad(fmt::format("not JSON: {}", e.what()));
  }
  if (!j.is_array()) return bad("not a JSON array of health entries");
  std::vector<Instance> out;
  for (const auto& entry : j) {
    if (!entry.is_object()) return bad("a health entry is not an object");
    auto svc = entry.find("Service");
    if (svc == entry.end() || !svc->is_object()) return bad("a health entry has no Service object");
    Instance inst;
    auto text = [](const json& o, const char* key) -> std::string {
      auto it = o.find(key);
      return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    inst.ip = text(*svc, "Address");
    if (inst.ip.empty()) {
      auto node = entry.find("Node");
      if (node != entry.end() && node->is_object()) inst.ip = text(*node, "Address");
    }
    std::string id = text(*svc, "ID");
    auto port = svc->find("Port");
    if (port == svc->end() || !port->is_number_integer() || port->get<int64_t>() < 0 ||
        port->get<int64_t>() > 65535) {
      return bad(fmt::format("service instance '{}' has no valid Port", id));
    }
    inst.port = static_cast<uint16_t>(port->get<int64_t>());
    if (inst.ip.empty() || inst.port == 0) continue;  // nowhere to send traffic
    if (auto tags = svc->find("Tags"); tags != svc->end() && tags->is_array()) {
      for (const auto& t : *tags) {
        if (!t.is_string()) continue;
        std::string tag = t.get<std::string>();
        if (size_t eq = tag.find('='); eq != std::string::npos && eq > 0) {
          inst.metadata[tag.substr(0, eq)] = tag.substr(eq + 1);
        }
      }
    }
    if (auto meta = svc->find("Meta"); meta != svc->end() && meta->is_object()) {
      for (auto it = meta->begin(); it != meta->end(); ++it) {
        if (it->is_string()) inst.metadata[it.key()] = it->get<std::string>();
      }
    }
    if (auto checks = entry.find("Checks"); checks != entry.end() && checks->is_array()) {
      for (const auto& c : *checks) {
        if (c.is_object() && c.value("Status", "passing") != "passing") inst.healthy = false;
      }
    }
    out.push_back(std::move(inst));
  }
  std::sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) {
    return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
  });
  return out;
}

struct ConsulWatcher::State {
  explicit State(ConsulSource src)
      : source(std::move(src)),
        core(std::make_shared<WatcherCore>(
            nullptr, source.url.empty() ? "consul://" + source.server.toString() : source.url)) {}
  ConsulSource source;
  std::shared_ptr<WatcherCore> core;

  // io thread only
  struct Watch {
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);
    bool have = false;
    std::vector<Instance> instances;
    std::string error;
    uint64_t index = 0;
  };
  bool have_catalog = false;
  std::string catalog_error;
  std::map<std::string, Watch> watches;
  std::vector<std::string> catalog;  // the last catalog's names, wanted or not
  std::vector<OnRefreshed> refresh_waiting;
  bool refreshing = false;

  struct Answer {
    std::string body;
    uint64_t index = 0;
    bool has_index = false;
  };

  asio::awaitable<Result<Answer>> get(std::string path, uint64_t index, bool blocking) {
    http::ClientRequest request;
    std::string query;
    if (!source.dc.empty()) query += "dc=" + http::percentEncode(source.dc);
    if (blocking && index > 0) {
      query +=
          fmt::format("{}index={}&wait={}ms", query.empty() ? "" : "&", index, source.wait.count());
    }
    if (!query.empty()) path += (path.find('?') == std::string::npos ? "?" : "&") + query;
    request.url = fmt::format("http://{}{}", source.server.toString(), path);
    request.timeout =
        blocking ? source.wait + source.wait / 16 + milliseconds(2000) : milliseconds(5000);
    request.headers.set("Accept", "application/json");
    request.headers.set("User-Agent", "sluice-consul-watcher");
    if (!source.token.empty()) request.headers.set("X-Consul-Token", source.token);
    auto response = co_await http::fetch(std::move(request));
    if (!response) {
      Error e = response.error();
      e.source = ErrorSource::kRegistry;
      e.message = fmt::format("GET {}: {}", path, e.message);
      co_return tl::unexpected(std::move(e));
    }
    if (response->head.status != 200) {
      co_return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                          fmt::format("GET {}: HTTP {}: {}", path, response->head.status,
                                      response->body.substr(0, 200)),
                          true);
    }
    Answer answer;
    answer.body = std::move(response->body);
    if (auto h = response->head.headers.get("X-Consul-Index")) {
      if (auto v = parseUint(trim(*h))) {
        answer.index = *v;
        answer.has_index = true;
      }
    }
    co_return answer;
  }

  static std::string healthPath(const std::string& name) {
    return "/v1/health/service/" + http::percentEncode(name) + "?passing=true";
  }

  // Adds watches for new wanted names (a blocking health query each: only the services the mesh
  // needs are watched), drops the others; returns the names to start.
  std::vector<std::string> applyCatalog(const std::vector<std::string>& all_names) {
    catalog = all_names;
    const Interest interest = core->interest();
    std::vector<std::string> names;
    for (const auto& n : all_names) {
      if (interest.wants(n)) names.push_back(n);
    }
    std::vector<std::string> fresh;
    for (auto it = watches.begin(); it != watches.end();) {
      if (std::find(names.begin(), names.end(), it->first) == names.end()) {
        *it->second.alive = false;
        it = watches.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& n : names) {
      if (watches.try_emplace(n).second) fresh.push_back(n);
    }
    have_catalog = true;
    return fresh;
  }

  void publish() {
    std::string error = catalog_error;
    bool complete = have_catalog;
    for (const auto& [name, w] : watches) {
      if (error.empty() && !w.error.empty()) error = w.error;
      complete = complete && w.have;
    }
    if (error.empty() && have_catalog) {
      core->reportSuccess();
    } else if (!error.empty()) {
      core->reportFailure(error);
    }
    if (!complete) return;
    std::vector<Service> services;
    for (const auto& [name, w] : watches) {
      Service s;
      s.name = name;
      s.namespace_id = source.dc;
      s.instances = w.instances;
      services.push_back(std::move(s));
    }
    core->publish(std::move(services));
  }

  static asio::awaitable<void> pause(milliseconds d) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(d);
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }

  // Consul's index rules: the next index from the answer, reset when it goes backwards; a missing
  // or zero index (or an unchanged one answered at once) earns a pause instead of a busy loop.
  milliseconds nextIndex(uint64_t& index, const Answer& a,
                         std::chrono::steady_clock::time_point asked) {
    bool quick = std::chrono::steady_clock::now() - asked < milliseconds(50);
    if (!a.has_index || a.index == 0) {
      index = 0;
      return milliseconds(1000);
    }
    milliseconds delay{0};
    if (a.index < index) {
      index = 0;
    } else {
      if (a.index == index && quick) delay = milliseconds(100);
      index = a.index;
    }
    return delay;
  }

  static asio::awaitable<void> runCatalog(std::shared_ptr<State> st) {
    uint64_t index = 0;
    Backoff backoff(st->source.min_backoff, st->source.max_backoff);
    while (!st->core->stopped()) {
      auto asked = std::chrono::steady_clock::now();
      auto answer = co_await st->get("/v1/catalog/services", index, true);
      if (st->core->stopped()) break;
      Result<std::vector<std::string>> names =
          answer ? parseCatalogServices(answer->body)
                 : Result<std::vector<std::string>>(tl::unexpected(answer.error()));
      if (!names) {
        st->catalog_error = names.error().message;
        st->publish();
        co_await pause(backoff.current());
        backoff.grow();
        continue;
      }
      backoff.reset();
      st->catalog_error.clear();
      for (const auto& n : st->applyCatalog(*names)) {
        asio::co_spawn(st->core->io(), runService(st, n, st->watches[n].alive), asio::detached);
      }
      st->publish();
      milliseconds delay = st->nextIndex(index, *answer, asked);
      if (delay.count() > 0) co_await pause(delay);
    }
  }

  static asio::awaitable<void> runService(std::shared_ptr<State> st, std::string name,
                                          std::shared_ptr<bool> alive) {
    uint64_t index = 0;
    Backoff backoff(st->source.min_backoff, st->source.max_backoff);
    while (!st->core->stopped() && *alive) {
      auto asked = std::chrono::steady_clock::now();
      auto answer = co_await st->get(healthPath(name), index, true);
      if (st->core->stopped() || !*alive) break;
      State::Watch& w = st->watches[name];
      Result<std::vector<Instance>> instances =
          answer ? parseHealthService(answer->body)
                 : Result<std::vector<Instance>>(tl::unexpected(answer.error()));
      if (!instances) {
        w.error =
            answer ? fmt::format("GET /v1/health/service/{}: {}", name, instances.error().message)
                   : instances.error().message;
        st->publish();
        co_await pause(backoff.current());
        backoff.grow();
        continue;
      }
      backoff.reset();
      w.error.clear();
      w.instances = std::move(*instances);
      w.have = true;
      st->publish();
      milliseconds delay = st->nextIndex(index, *answer, asked);
      if (delay.count() > 0) co_await pause(delay);
    }
  }

  // refreshNow(): one non-blocking read of everything; waiting callbacks share it.
  static asio::awaitable<void> runRefresh(std::shared_ptr<State> st) {
    while (!st->core->stopped() && !st->refresh_waiting.empty()) {
      std::vector<OnRefreshed> batch = std::move(st->refresh_waiting);
      st->refresh_waiting.clear();
      auto answer = co_await st->get("/v1/catalog/services", 0, false);
      if (st->core->stopped()) break;
      auto names = answer ? parseCatalogServices(answer->body)
                          : Result<std::vector<std::string>>(tl::unexpected(answer.error()));
      if (names) {
        st->catalog_error.clear();
        for (const auto& n : st->applyCatalog(*names)) {
          asio::co_spawn(st->core->io(), runService(st, n, st->watches[n].alive), asio::detached);
        }
        for (const auto& n : *names) {
          if (st->watches.find(n) == st->watches.end()) continue;  // not wanted
          auto health = co_await st->get(healthPath(n), 0, false);
          if (st->core->stopped()) co_return;
          auto it = st->watches.find(n);
          if (it == st->watches.end()) continue;
          auto instances = health ? parseHealthService(health->body)
                                  : Result<std::vector<Instance>>(tl::unexpected(health.error()));
          if (instances) {
            it->second.instances = std::move(*instances);
            it->second.have = true;
            it->second.error.clear();
          } else {
            it->second.error = instances.error().message;
          }
        }
      } else {
        st->catalog_error = names.error().message;
      }
      st->publish();
      st->core->runRefreshed(batch);
    }
    st->refreshing = false;
  }
};

ConsulWatcher::ConsulWatcher(ConsulSource source)
    : state_(std::make_shared<State>(std::move(source))) {}

ConsulWatcher::~ConsulWatcher() { state_->core->shutdown(); }

void ConsulWatcher::start(OnChange on_change) {
  state_->core->start(std::move(on_change), [this] {
    asio::co_spawn(state_->core->io(), State::runCatalog(state_), asio::detached);
  });
}

void ConsulWatcher::stop() { state_->core->stop(); }

void ConsulWatcher::refreshNow(OnRefreshed done) {
  if (!done) return;
  asio::post(state_->core->io(), [st = state_, done = std::move(done)]() mutable {
    if (st->core->stopped()) return;
    st->refresh_waiting.push_back(std::move(done));
    if (st->refreshing) return;
    st->refreshing = true;
    asio::co_spawn(st->core->io(), State::runRefresh(st), asio::detached);
  });
}

SourceStatus ConsulWatcher::status() const { return state_->core->status(); }

void ConsulWatcher::setInterest(Interest interest) {
  state_->core->setInterest(std::move(interest));
  asio::post(state_->core->io(), [st = state_] {
    if (st->core->stopped() || !st->have_catalog) return;
    for (const auto& n : st->applyCatalog(std::vector<std::string>(st->catalog))) {
      asio::co_spawn(st->core->io(), State::runService(st, n, st->watches[n].alive),
                     asio::detached);
    }
    st->publish();
  });
}

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url) {
  SLUICE_ASSIGN_OR_RETURN(ConsulSource source, parseConsulUrl(url));
  return std::unique_ptr<Watcher>(std::make_unique<ConsulWatcher>(std::move(source)));
}

}  // namespace sluice::registry::consul
