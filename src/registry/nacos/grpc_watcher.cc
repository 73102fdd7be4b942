#include "registry/nacos/grpc_watcher.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/log.h"
#include "registry/nacos/grpc_client.h"
#include "registry/nacos/naming_client.h"

namespace sluice::registry::nacos {

namespace {

int64_t unixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool instanceLess(const Instance& a, const Instance& b) {
  return std::tie(a.ip, a.port, a.cluster) < std::tie(b.ip, b.port, b.cluster);
}

// A serviceInfo (answer or push) as the mesh wants it.
Result<Service> toService(const Json& info, const NacosSource& source, const std::string& name) {
  auto service = parseInstanceList(info.dump(), source.namespace_id, source.group, name);
  if (!service) return service;
  std::erase_if(service->instances,
                [](const Instance& i) { return !i.enabled || !(i.weight > 0); });
  std::sort(service->instances.begin(), service->instances.end(), instanceLess);
  return service;
}

}  // namespace

// How often the service list is read when only named services are wanted (they are subscribed by
// name, so the list only finds names whose case differs).
constexpr std::chrono::milliseconds kNamedListInterval{10'000};

struct NacosGrpcWatcher::State {
  NacosSource source;
  GrpcWatcherOptions options;
  std::thread thread;
  bool started = false;
  bool detached = false;

  std::mutex mu;
  std::condition_variable cv;
  bool stopped = false;
  bool refresh_requested = false;
  std::vector<OnRefreshed> refresh_waiting;
  Interest interest;                // which services to subscribe to (setInterest)
  bool relist = false;              // the interest changed: list and (un)subscribe now
  std::vector<GrpcMessage> pushes;  // from the connection's reader thread
  bool connection_lost = false;
  std::string lost_why;
  std::shared_ptr<NacosWatcher> http;  // the v1 fallback, once chosen

  // Held while calling on_change and by stop() while setting `stopped` (see NacosWatcher).
  std::recursive_mutex callback_mu;
  OnChange on_change;

  mutable std::mutex status_mu;
  SourceStatus status;
  std::string transport;

  bool have_last = false;
  std::vector<Service> last;  // watcher thread only

  net::HostPort grpcAddress() const {
    net::HostPort grpc = source.server;
    grpc.port =
        source.grpc_port != 0 ? source.grpc_port : static_cast<uint16_t>(source.server.port + 1000);
    return grpc;
  }

  bool isStopped() {
    std::lock_guard lock(mu);
    return stopped;
  }

  void setTransport(const std::string& t) {
    std::lock_guard lock(status_mu);
    transport = t;
  }

  void markReachable() {
    std::lock_guard lock(status_mu);
    status.reachable = true;
    status.last_error.clear();
    status.last_success_unix_ms = unixMs();
  }

  void markUnreachable(const std::string& why, bool& warned) {
    {
      std::lock_guard lock(status_mu);
      status.reachable = false;
      status.last_error = why;
    }
    if (!warned) {
      SLUICE_LOG_WARN("{}: {}; keeping the last known {} service(s), retrying with backoff",
                      status.source, why, last.size());
      warned = true;
    }
  }

  void emit(std::vector<Service> services) {
    if (have_last && services == last) return;
    last = std::move(services);
    have_last = true;
    std::lock_guard lock(callback_mu);
    if (!isStopped() && on_change) on_change(last);
  }

  std::vector<OnRefreshed> takeRefreshes() {
    std::lock_guard lock(mu);
    refresh_requested = false;
    return std::move(refresh_waiting);
  }

  static void runRefreshes(std::vector<OnRefreshed> done) {
    for (auto& d : done) d();
  }

  // Sleeps up to `delay` unless stopped; refreshNow() callbacks arriving meanwhile are answered
  // at once (there is nothing to read: status() says why).
  void backoffWait(std::chrono::milliseconds delay) {
    auto until = std::chrono::steady_clock::now() + delay;
    while (true) {
      std::vector<OnRefreshed> done;
      {
        std::unique_lock lock(mu);
        cv.wait_until(lock, until, [&] { return stopped || refresh_requested; });
        if (stopped || !refresh_requested) return;
        refresh_requested = false;
        done = std::move(refresh_waiting);
      }
      runRefreshes(std::move(done));
    }
  }

  Result<std::vector<std::string>> listServices(GrpcNamingConnection& conn) {
    std::vector<std::string> names;
    for (int page = 1; page <= 1000; ++page) {
      GrpcMessage request;
      request.type = "ServiceListRequest";
      request.body = {{"namespace", source.namespace_id},
                      {"groupName", source.group},
                      {"pageNo", page},
                      {"pageSize", options.page_size},
                      {"selector", ""}};
      SLUICE_ASSIGN_OR_RETURN(GrpcMessage reply, conn.request(std::move(request)));
      size_t count = reply.body.value("count", size_t{0});
      size_t got = 0;
      if (auto it = reply.body.find("serviceNames"); it != reply.body.end() && it->is_array()) {
        for (const auto& n : *it) {
          if (n.is_string()) names.push_back(n.get<std::string>());
        }
        got = it->size();
      }
      if (got == 0 || names.size() >= count) break;
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
  }

  Result<Json> subscribe(GrpcNamingConnection& conn, const std::string& name, bool on) {
    GrpcMessage request;
    request.type = "SubscribeServiceRequest";
    request.body = {{"namespace", source.namespace_id},
                    {"serviceName", name},
                    {"groupName", source.group},
                    {"subscribe", on},
                    {"clusters", ""}};
    SLUICE_ASSIGN_OR_RETURN(GrpcMessage reply, conn.request(std::move(request)));
    return reply.body.value("serviceInfo", Json::object());
  }

  // Subscribes to every name, answers in the same order. The calls are unary round trips on one
  // channel (thread-safe in gRPC), so several run at once: one after another, a registry of
  // 10,000 services took minutes to sync on a busy machine.
  Result<std::vector<Json>> subscribeAll(GrpcNamingConnection& conn,
                                         const std::vector<std::string>& names) {
    constexpr size_t kInFlight = 8;
    std::vector<Json> infos(names.size());
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex error_mu;
    std::optional<Error> error;
    auto work = [&] {
      for (size_t i = next++; i < names.size() && !failed; i = next++) {
        auto info = subscribe(conn, names[i], true);
        if (info) {
          infos[i] = std::move(*info);
          continue;
        }
        std::lock_guard lock(error_mu);
        if (!error) error = info.error();
        failed = true;
      }
    };
    std::vector<std::thread> threads;
    size_t extra = std::min(kInFlight, names.size()) - (names.empty() ? 0 : 1);
    for (size_t t = 0; t < extra; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (error) return tl::unexpected(*error);
    return infos;
  }

  // One connection's life: list + subscribe, then apply pushes as they come and re-list every
  // list_interval. Returns why it ended (an error) or ok when stopped.
  Status session(GrpcNamingConnection& conn) {
    std::map<std::string, Service> services;
    std::set<std::string> listed;  // wanted names the last service list had
    auto next_list = std::chrono::steady_clock::now();
    while (true) {
      std::vector<OnRefreshed> refreshed;
      bool refresh = false;
      Interest wanted;
      const bool list_due = std::chrono::steady_clock::now() >= next_list;
      {
        // The refreshNow() callbacks are taken with the interest they were asked under: one
        // that arrives after a setInterest() is answered after a read of that interest.
        std::lock_guard lock(mu);
        if (stopped) return ok();
        refresh = refresh_requested || relist;
        relist = false;
        wanted = interest;
        if (refresh || list_due) {
          refresh_requested = false;
          refreshed = std::move(refresh_waiting);
          refresh_waiting.clear();
        }
      }
      if (refresh || list_due) {
        // Subscribed (and so pushed and kept) are only the services the mesh wants: with a
        // Sidecar naming 10 of 10,000 services, 10 subscriptions. Those are also subscribed by
        // name whether listed or not, as nacos-client does, so the server pushes a service that
        // registers later at once. With a finite interest the list is read only when due (it
        // still finds a name whose case differs from the lower-cased one asked for), not on
        // every refresh or interest change: subscribing by name answers those.
        if (wanted.all || list_due) {
          auto names = listServices(conn);
          if (!names) {
            runRefreshes(std::move(refreshed));
            return tl::unexpected(names.error());
          }
          listed.clear();
          for (const auto& n : *names) {
            if (wanted.wants(n)) listed.insert(n);
          }
        } else {
          std::erase_if(listed, [&](const std::string& n) { return !wanted.wants(n); });
        }
        std::set<std::string> targets = listed;
        if (!wanted.all) targets.insert(wanted.names.begin(), wanted.names.end());
        for (auto it = services.begin(); it != services.end();) {
          if (targets.count(it->first) != 0) {
            ++it;
            continue;
          }
          (void)subscribe(conn, it->first, false);
          it = services.erase(it);
        }
        std::vector<std::string> fresh;
        for (const std::string& name : targets) {
          if (services.count(name) == 0) fresh.push_back(name);
        }
        auto infos = subscribeAll(conn, fresh);
        if (!infos) {
          runRefreshes(std::move(refreshed));
          return tl::unexpected(infos.error());
        }
        for (size_t i = 0; i < fresh.size(); ++i) {
          const std::string& name = fresh[i];
          auto service = toService((*infos)[i], source, name);
          if (!service) {
            SLUICE_LOG_WARN("{}: subscribe answer for {}: {}", status.source, name,
                            service.error().message);
            service = Service{name, source.namespace_id, source.group, {}};
          }
          services[name] = std::move(*service);
        }
        if (wanted.all || list_due) {
          next_list = std::chrono::steady_clock::now() +
                      (wanted.all ? options.list_interval
                                  : std::max(options.list_interval * 20, kNamedListInterval));
        }
      }
      std::vector<GrpcMessage> pushed;
      {
        std::lock_guard lock(mu);
        pushed.swap(pushes);
      }
      for (const GrpcMessage& push : pushed) {
        if (push.type != "NotifySubscriberRequest") continue;
        std::string name = push.body.value("serviceName", "");
        if (push.body.value("namespace", source.namespace_id) != source.namespace_id ||
            push.body.value("groupName", source.group) != source.group ||
            services.count(name) == 0) {
          continue;
        }
        auto service = toService(push.body.value("serviceInfo", Json::object()), source, name);
        if (!service) {
          SLUICE_LOG_WARN("{}: push for {}: {}", status.source, name, service.error().message);
          continue;
        }
        services[name] = std::move(*service);
      }
      markReachable();
      std::vector<Service> out;
      out.reserve(services.size());
      for (const auto& [name, service] : services) {
        // Subscribed by name only: absent until the registry has it.
        if (service.instances.empty() && listed.count(name) == 0) continue;
        out.push_back(service);
      }
      emit(std::move(out));
      runRefreshes(std::move(refreshed));

      std::unique_lock lock(mu);
      cv.wait_until(lock, next_list, [&] {
        return stopped || refresh_requested || relist || !pushes.empty() || connection_lost;
      });
      if (stopped) return ok();
      if (connection_lost && pushes.empty()) {
        return makeError(
            ErrorCode::kUnavailable, ErrorSource::kRegistry,
            fmt::format("nacos grpc {}: connection lost: {}", grpcAddress().toString(), lost_why),
            true);
      }
    }
  }

  Status probeHttp() {
    asio::io_context io;
    NamingClient client(ClientOptions{source.server, source.namespace_id, options.request_timeout,
                                      "sluice-nacos-watcher"});
    auto future = asio::co_spawn(io, client.listServices(source.group, 1, 1), asio::use_future);
    io.run();
    auto names = future.get();
    if (!names) return tl::unexpected(names.error());
    return ok();
  }

  void startHttpFallback(const std::shared_ptr<State>& self) {
    auto watcher = std::make_shared<NacosWatcher>(source, options.http);
    NacosWatcher* raw = watcher.get();
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      raw->setInterest(interest);
      http = std::move(watcher);
    }
    setTransport("http");
    std::weak_ptr<State> weak = self;
    raw->start([weak](const std::vector<Service>& services) {
      auto st = weak.lock();
      if (!st) return;
      std::lock_guard lock(st->callback_mu);
      if (!st->isStopped() && st->on_change) st->on_change(services);
    });
  }

  void run(const std::shared_ptr<State>& self) {
    auto backoff = options.list_interval;
    bool grpc_worked = false;
    bool warned = false;
    while (!isStopped()) {
      {
        std::lock_guard lock(mu);
        connection_lost = false;
        pushes.clear();
      }
      GrpcClientOptions client;
      client.server = grpcAddress();
      client.timeout = options.request_timeout;
      std::weak_ptr<State> weak = self;
      auto conn = GrpcNamingConnection::connect(
          client,
          [weak](const GrpcMessage& m) {
            if (auto st = weak.lock()) {
              std::lock_guard lock(st->mu);
              st->pushes.push_back(m);
              st->cv.notify_all();
            }
          },
          [weak](const std::string& why) {
            if (auto st = weak.lock()) {
              std::lock_guard lock(st->mu);
              st->connection_lost = true;
              st->lost_why = why;
              st->cv.notify_all();
            }
          });
      if (conn) {
        if (!grpc_worked || warned) {
          SLUICE_LOG_INFO("{}: watching over gRPC (subscribe push) at {}", status.source,
                          client.server.toString());
        }
        grpc_worked = true;
        warned = false;
        setTransport("grpc");
        backoff = options.list_interval;
        Status ended = session(**conn);
        (*conn)->close();
        if (ended || isStopped()) return;
        markUnreachable(ended.error().message, warned);
      } else if (source.transport == NacosSource::Transport::kAuto && !grpc_worked) {
        if (Status v1 = probeHttp(); v1) {
          SLUICE_LOG_INFO("{}: no Nacos gRPC at {} ({}); watching over v1 HTTP (polling)",
                          status.source, client.server.toString(), conn.error().message);
          startHttpFallback(self);
          runRefreshes(takeRefreshes());  // the v1 watcher answers the next ones
          return;
        }
        markUnreachable(conn.error().message, warned);
      } else {
        markUnreachable(conn.error().message, warned);
      }
      backoffWait(backoff);
      backoff = std::min(backoff * 2, options.max_backoff);
    }
  }
};

NacosGrpcWatcher::NacosGrpcWatcher(NacosSource source, GrpcWatcherOptions options)
    : state_(std::make_shared<State>()) {
  state_->source = std::move(source);
  state_->options = options;
  state_->status.source = state_->source.url.empty() ? "nacos://" + state_->source.server.toString()
                                                     : state_->source.url;
}

NacosGrpcWatcher::~NacosGrpcWatcher() { stop(); }

void NacosGrpcWatcher::start(OnChange on_change) {
  if (state_->started) return;
  state_->started = true;
  // Held until the thread handle is set (see NacosWatcher::start).
  std::lock_guard lock(state_->callback_mu);
  state_->on_change = std::move(on_change);
  state_->thread = std::thread([st = state_] { st->run(st); });
}

void NacosGrpcWatcher::stop() {
  std::shared_ptr<NacosWatcher> http;
  {
    std::lock_guard callback_lock(state_->callback_mu);
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
    state_->cv.notify_all();
  }
  {
    std::lock_guard lock(state_->mu);
    http = std::move(state_->http);
  }
  if (http) http->stop();
  if (state_->thread.joinable()) {
    if (state_->thread.get_id() == std::this_thread::get_id()) {
      state_->detached = true;  // stop() from inside on_change: the thread ends on its own
      state_->thread.detach();
    } else {
      state_->thread.join();
    }
  }
}

SourceStatus NacosGrpcWatcher::status() const {
  {
    std::lock_guard lock(state_->mu);
    if (state_->http) return state_->http->status();
  }
  std::lock_guard lock(state_->status_mu);
  return state_->status;
}

void NacosGrpcWatcher::refreshNow(OnRefreshed done) {
  if (!done) return;
  std::shared_ptr<NacosWatcher> http;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return;
    if (state_->http) {
      http = state_->http;
    } else {
      state_->refresh_waiting.push_back(std::move(done));
      state_->refresh_requested = true;
      state_->cv.notify_all();
      return;
    }
  }
  http->refreshNow(std::move(done));
}

void NacosGrpcWatcher::setInterest(Interest interest) {
  std::shared_ptr<NacosWatcher> http;
  {
    std::lock_guard lock(state_->mu);
    if (state_->interest == interest) return;
    state_->interest = interest;
    state_->relist = true;
    state_->cv.notify_all();
    http = state_->http;
  }
  if (http) http->setInterest(std::move(interest));
}

std::string NacosGrpcWatcher::transportInUse() const {
  std::lock_guard lock(state_->status_mu);
  return state_->transport;
}

}  // namespace sluice::registry::nacos
