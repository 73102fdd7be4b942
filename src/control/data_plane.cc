#include "control/data_plane.h"

#include <csignal>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include "core/log.h"

namespace sluice::control {

namespace {

// Forwards the controller's output to the data plane.
class ProxyServerSink : public SnapshotSink {
 public:
  explicit ProxyServerSink(proxy::ProxyServer& server) : server_(server) {}
  void publish(std::shared_ptr<const proxy::MeshSnapshot> snapshot) override {
    server_.publish(std::move(snapshot));
  }
  void setConfigErrors(std::vector<std::string> errors) override {
    server_.setConfigErrors(std::move(errors));
  }
  void setRegistryStatus(std::vector<registry::SourceStatus> status) override {
    server_.setRegistryStatus(std::move(status));
  }

 private:
  proxy::ProxyServer& server_;
};

// Bad flags or a missing config dir are usage errors (2); anything else failed to start (1).
int exitCodeFor(const Error& e) {
  return e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kNotFound ? 2 : 1;
}

}  // namespace

std::string readinessLine(const std::string& name, const std::vector<net::HostPort>& listen,
                          const net::HostPort& admin) {
  std::string addrs;
  for (const auto& a : listen) {
    if (!addrs.empty()) addrs += ',';
    addrs += a.toString();
  }
  if (addrs.empty()) addrs = "none";
  return fmt::format("{} ready: listen {} admin {}", name, addrs, admin.toString());
}

int runDataPlane(const DataPlaneOptions& options, std::ostream& out, std::ostream& err) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  // Before anything else, so a SIGTERM during start-up means "drain", not "die".
  asio::signal_set stop_signals(io, SIGTERM, SIGINT);
  asio::signal_set reload_signal(io, SIGHUP);

  MeshController controller(io, options.controller, ControllerDeps::production());
  auto initial = controller.initialize();
  if (!initial) {
    err << options.name << ": " << initial.error().message << "\n";
    return exitCodeFor(initial.error());
  }

  proxy::ProxyServer server;
  if (auto st = server.start(options.proxy, *initial); !st) {
    err << options.name << ": " << st.error().message << "\n";
    return exitCodeFor(st.error());
  }
  ProxyServerSink sink(server);
  if (auto st = controller.start(&sink); !st) {
    err << options.name << ": " << st.error().message << "\n";
    server.drain(std::chrono::milliseconds(0));
    server.wait();
    return 1;
  }

  bool stopping = false;
  controller.whenRegistriesSynced(options.registry_sync_wait, [&] {
    if (stopping) return;
    out << readinessLine(options.name, server.boundAddresses(), server.adminAddress())
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
    guard.reset();
    io.stop();
  });

  io.run();
  server.drain(options.drain_grace);
  server.wait();
  SLUICE_LOG_INFO("{}: drained, exiting", options.name);
  return 0;
}

}  // namespace sluice::control
