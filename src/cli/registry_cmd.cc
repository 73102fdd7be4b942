// `sluice registry`: the embedded Nacos naming server. Flag wiring only; the logic lives in
// src/registry/nacos/.
#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/log.h"
#include "net/address.h"
#include "registry/nacos/registry_server.h"

namespace sluice::cli {

namespace {

struct RegistryFlags {
  std::string listen = "127.0.0.1:8848";
  std::string data_dir;
  int64_t beat_timeout_ms = 15'000;
  int64_t delete_timeout_ms = 30'000;
  int64_t client_beat_interval_ms = 5'000;
  int64_t cache_millis = 3'000;
};

int runRegistry(const RegistryFlags& f) {
  auto listen = net::parseHostPort(f.listen);
  if (!listen) {
    fmt::print(stderr, "sluice registry: --listen {}: {}\n", f.listen, listen.error().message);
    return 2;
  }
  registry::nacos::RegistryServerOptions options;
  options.data_dir = f.data_dir;
  options.store.beat_timeout_ms = f.beat_timeout_ms;
  options.store.delete_timeout_ms = f.delete_timeout_ms;
  options.store.client_beat_interval_ms = f.client_beat_interval_ms;
  options.api.cache_millis = f.cache_millis;
  if (f.data_dir.empty()) {
    SLUICE_LOG_WARN("registry: no --data-dir: persistent instances are kept in memory only");
  }

  asio::io_context io;
  registry::nacos::RegistryServer server(io, options);
  auto bound = server.start(*listen);
  if (!bound) {
    fmt::print(stderr, "sluice registry: {}\n", bound.error().message);
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signo) {
    if (ec) return;
    SLUICE_LOG_INFO("registry: signal {}, shutting down", signo);
    server.stop();
    io.stop();
  });
  fmt::print("sluice registry listening on {}\n", bound->toString());
  std::fflush(stdout);
  io.run();
  return 0;
}

}  // namespace

void addRegistryCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<RegistryFlags>();
  auto* cmd = app.add_subcommand("registry", "Embedded Nacos naming server (HTTP Open API v1)");
  cmd->add_option("--listen", flags->listen, "Address to serve on (port 0 picks a free one)")
      ->capture_default_str();
  cmd->add_option("--data-dir", flags->data_dir,
                  "Directory for persistent (ephemeral=false) instances; survives restarts");
  cmd->add_option("--beat-timeout-ms", flags->beat_timeout_ms,
                  "Ephemeral instance turns unhealthy after this long without a beat")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  cmd->add_option("--delete-timeout-ms", flags->delete_timeout_ms,
                  "Ephemeral instance is removed after this long without a beat")
      ->check(CLI::Range(int64_t{1}, int64_t{86'400'000}))
      ->capture_default_str();
  cmd->add_option("--client-beat-interval-ms", flags->client_beat_interval_ms,
                  "Beat interval the beat answer tells clients")
      ->check(CLI::Range(int64_t{100}, int64_t{3'600'000}))
      ->capture_default_str();
  cmd->add_option("--cache-millis", flags->cache_millis,
                  "cacheMillis of instance lists: how often clients re-poll")
      ->check(CLI::Range(int64_t{100}, int64_t{3'600'000}))
      ->capture_default_str();
  cmd->callback([flags, &exit_code] { exit_code = runRegistry(*flags); });
}

}  // namespace sluice::cli
