#include "control/data_plane.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <csignal>
#include <functional>

#include "core/log.h"
#include "core/memory.h"
#include "net/socket_mark.h"

namespace sluice::control {

namespace {

// Forwards the controller's output to the data plane.
class ProxyServerSink : public SnapshotSink {
 public:
  ProxyServerSink(proxy::ProxyServer& server, proxy::DnsProxy* dns,
                  std::function<void()> after_publish)
      : server_(server), dns_(dns), after_publish_(std::move(after_publish)) {}
  void publish(std::shared_ptr<const proxy::MeshSnapshot> snapshot) override {
    if (dns_ != nullptr) dns_->publish(snapshot);
    server_.publish(std::move(snapshot));
    after_publish_();
  }
  void setConfigErrors(std::vector<std::string> errors) override {
    server_.setConfigErrors(std::move(errors));
  }
  void setConfigCounts(const ConfigCounts& counts) override {
    server_.setConfigCounts({counts.rejected, counts.rejected_total, counts.held_back});
  }
  void setRegistryStatus(std::vector<registry::SourceStatus> status) override {
    std::vector<proxy::RegistrySourceStatus> out;
    out.reserve(status.size());
    for (auto& s : status) {
      out.push_back(
          {std::move(s.source), s.reachable, std::move(s.last_error), s.last_success_unix_ms});
    }
    server_.setRegistryStatus(std::move(out));
  }

 private:
  proxy::ProxyServer& server_;
  proxy::DnsProxy* dns_;
  std::function<void()> after_publish_;
};

// The workers drop the previous snapshot when they take the new one, on their threads, soon after
// a publish. One trim a little later hands those pages back (core/memory.h); a burst of publishes
// (a registry syncing thousands of services) costs one trim, not one each.
constexpr std::chrono::milliseconds kTrimDelay{1000};

// Bad flags or a missing config dir are usage errors (2); anything else failed to start (1).
int exitCodeFor(const Error& e) {
  return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kNotFound ? 2 : 1;
}

}  // namespace

std::string readinessLine(const std::string& name, const std::vector<net::HostPort>& listen,
                          const net::HostPort& admin, const std::optional<net::HostPort>& dns) {
  std::string addrs;
  for (const auto& a : listen) {
    if (!addrs.empty()) addrs += ',';
    addrs += a.toString();
  }
  if (addrs.empty()) addrs = "none";
  std::string line = fmt::format("{} ready: listen {} admin {}", name, addrs, admin.toString());
  if (dns) line += fmt::format(" dns {}", dns->toString());
  return line;
}

int runDataPlane(const DataPlaneOptions& options, std::ostream& out, std::ostream& err) {
  // Before the first thread (workers, registry watchers) starts.
  core::limitMallocArenas(options.proxy.concurrency);
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  // Before anything else, so a SIGTERM during start-up means "drain", not "die".
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set reload_signal(io, SIGHUP);

  // Before any socket is opened (the registry watchers dial out from initialize() on).
  net::setOutboundSocketMark(options.upstream_mark);
  MeshController controller(io, options.controller, ControllerDeps::production());
  auto initial = controller.initialize();
  if (!initial) {
    err << options.name << ": " << initial.error().message << "\n";
    return exitCodeFor(initial.error());
  }

  proxy::ProxyOptions proxy_options = options.proxy;
  // Workers ask from their threads; the controller answers on `io` (after this function's io.run
  // returns nothing answers any more: the workers' waits are bounded).
  proxy_options.registry_refresh = [&io, &controller](std::function<void()> done) {
    asio::post(io, [&controller, done = std::move(done)]() mutable {
      controller.refreshRegistries(std::move(done));
    });
  };
  // On-demand loading: the same hop onto `io` for the workers and the DNS proxy.
  proxy::ServiceLoad service_load;
  if (options.controller.load_on_demand && !options.controller.gateway) {
    service_load = [&io, &controller](std::string host, std::function<void()> done) {
      asio::post(io, [&controller, host = std::move(host), done = std::move(done)]() mutable {
        controller.loadOnDemand(host, std::move(done));
      });
    };
  }
  proxy_options.service_load = service_load;
  proxy::ProxyServer server;
  if (auto st = server.start(proxy_options, *initial); !st) {
    err << options.name << ": " << st.error().message << "\n";
    return exitCodeFor(st.error());
  }
  proxy::DnsProxy dns;
  if (options.dns) {
    proxy::DnsProxyOptions dns_options = *options.dns;
    dns_options.service_load = service_load;
    dns_options.service_load_wait = options.proxy.service_load_wait;
    if (auto st = dns.start(dns_options, *initial); !st) {
      err << options.name << ": DNS proxy: " << st.error().message << "\n";
      server.drain(std::chrono::milliseconds(0));
      server.wait();
      return exitCodeFor(st.error());
    }
  }
  asio::steady_timer trim_timer(io);
  bool trim_armed = false;
  auto schedule_trim = [&] {
    if (trim_armed) return;
    trim_armed = true;
    trim_timer.expires_after(kTrimDelay);
    trim_timer.async_wait([&](const std::error_code& ec) {
      trim_armed = false;
      if (!ec) core::releaseFreeMemory();
    });
  };
  ProxyServerSink sink(server, options.dns ? &dns : nullptr, schedule_trim);
  if (auto st = controller.start(&sink); !st) {
    err << options.name << ": " << st.error().message << "\n";
    server.drain(std::chrono::milliseconds(0));
    server.wait();
    return 1;
  }

  bool stopping = false;
  controller.whenRegistriesSynced(options.registry_sync_wait, [&] {
    if (stopping) return;
    std::optional<net::HostPort> dns_address;
    if (options.dns) dns_address = dns.boundAddress();
    out << readinessLine(options.name, server.boundAddresses(), server.adminAddress(), dns_address)
        << std::endl;
  });

  std::function<void()> wait_reload = [&] {
    reload_signal.async_wait([&](const std::error_code& ec, int) {
      if (ec) return;
      SLUICE_LOG_INFO("SIGHUP: re-reading the config directory");
      controller.reloadConfig();
      wait_reload();
    });
  };
  wait_reload();
  stop_signals.async_wait([&](const std::error_code& ec, int signo) {
    if (ec) return;
    stopping = true;
    SLUICE_LOG_INFO("{}: {} received, draining (grace {} ms)", options.name,
                    signo == SIGTERM ? "SIGTERM" : "SIGINT", options.drain_grace.count());
    controller.stop();
    reload_signal.cancel();
    trim_timer.cancel();
    guard.reset();
    io.stop();
  });

  io.run();
  dns.stop();
  server.drain(options.drain_grace);
  server.wait();
  SLUICE_LOG_INFO("{}: drained, exiting", options.name);
  return 0;
}

}  // namespace sluice::control
