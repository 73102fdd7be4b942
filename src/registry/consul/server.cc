#include "registry/consul/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"
#include "http/server.h"
#include "http/url.h"
#include "registry/consul/catalog.h"

namespace sluice::registry::consul {

using nlohmann::json;

namespace {

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

http::Response jsonResponse(const json& body, std::optional<uint64_t> index = std::nullopt) {
  // Names from the request path may not be UTF-8: replaced, never thrown about.
  http::Response r = http::Response::json(
      200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (index) {
    r.head.headers.set("X-Consul-Index", std::to_string(*index));
    r.head.headers.set("X-Consul-KnownLeader", "true");
    r.head.headers.set("X-Consul-LastContact", "0");
  }
  return r;
}

http::Response text(int status, std::string message) {
  return http::Response::text(status, std::move(message) + "\n");
}

http::Response okEmpty() { return http::Response::text(200, ""); }

json checkJson(const ConsulCheck& c, const ConsulService& s, const std::string& node) {
  const char* type = c.kind == CheckKind::kTtl    ? "ttl"
                     : c.kind == CheckKind::kHttp ? "http"
                     : c.kind == CheckKind::kTcp  ? "tcp"
                                                  : "";
  return {{"Node", node},
          {"CheckID", c.id},
          {"Name", c.name},
          {"Status", c.status},
          {"Notes", c.notes},
          {"Output", c.output},
          {"ServiceID", s.id},
          {"ServiceName", s.name},
          {"ServiceTags", s.tags},
          {"Type", type},
          {"Definition", json::object()},
          {"CreateIndex", c.create_index},
          {"ModifyIndex", c.modify_index}};
}

json maintenanceCheck(const ConsulService& s, const std::string& node) {
  return {{"Node", node},
          {"CheckID", "_service_maintenance:" + s.id},
          {"Name", "Service Maintenance Mode"},
          {"Status", "critical"},
          {"Notes", s.maintenance_reason.empty()
                        ? "Maintenance mode is enabled for this service, but no reason was "
                          "provided. This is a default message."
                        : s.maintenance_reason},
          {"Output", ""},
          {"ServiceID", s.id},
          {"ServiceName", s.name},
          {"ServiceTags", s.tags},
          {"Type", "maintenance"},
          {"Definition", json::object()},
          {"CreateIndex", s.modify_index},
          {"ModifyIndex", s.modify_index}};
}

json weights() { return {{"Passing", 1}, {"Warning", 1}}; }

bool hasTag(const ConsulService& s, const std::vector<std::string>& tags) {
  for (const auto& wanted : tags) {
    if (std::find(s.tags.begin(), s.tags.end(), wanted) == s.tags.end()) return false;
  }
  return true;
}

std::vector<std::string> queryValues(std::string_view query, std::string_view key) {
  std::vector<std::string> out;
  for (auto& [k, v] : http::parseQuery(query)) {
    if (k == key) out.push_back(v);
  }
  return out;
}

bool queryFlag(std::string_view query, std::string_view key) {
  for (auto& [k, v] : http::parseQuery(query)) {
    if (k == key) return v.empty() || v == "true" || v == "1";
  }
  return false;
}

Status writeFileDurably(const std::filesystem::path& dir, const std::string& name,
                        const std::string& content) {
  auto fail = [&](const std::string& what, int err) {
    return makeError(
        ErrorCode::kIo, ErrorSource::kInternal,
        fmt::format("consul registry: {} {}: {}", what, (dir / name).string(), std::strerror(err)));
  };
  std::filesystem::path tmp = dir / (name + ".tmp");
  std::filesystem::path file = dir / name;
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create", errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return fail("cannot write", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return fail("cannot sync", errno);
  if (::rename(tmp.c_str(), file.c_str()) != 0) return fail("cannot rename over", errno);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return ok();
}

constexpr const char* kSnapshotFile = "consul-catalog.json";

}  // namespace

struct ConsulServer::Impl : std::enable_shared_from_this<ConsulServer::Impl> {
  Impl(asio::io_context& io_, ServerOptions options_)
      : io(io_), options(std::move(options_)), tick_timer(io_) {}

  asio::io_context& io;
  ServerOptions options;
  ConsulCatalog catalog;
  std::unique_ptr<http::Server> server;
  asio::steady_timer tick_timer;
  bool stopped = false;
  std::string node_address = "127.0.0.1";
  std::set<asio::steady_timer*> waiters;         // blocking queries in progress
  std::map<std::string, int64_t> next_probe_ms;  // check id -> when to probe next
  std::set<std::string> probing;
  uint64_t saved_index = 0;

  void changed() {
    for (auto* w : waiters) w->cancel();
    save();
  }

  void save() {
    if (options.data_dir.empty() || saved_index == catalog.index()) return;
    if (auto st = writeFileDurably(options.data_dir, kSnapshotFile, catalog.snapshot()); !st) {
      SLUICE_LOG_ERROR("{}", st.error().message);
      return;
    }
    saved_index = catalog.index();
  }

  Status load() {
    if (options.data_dir.empty()) return ok();
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    if (ec) {
      return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                       fmt::format("consul registry: cannot create data directory {}: {}",
                                   options.data_dir, ec.message()));
    }
    std::filesystem::path file = std::filesystem::path(options.data_dir) / kSnapshotFile;
    if (!std::filesystem::exists(file, ec)) return ok();
    std::ifstream in(file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    if (!in && !in.eof()) {
      return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                       fmt::format("consul registry: cannot read {}", file.string()));
    }
    if (auto st = catalog.load(content.str()); !st) {
      return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                       fmt::format("{}: {}", file.string(), st.error().message));
    }
    saved_index = catalog.index();
    SLUICE_LOG_INFO("consul registry: loaded {} service(s) from {}", catalog.services().size(),
                    file.string());
    return ok();
  }

  json node() const {
    return {{"ID", "5f4d3c2b-1a09-4e8f-9d7c-6b5a4f3e2d1c"},
            {"Node", options.node_name},
            {"Address", node_address},
            {"Datacenter", options.datacenter},
            {"TaggedAddresses", {{"lan", node_address}, {"wan", node_address}}},
            {"Meta", {{"consul-network-segment", ""}}},
            {"CreateIndex", 1},
            {"ModifyIndex", 1}};
  }

  json serfHealth() const {
    return {{"Node", options.node_name},
            {"CheckID", "serfHealth"},
            {"Name", "Serf Health Status"},
            {"Status", "passing"},
            {"Notes", ""},
            {"Output", "Agent alive and reachable"},
            {"ServiceID", ""},
            {"ServiceName", ""},
            {"ServiceTags", json::array()},
            {"Type", ""},
            {"Definition", json::object()},
            {"CreateIndex", 1},
            {"ModifyIndex", 1}};
  }

  json serviceJson(const ConsulService& s) const {
    return {{"ID", s.id},
            {"Service", s.name},
            {"Tags", s.tags},
            {"Address", s.address},
            {"Meta", s.meta},
            {"Port", s.port},
            {"Weights", weights()},
            {"EnableTagOverride", s.enable_tag_override},
            {"Datacenter", options.datacenter},
            {"CreateIndex", s.create_index},
            {"ModifyIndex", s.modify_index}};
  }

  json serviceChecks(const ConsulService& s) const {
    json checks = json::array();
    checks.push_back(serfHealth());
    if (s.maintenance) checks.push_back(maintenanceCheck(s, options.node_name));
    for (const auto& c : s.checks) checks.push_back(checkJson(c, s, options.node_name));
    return checks;
  }

  json healthService(const std::string& name, bool passing_only,
                     const std::vector<std::string>& tags) const {
    json out = json::array();
    for (const auto& [id, s] : catalog.services()) {
      if (s.name != name || !hasTag(s, tags)) continue;
      json checks = serviceChecks(s);
      if (passing_only) {
        bool all_passing = true;
        for (const auto& c : checks) all_passing = all_passing && c["Status"] == "passing";
        if (!all_passing) continue;
      }
      out.push_back({{"Node", node()}, {"Service", serviceJson(s)}, {"Checks", checks}});
    }
    return out;
  }

  json catalogService(const std::string& name, const std::vector<std::string>& tags) const {
    json out = json::array();
    json n = node();
    for (const auto& [id, s] : catalog.services()) {
      if (s.name != name || !hasTag(s, tags)) continue;
      out.push_back({{"ID", n["ID"]},
                     {"Node", options.node_name},
                     {"Address", node_address},
                     {"Datacenter", options.datacenter},
                     {"TaggedAddresses", n["TaggedAddresses"]},
                     {"NodeMeta", n["Meta"]},
                     {"ServiceKind", ""},
                     {"ServiceID", s.id},
                     {"ServiceName", s.name},
                     {"ServiceTags", s.tags},
                     {"ServiceAddress", s.address},
                     {"ServiceWeights", weights()},
                     {"ServiceMeta", s.meta},
                     {"ServicePort", s.port},
                     {"ServiceEnableTagOverride", s.enable_tag_override},
                     {"CreateIndex", s.create_index},
                     {"ModifyIndex", s.modify_index}});
    }
    return out;
  }

  json catalogServices() const {
    json out = json::object();
    out["consul"] = json::array();
    for (const auto& [id, s] : catalog.services()) {
      json& tags = out[s.name];
      if (!tags.is_array()) tags = json::array();
      for (const auto& t : s.tags) {
        if (std::find(tags.begin(), tags.end(), t) == tags.end()) tags.push_back(t);
      }
    }
    return out;
  }

  json agentSelf() const {
    return {{"Config",
             {{"Datacenter", options.datacenter},
              {"PrimaryDatacenter", options.datacenter},
              {"NodeName", options.node_name},
              {"NodeID", node()["ID"]},
              {"Revision", "sluice"},
              {"Server", true},
              {"Version", "1.16.6"}}},
            {"DebugConfig", json::object()},
            {"Coord", nullptr},
            {"Member",
             {{"Name", options.node_name},
              {"Addr", node_address},
              {"Port", 8301},
              {"Tags", {{"dc", options.datacenter}, {"role", "consul"}, {"build", "1.16.6"}}},
              {"Status", 1}}},
            {"Stats", json::object()},
            {"Meta", {{"consul-network-segment", ""}}},
            {"xDS", nullptr}};
  }

  // ---- checks run by the server ----

  void scheduleTick() {
    tick_timer.expires_after(std::chrono::milliseconds(options.tick_ms));
    tick_timer.async_wait([this, keep = shared_from_this()](const asio::error_code& ec) {
      if (ec || stopped) return;
      if (catalog.tick()) changed();
      runDueProbes();
      scheduleTick();
    });
  }

  void runDueProbes() {
    int64_t now = steadyMs();
    std::set<std::string> live;
    for (const auto& [id, s] : catalog.services()) {
      for (const auto& c : s.checks) {
        if (c.kind != CheckKind::kHttp && c.kind != CheckKind::kTcp) continue;
        live.insert(c.id);
        auto [it, fresh] = next_probe_ms.try_emplace(c.id, now);
        if (probing.count(c.id) || it->second > now) continue;
        it->second = now + c.interval_ms;
        probing.insert(c.id);
        asio::co_spawn(io, probe(shared_from_this(), c), asio::detached);
      }
    }
    std::erase_if(next_probe_ms, [&](const auto& e) { return !live.count(e.first); });
  }

  static asio::awaitable<void> probe(std::shared_ptr<Impl> self, ConsulCheck check) {
    std::chrono::milliseconds timeout(check.timeout_ms > 0 ? check.timeout_ms : 10'000);
    bool passing = false;
    std::string output;
    if (check.kind == CheckKind::kHttp) {
      http::ClientRequest request;
      request.method = check.method.empty() ? "GET" : check.method;
      request.url = check.target;
      request.timeout = timeout;
      request.headers.set("User-Agent", "Consul Health Check");
      request.headers.set("Accept", "text/plain, text/*, */*");
      auto response = co_await http::fetch(std::move(request));
      if (!response) {
        output = fmt::format("Get \"{}\": {}", check.target, response.error().message);
      } else {
        int status = response->head.status;
        passing = status >= 200 && status < 300;
        output =
            fmt::format("HTTP {} {}: {} Output: {}", check.method.empty() ? "GET" : check.method,
                        check.target, status, response->body.substr(0, 4096));
      }
    } else {
      auto target = net::parseHostPort(check.target);
      if (!target) {
        output = target.error().message;
      } else {
        auto executor = co_await asio::this_coro::executor;
        asio::ip::tcp::resolver resolver(executor);
        asio::error_code ec;
        auto endpoints =
            co_await resolver.async_resolve(target->host, std::to_string(target->port),
                                            asio::redirect_error(asio::use_awaitable, ec));
        if (!ec) {
          asio::ip::tcp::socket socket(executor);
          asio::steady_timer deadline(executor);
          deadline.expires_after(timeout);
          deadline.async_wait([&socket](const asio::error_code& e) {
            if (!e) socket.close();
          });
          co_await asio::async_connect(socket, endpoints,
                                       asio::redirect_error(asio::use_awaitable, ec));
          deadline.cancel();
        }
        passing = !ec;
        output = passing ? fmt::format("TCP connect {}: Success", check.target)
                         : fmt::format("dial tcp {}: {}", check.target, ec.message());
      }
    }
    self->probing.erase(check.id);
    if (self->stopped) co_return;
    uint64_t before = self->catalog.index();
    self->catalog.probeResult(check.id, passing, output);
    if (self->catalog.index() != before) self->changed();
  }

  // ---- requests ----

  static asio::awaitable<http::Response> serve(std::shared_ptr<Impl> self, http::Request request);

  // Waits until `index_now()` passes `index` or the wait ends (blocking query).
  // `service` empty: the catalog index. Parameters by value: g++ 12 mishandles temporaries in
  // co_await expressions.
  static asio::awaitable<void> block(std::shared_ptr<Impl> self, std::string query,
                                     std::string service) {
    auto index_now = [&] {
      return service.empty() ? self->catalog.catalogIndex() : self->catalog.serviceIndex(service);
    };
    auto index_text = http::queryParam(query, "index");
    if (!index_text || index_text->empty()) co_return;
    auto index = parseUint(*index_text);
    if (!index || *index == 0) co_return;
    int64_t wait_ms = 5 * 60'000;
    if (auto w = http::queryParam(query, "wait"); w && !w->empty()) {
      auto parsed = parseGoDurationMs(*w);
      if (!parsed) {
        // Consul ignores nothing here: a bad wait is a 400 upstream; we answer at once.
        co_return;
      }
      wait_ms = std::clamp<int64_t>(*parsed, 0, 10 * 60'000);
    }
    // Consul adds up to wait/16 of jitter; none here, a client cannot rely on it.
    int64_t deadline = steadyMs() + wait_ms;
    auto executor = co_await asio::this_coro::executor;
    while (!self->stopped && index_now() <= *index) {
      int64_t left = deadline - steadyMs();
      if (left <= 0) break;
      asio::steady_timer timer(executor);
      timer.expires_after(std::chrono::milliseconds(left));
      self->waiters.insert(&timer);
      asio::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      self->waiters.erase(&timer);
    }
  }
};

asio::awaitable<http::Response> ConsulServer::Impl::serve(std::shared_ptr<Impl> self,
                                                          http::Request request) {
  std::string_view target = request.head.target;
  std::string_view path = target;
  std::string_view query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  std::vector<std::string> seg;
  for (std::string_view s : split(path, '/')) {
    if (!s.empty()) seg.push_back(http::percentDecode(s));
  }
  const std::string& method = request.head.method;
  auto notFound = [&] {
    return text(404, fmt::format("Unsupported endpoint: {} {} (not implemented by the sluice "
                                 "embedded Consul agent)",
                                 method, path));
  };
  if (seg.size() < 2 || seg[0] != "v1") co_return notFound();
  if (auto dc = http::queryParam(query, "dc");
      dc && !dc->empty() && *dc != self->options.datacenter) {
    co_return text(500, fmt::format("No path to datacenter"));
  }
  auto rest = [&](size_t from) {
    std::string out;
    for (size_t i = from; i < seg.size(); ++i) out += (i > from ? "/" : "") + seg[i];
    return out;
  };
  const std::string& area = seg[1];
  ConsulCatalog& cat = self->catalog;
  auto mutated = [&](uint64_t before) {
    if (cat.index() != before) self->changed();
  };

  if (area == "status" && seg.size() == 3 && method == "GET") {
    if (seg[2] == "leader") co_return jsonResponse(self->node_address + ":8300");
    if (seg[2] == "peers") co_return jsonResponse(json::array({self->node_address + ":8300"}));
  }

  if (area == "agent") {
    if (seg.size() == 3 && seg[2] == "self" && method == "GET")
      co_return jsonResponse(self->agentSelf());
    if (seg.size() == 3 && seg[2] == "services" && method == "GET") {
      json out = json::object();
      for (const auto& [id, s] : cat.services()) out[id] = self->serviceJson(s);
      co_return jsonResponse(out);
    }
    if (seg.size() == 3 && seg[2] == "checks" && method == "GET") {
      json out = json::object();
      for (const auto& [id, s] : cat.services()) {
        if (s.maintenance)
          out["_service_maintenance:" + id] = maintenanceCheck(s, self->options.node_name);
        for (const auto& c : s.checks) out[c.id] = checkJson(c, s, self->options.node_name);
      }
      co_return jsonResponse(out);
    }
    if (seg.size() >= 3 && seg[2] == "service") {
      if (seg.size() == 4 && seg[3] == "register") {
        if (method != "PUT") co_return text(405, "method " + method + " not allowed");
        uint64_t before = cat.index();
        if (auto st = cat.registerService(request.body); !st) {
          SLUICE_LOG_DEBUG("consul: bad registration: {}", st.error().message);
          co_return text(400, st.error().message);
        }
        mutated(before);
        co_return okEmpty();
      }
      if (seg.size() >= 5 && seg[3] == "deregister") {
        if (method != "PUT") co_return text(405, "method " + method + " not allowed");
        std::string id = rest(4);
        uint64_t before = cat.index();
        if (!cat.deregisterService(id))
          co_return text(404, fmt::format("Unknown service ID \"{}\". Ensure that the service ID "
                                          "is passed, not the service name.",
                                          id));
        mutated(before);
        co_return okEmpty();
      }
      if (seg.size() >= 5 && seg[3] == "maintenance") {
        if (method != "PUT") co_return text(405, "method " + method + " not allowed");
        std::string id = rest(4);
        auto enable = http::queryParam(query, "enable");
        if (!enable || enable->empty()) co_return text(400, "Missing value for enable");
        if (*enable != "true" && *enable != "false") {
          co_return text(400, fmt::format("Invalid value for enable: \"{}\"", *enable));
        }
        uint64_t before = cat.index();
        if (!cat.setMaintenance(id, *enable == "true",
                                http::queryParam(query, "reason").value_or(""))) {
          co_return text(404, fmt::format("Unknown service ID \"{}\". Ensure that the service ID "
                                          "is passed, not the service name.",
                                          id));
        }
        mutated(before);
        co_return okEmpty();
      }
      if (seg.size() >= 4 && method == "GET") {
        auto it = cat.services().find(rest(3));
        if (it == cat.services().end())
          co_return text(404, fmt::format("unknown service ID: {}", rest(3)));
        co_return jsonResponse(self->serviceJson(it->second));
      }
    }
    if (seg.size() >= 5 && seg[2] == "check") {
      const std::string& verb = seg[3];
      std::string id = rest(4);
      std::string status;
      std::string output = http::queryParam(query, "note").value_or("");
      if (verb == "pass")
        status = "passing";
      else if (verb == "warn")
        status = "warning";
      else if (verb == "fail")
        status = "critical";
      else if (verb == "update") {
        try {
          json body = json::parse(request.body.empty() ? "{}" : request.body);
          for (auto it = body.begin(); it != body.end(); ++it) {
            if (equalsIgnoreCase(it.key(), "Status") && it->is_string())
              status = it->get<std::string>();
            if (equalsIgnoreCase(it.key(), "Output") && it->is_string())
              output = it->get<std::string>();
          }
        } catch (const json::exception& e) {
          co_return text(400, fmt::format("Request decode failed: {}", e.what()));
        }
        if (status != "passing" && status != "warning" && status != "critical") {
          co_return text(400, fmt::format("Invalid check status: \"{}\"", status));
        }
      }
      if (!status.empty()) {
        if (method != "PUT") co_return text(405, "method " + method + " not allowed");
        uint64_t before = cat.index();
        if (!cat.updateCheck(id, status, output)) {
          co_return text(404, fmt::format("Unknown check ID \"{}\". Ensure that the check ID is "
                                          "passed, not the check name.",
                                          id));
        }
        mutated(before);
        co_return okEmpty();
      }
    }
    co_return notFound();
  }

  if ((area == "catalog" || area == "health") && method != "GET") {
    co_return text(405, "method " + method + " not allowed");
  }
  std::vector<std::string> tags = queryValues(query, "tag");
  const std::string query_text(query);
  const std::string no_service;
  if (area == "catalog") {
    if (seg.size() == 3 && seg[2] == "services") {
      co_await block(self, query_text, no_service);
      co_return jsonResponse(self->catalogServices(), cat.catalogIndex());
    }
    if (seg.size() >= 4 && seg[2] == "service") {
      std::string name = rest(3);
      co_await block(self, query_text, name);
      co_return jsonResponse(self->catalogService(name, tags), cat.serviceIndex(name));
    }
    if (seg.size() == 3 && seg[2] == "datacenters") {
      co_return jsonResponse(json::array({self->options.datacenter}));
    }
    if (seg.size() == 3 && seg[2] == "nodes") {
      json n = self->node();
      co_return jsonResponse(json::array({n}), cat.index());
    }
    co_return notFound();
  }
  if (area == "health") {
    if (seg.size() >= 4 && seg[2] == "service") {
      std::string name = rest(3);
      bool passing = queryFlag(query, "passing");
      co_await block(self, query_text, name);
      co_return jsonResponse(self->healthService(name, passing, tags), cat.serviceIndex(name));
    }
    if (seg.size() >= 4 && seg[2] == "checks") {
      std::string name = rest(3);
      co_await block(self, query_text, name);
      json out = json::array();
      for (const auto& [id, s] : cat.services()) {
        if (s.name != name) continue;
        if (s.maintenance) out.push_back(maintenanceCheck(s, self->options.node_name));
        for (const auto& c : s.checks) out.push_back(checkJson(c, s, self->options.node_name));
      }
      co_return jsonResponse(out, cat.serviceIndex(name));
    }
    co_return notFound();
  }
  co_return notFound();
}

namespace {

// Not a lambda coroutine: the handler may be copied or destroyed while a request is in flight,
// so everything the coroutine needs travels as its parameters.
asio::awaitable<http::Response> serveWeak(std::weak_ptr<ConsulServer::Impl> weak,
                                          http::Request request) {
  auto self = weak.lock();
  if (!self) co_return text(503, "consul registry is shutting down");
  co_return co_await ConsulServer::Impl::serve(std::move(self), std::move(request));
}

}  // namespace

ConsulServer::ConsulServer(asio::io_context& io, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

ConsulServer::~ConsulServer() { stop(); }

ConsulCatalog& ConsulServer::catalog() { return impl_->catalog; }

Result<net::HostPort> ConsulServer::start(const net::HostPort& listen) {
  SLUICE_RETURN_IF_ERROR(impl_->load());
  std::weak_ptr<Impl> weak = impl_;
  impl_->server = std::make_unique<http::Server>(
      impl_->io, [weak](http::Request request) { return serveWeak(weak, std::move(request)); });
  auto bound = impl_->server->listen(listen);
  if (!bound) return bound;
  impl_->node_address = (bound->host.empty() || bound->host == "0.0.0.0" || bound->host == "::")
                            ? "127.0.0.1"
                            : bound->host;
  impl_->scheduleTick();
  return bound;
}

void ConsulServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->tick_timer.cancel();
  for (auto* w : impl_->waiters) w->cancel();
  if (impl_->server) impl_->server->stop();
}

}  // namespace sluice::registry::consul
