#include "proxy/proxy_server.h"

#include <fmt/format.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "http/server.h"
#include "proxy/admin_ui.h"
#include "proxy/stats_json.h"
#include "proxy/worker.h"

namespace sluice::proxy {

struct ProxyServer::Impl {
  ProxyOptions options;
  std::unique_ptr<GatewayPorts> gateway_ports;          // before the workers: they hold a reference
  std::unique_ptr<ConnectionBudget> connection_budget;  // likewise
  std::vector<std::unique_ptr<Worker>> workers;
  asio::io_context admin_io{1};
  // Heap overload monitor (--overload-max-heap-bytes): sampled on the admin thread, which also
  // owns the state; workers hear of it by a post.
  std::unique_ptr<asio::steady_timer> overload_timer;
  std::unique_ptr<HeapOverload> heap_overload;
  std::unique_ptr<http::Server> admin;
  std::thread admin_thread;
  net::HostPort admin_address;
  std::vector<net::HostPort> sidecar_bound;

  // Guards the fields below; only the control and admin threads take it, never a worker.
  mutable std::mutex mu;
  std::shared_ptr<const MeshSnapshot> latest;
  std::vector<std::string> config_errors;
  ProxyServer::ConfigCounts config_counts;
  std::vector<RegistrySourceStatus> registry_status;
  bool started = false;
  bool draining = false;
  bool done = false;
  std::condition_variable done_cv;

  // Runs `fn(worker)` on every worker's thread and returns the results (admin thread only).
  template <typename T, typename Fn>
  std::vector<T> onEachWorker(Fn fn) {
    std::vector<std::future<T>> futures;
    for (auto& w : workers) {
      auto p = std::make_shared<std::promise<T>>();
      futures.push_back(p->get_future());
      Worker* raw = w.get();
      asio::post(raw->io(), [p, raw, fn] { p->set_value(fn(*raw)); });
    }
    std::vector<T> out;
    for (auto& f : futures) {
      if (f.wait_for(std::chrono::seconds(2)) == std::future_status::ready) out.push_back(f.get());
    }
    return out;
  }

  asio::awaitable<http::Response> handleAdmin(http::Request req);
  void checkOverload();
  std::string overloadMetrics();
  std::string clustersText(bool json);
  http::Response statsJsonResponse();
};

namespace {

std::string_view pathOf(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

asio::awaitable<http::Response> ProxyServer::Impl::handleAdmin(http::Request req) {
  std::string_view path = pathOf(req.head.path.empty() ? req.head.target : req.head.path);
  if (path == "/ready") {
    std::lock_guard lock(mu);
    if (started && !draining) co_return http::Response::text(200, "LIVE\n");
    co_return http::Response::text(503, draining ? "DRAINING\n" : "STARTING\n");
  }
  if (path == "/config_dump") {
    nlohmann::json j;
    {
      std::lock_guard lock(mu);
      j = latest ? latest->toJson() : nlohmann::json::object();
      j["config_errors"] = config_errors;
      auto& rs = j["registries"] = nlohmann::json::array();
      for (const auto& s : registry_status) {
        rs.push_back({{"source", s.source},
                      {"reachable", s.reachable},
                      {"last_error", s.last_error},
                      {"last_success_unix_ms", s.last_success_unix_ms}});
      }
      j["mode"] = options.mode == ProxyOptions::Mode::kGateway ? "gateway" : "sidecar";
    }
    co_return http::Response::json(200, j.dump(2));
  }
  if (path == "/clusters") {
    bool json = req.head.target.find("format=json") != std::string::npos;
    if (json) co_return http::Response::json(200, clustersText(true));
    co_return http::Response::text(200, clustersText(false));
  }
  if (path == "/stats/json") co_return statsJsonResponse();
  if (auto ui = serveUi(path)) co_return std::move(*ui);
  if (path == "/stats/prometheus" || path == "/stats") {
    auto per_worker =
        onEachWorker<std::vector<RequestSeries>>([](Worker& w) { return w.stats().collect(); });
    std::string source = options.service_node.empty() ? "unknown" : options.service_node;
    std::string body = renderPrometheus(per_worker, source, "source");
    auto totals = onEachWorker<std::array<uint64_t, 14>>([](Worker& w) {
      const WorkerStats& s = w.stats();
      return std::array<uint64_t, 14>{s.downstream_connections_total,
                                      s.downstream_requests_total,
                                      s.upstream_connections_total,
                                      s.tcp_connections_total,
                                      s.tcp_connect_failures_total,
                                      s.inbound_connections_total,
                                      s.downstream_connections_overflow_total,
                                      s.idle_closed_max_connections_total,
                                      s.overload_refused_connections_total,
                                      s.idle_closed_overload_total,
                                      w.idleConnections().size(),
                                      s.registry_stream_connections_total,
                                      s.registry_stream_records_rewritten_total,
                                      s.registry_stream_passthrough_total};
    });
    std::array<uint64_t, 14> sum{};
    for (const auto& t : totals) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += t[i];
    }
    body += fmt::format(
        "# TYPE sluice_downstream_connections_total counter\n"
        "sluice_downstream_connections_total {}\n"
        "# TYPE sluice_downstream_requests_total counter\n"
        "sluice_downstream_requests_total {}\n"
        "# TYPE sluice_upstream_connections_total counter\n"
        "sluice_upstream_connections_total {}\n"
        "# TYPE sluice_tcp_connections_total counter\n"
        "sluice_tcp_connections_total {}\n"
        "# TYPE sluice_tcp_connect_failures_total counter\n"
        "sluice_tcp_connect_failures_total {}\n"
        "# TYPE sluice_inbound_connections_total counter\n"
        "sluice_inbound_connections_total {}\n"
        "# TYPE sluice_downstream_connections_overflow_total counter\n"
        "sluice_downstream_connections_overflow_total {}\n"
        "# TYPE sluice_downstream_connections_active gauge\n"
        "sluice_downstream_connections_active {}\n"
        "# TYPE sluice_downstream_connections_idle gauge\n"
        "sluice_downstream_connections_idle {}\n"
        "# TYPE sluice_overload_idle_connections_closed_total counter\n"
        "sluice_overload_idle_connections_closed_total{{reason=\"max_connections\"}} {}\n"
        "sluice_overload_idle_connections_closed_total{{reason=\"heap\"}} {}\n"
        "# TYPE sluice_overload_refused_connections_total counter\n"
        "sluice_overload_refused_connections_total {}\n",
        sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], connection_budget->open(), sum[10],
        sum[7], sum[9], sum[8]);
    body += overloadMetrics();
    body += fmt::format(
        "# TYPE sluice_registry_stream_connections_total counter\n"
        "sluice_registry_stream_connections_total {}\n"
        "# TYPE sluice_registry_stream_records_rewritten_total counter\n"
        "sluice_registry_stream_records_rewritten_total {}\n"
        "# TYPE sluice_registry_stream_passthrough_total counter\n"
        "sluice_registry_stream_passthrough_total {}\n",
        sum[11], sum[12], sum[13]);
    {
      std::lock_guard lock(mu);
      body += fmt::format("# TYPE sluice_snapshot_version gauge\nsluice_snapshot_version {}\n",
                          latest ? latest->version : 0);
      body += fmt::format(
          "# TYPE sluice_config_rejected_resources gauge\n"
          "sluice_config_rejected_resources {}\n"
          "# TYPE sluice_config_rejections_total counter\n"
          "sluice_config_rejections_total {}\n"
          "# TYPE sluice_config_held_back_resources gauge\n"
          "sluice_config_held_back_resources {}\n",
          config_counts.rejected, config_counts.rejected_total, config_counts.held_back);
    }
    http::Response r = http::Response::text(200, std::move(body));
    r.head.headers.set("content-type", "text/plain; version=0.0.4");
    co_return r;
  }
  co_return http::Response::text(
      404,
      "unknown admin path; try /ready /config_dump /clusters /stats/prometheus /stats/json /ui\n");
}

// Admin thread. The heap is sampled here, never on a worker: one mallinfo2() per check for the
// whole process, and a worker only ever reads its own overloaded flag.
void ProxyServer::Impl::checkOverload() {
  HeapOverload& h = *heap_overload;
  const auto change = h.update(heapBytesInUse());
  if (change == HeapOverload::Change::kActivated) {
    SLUICE_LOG_WARN(
        "overload: heap in use {} bytes >= --overload-max-heap-bytes {}: refusing new downstream "
        "connections, ending keep-alive, closing idle connections oldest first",
        h.lastBytes(), h.maxBytes());
  } else if (change == HeapOverload::Change::kDeactivated) {
    SLUICE_LOG_INFO("overload over: heap in use {} bytes (< {}% of {}): accepting again",
                    h.lastBytes(), HeapOverload::kRecoverPercent, h.maxBytes());
  }
  if (h.active() || change == HeapOverload::Change::kDeactivated) {
    const bool on = h.active();
    for (auto& w : workers) {
      Worker* raw = w.get();
      asio::post(raw->io(), [raw, on] { raw->setOverloaded(on); });
    }
  }
  overload_timer->expires_after(kOverloadCheckInterval);
  overload_timer->async_wait([this](asio::error_code ec) {
    if (!ec) checkOverload();
  });
}

std::string ProxyServer::Impl::overloadMetrics() {
  if (!heap_overload) return {};
  const HeapOverload& h = *heap_overload;
  return fmt::format(
      "# TYPE sluice_overload_heap_bytes gauge\n"
      "sluice_overload_heap_bytes {}\n"
      "# TYPE sluice_overload_max_heap_bytes gauge\n"
      "sluice_overload_max_heap_bytes {}\n"
      "# TYPE sluice_overload_active gauge\n"
      "sluice_overload_active {}\n"
      "# TYPE sluice_overload_activations_total counter\n"
      "sluice_overload_activations_total {}\n",
      h.lastBytes(), h.maxBytes(), h.active() ? 1 : 0, h.activations());
}

http::Response ProxyServer::Impl::statsJsonResponse() {
  auto per_worker =
      onEachWorker<std::vector<RequestSeries>>([](Worker& w) { return w.stats().collect(); });
  StatsJsonContext context;
  context.source_workload = options.service_node.empty() ? "unknown" : options.service_node;
  context.reporter = "source";
  context.mode = options.mode == ProxyOptions::Mode::kGateway ? "gateway" : "sidecar";
  context.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  {
    std::lock_guard lock(mu);
    context.snapshot_version = latest ? latest->version : 0;
  }
  http::Response r = http::Response::json(200, renderStatsJson(per_worker, context).dump());
  r.head.headers.set("cache-control", "no-cache");
  return r;
}

std::string ProxyServer::Impl::clustersText(bool json) {
  auto per_worker =
      onEachWorker<std::vector<ClusterDump>>([](Worker& w) { return w.dumpClusters(); });
  // Merge workers: counters add up, health/ejection is reported if any worker sees it.
  std::map<std::string, ClusterDump> merged;
  for (const auto& dumps : per_worker) {
    for (const auto& c : dumps) {
      auto& m = merged[c.name];
      m.name = c.name;
      m.pending_requests += c.pending_requests;
      m.overflows += c.overflows;
      for (const auto& e : c.endpoints) {
        auto it = std::find_if(m.endpoints.begin(), m.endpoints.end(),
                               [&](const auto& x) { return x.address == e.address; });
        if (it == m.endpoints.end()) {
          m.endpoints.push_back(e);
          continue;
        }
        it->ejected = it->ejected || e.ejected;
        it->active_requests += e.active_requests;
        it->connections += e.connections;
        it->requests += e.requests;
        it->failures += e.failures;
      }
    }
  }
  std::vector<RegistrySourceStatus> registries;
  {
    std::lock_guard lock(mu);
    registries = registry_status;
  }
  if (json) {
    nlohmann::json j;
    auto& cs = j["clusters"] = nlohmann::json::array();
    for (const auto& [name, c] : merged) {
      nlohmann::json cj{
          {"name", name}, {"pending_requests", c.pending_requests}, {"overflows", c.overflows}};
      auto& eps = cj["endpoints"] = nlohmann::json::array();
      for (const auto& e : c.endpoints) {
        eps.push_back({{"address", e.address},
                       {"labels", e.labels},
                       {"healthy", e.healthy},
                       {"ejected", e.ejected},
                       {"active_requests", e.active_requests},
                       {"connections", e.connections},
                       {"requests", e.requests},
                       {"failures", e.failures}});
      }
      cs.push_back(std::move(cj));
    }
    auto& rs = j["registries"] = nlohmann::json::array();
    for (const auto& s : registries) {
      rs.push_back(
          {{"source", s.source}, {"reachable", s.reachable}, {"last_error", s.last_error}});
    }
    return j.dump(2);
  }
  std::string out;
  for (const auto& s : registries) {
    out += fmt::format("registry::{}::reachable::{}{}\n", s.source, s.reachable,
                       s.last_error.empty() ? "" : "::last_error::" + s.last_error);
  }
  for (const auto& [name, c] : merged) {
    out += fmt::format("{}::pending_requests::{}\n{}::overflows::{}\n", name, c.pending_requests,
                       name, c.overflows);
    for (const auto& e : c.endpoints) {
      std::string labels;
      for (const auto& [k, v] : e.labels) {
        labels += (labels.empty() ? "" : ",") + k + "=" + v;
      }
      std::string health = !e.healthy  ? "/failed_eds_health"
                           : e.ejected ? "/failed_outlier_check"
                                       : "healthy";
      out += fmt::format(
          "{0}::{1}::labels::{2}\n{0}::{1}::health_flags::{3}\n"
          "{0}::{1}::rq_active::{4}\n{0}::{1}::cx_active::{5}\n"
          "{0}::{1}::rq_total::{6}\n{0}::{1}::rq_error::{7}\n",
          name, e.address, labels, health, e.active_requests, e.connections, e.requests,
          e.failures);
    }
  }
  return out;
}

ProxyServer::ProxyServer() : impl_(std::make_unique<Impl>()) {}

ProxyServer::~ProxyServer() {
  drain(std::chrono::milliseconds(0));
  wait();
}

Status ProxyServer::start(const ProxyOptions& options,
                          std::shared_ptr<const MeshSnapshot> initial) {
  Impl& m = *impl_;
  if (initial == nullptr) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig, "no initial snapshot");
  }
  if (options.concurrency < 1 || options.concurrency > 256) {
    return invalidArgument("concurrency must be in 1..256 (got {})", options.concurrency);
  }
  if (options.mode == ProxyOptions::Mode::kSidecar && options.listen.empty() &&
      options.transparent_listen.empty() && options.inbound_listen.empty()) {
    return invalidArgument("sidecar mode needs at least one listen or transparent listen address");
  }
  m.options = options;
  m.gateway_ports =
      std::make_unique<GatewayPorts>(options.port_offset, options.ephemeral_gateway_ports);
  m.connection_budget = std::make_unique<ConnectionBudget>(options.max_downstream_connections);
  {
    std::lock_guard lock(m.mu);
    m.latest = initial;
  }
  for (int i = 0; i < options.concurrency; ++i) {
    m.workers.push_back(std::make_unique<Worker>(i, m.options, *m.gateway_ports));
    m.workers.back()->setConnectionBudget(m.connection_budget.get());
  }
  // Listeners are opened here, before the threads run, so bind errors are reported by start().
  for (auto& w : m.workers) w->setSnapshot(initial);
  if (options.mode == ProxyOptions::Mode::kSidecar) {
    auto open = [&m](const std::vector<net::HostPort>& addrs, bool transparent,
                     bool inbound) -> Status {
      for (const auto& addr : addrs) {
        net::HostPort bound_addr;
        ListenerContext ctx;
        ctx.transparent = transparent;
        ctx.inbound = inbound;
        for (auto& w : m.workers) {
          // Port 0: the first worker picks the port, the others share it (SO_REUSEPORT).
          net::HostPort want = w.get() == m.workers.front().get() ? addr : bound_addr;
          auto r = w->listen(want, ctx);
          if (!r) return tl::unexpected(r.error());
          bound_addr = *r;
        }
        m.sidecar_bound.push_back(bound_addr);
      }
      return ok();
    };
    SLUICE_RETURN_IF_ERROR(open(options.transparent_listen, true, false));
    SLUICE_RETURN_IF_ERROR(open(options.inbound_listen, true, true));
    SLUICE_RETURN_IF_ERROR(open(options.listen, false, false));
  } else {
    size_t want = 0;
    for (const auto& gl : initial->gateway_listeners) {
      int port = static_cast<int>(gl.port) + options.port_offset;
      if (port > 0 && port <= 65535) ++want;
    }
    if (m.workers.front()->listening_count.load() < want) {
      return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                       fmt::format("could not open every gateway listener on {} (see the log)",
                                   options.listen_host));
    }
  }
  m.admin = std::make_unique<http::Server>(
      m.admin_io, [&m](http::Request req) { return m.handleAdmin(std::move(req)); });
  auto admin = m.admin->listen(options.admin);
  if (!admin) return tl::unexpected(admin.error());
  m.admin_address = *admin;
  for (auto& w : m.workers) w->run();
  if (options.overload_max_heap_bytes > 0) {
    m.heap_overload = std::make_unique<HeapOverload>(options.overload_max_heap_bytes);
    m.overload_timer = std::make_unique<asio::steady_timer>(m.admin_io);
    asio::post(m.admin_io, [&m] { m.checkOverload(); });
  }
  m.admin_thread = std::thread([&m] {
    auto guard = asio::make_work_guard(m.admin_io);
    m.admin_io.run();
  });
  {
    std::lock_guard lock(m.mu);
    m.started = true;
  }
  SLUICE_LOG_INFO("proxy started: {} worker(s), snapshot version {}", options.concurrency,
                  initial->version);
  return ok();
}

void ProxyServer::publish(std::shared_ptr<const MeshSnapshot> snapshot) {
  Impl& m = *impl_;
  if (snapshot == nullptr) return;
  {
    std::lock_guard lock(m.mu);
    if (!m.started || m.done) return;
    m.latest = snapshot;
  }
  for (auto& w : m.workers) {
    Worker* raw = w.get();
    asio::post(raw->io(), [raw, snapshot] { raw->setSnapshot(snapshot); });
  }
}

std::vector<net::HostPort> ProxyServer::boundAddresses() const {
  const Impl& m = *impl_;
  if (m.options.mode == ProxyOptions::Mode::kSidecar) return m.sidecar_bound;
  std::vector<net::HostPort> out;
  std::lock_guard lock(m.mu);
  if (!m.latest) return out;
  // In Gateway server port order (the snapshot's), each with the port it is listened on.
  for (const auto& gl : m.latest->gateway_listeners) {
    auto port = m.gateway_ports->port(gl.port);
    if (port && *port != 0) out.push_back(net::HostPort{m.options.listen_host, *port});
  }
  return out;
}

net::HostPort ProxyServer::adminAddress() const { return impl_->admin_address; }

void ProxyServer::setConfigErrors(std::vector<std::string> errors) {
  std::lock_guard lock(impl_->mu);
  impl_->config_errors = std::move(errors);
}

void ProxyServer::setConfigCounts(ConfigCounts counts) {
  std::lock_guard lock(impl_->mu);
  impl_->config_counts = counts;
}

void ProxyServer::setRegistryStatus(std::vector<RegistrySourceStatus> status) {
  std::lock_guard lock(impl_->mu);
  impl_->registry_status = std::move(status);
}

void ProxyServer::drain(std::chrono::milliseconds grace) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    if (m.draining) return;
    m.draining = true;
  }
  for (auto& w : m.workers) {
    Worker* raw = w.get();
    asio::post(raw->io(), [raw] { raw->stopAccepting(); });
  }
  // Wait (bounded) for in-flight requests to finish.
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    uint32_t open = 0;
    for (auto& w : m.workers) open += w->connection_count.load(std::memory_order_relaxed);
    if (open == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& w : m.workers) {
    Worker* raw = w.get();
    asio::post(raw->io(), [raw] { raw->closeAllConnections(); });
  }
  // Let the close handlers run, then stop the loops.
  for (int i = 0; i < 20; ++i) {
    uint32_t open = 0;
    for (auto& w : m.workers) open += w->connection_count.load(std::memory_order_relaxed);
    if (open == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : m.workers) w->stop();
  for (auto& w : m.workers) w->join();
  if (m.admin) {
    asio::post(m.admin_io, [&m] { m.admin->stop(); });
  }
  m.admin_io.stop();
  if (m.admin_thread.joinable()) m.admin_thread.join();
  {
    std::lock_guard lock(m.mu);
    m.done = true;
  }
  m.done_cv.notify_all();
}

void ProxyServer::wait() {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  if (!m.started) return;
  m.done_cv.wait(lock, [&m] { return m.done; });
}

}  // namespace sluice::proxy
