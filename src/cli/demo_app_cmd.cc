// `sluice demo-app provider|consumer`: the seed's Spring Cloud style applications. Flag wiring
// only; the applications live in src/demo/demo_app.cc.
#include <memory>

#include "cli/commands.h"
#include "demo/demo_app.h"

namespace sluice::cli {

namespace {

void addCommonFlags(CLI::App& cmd, demo::DemoAppOptions& o) {
  cmd.add_option("--service", o.service, "Name to register in Nacos")->capture_default_str();
  cmd.add_option("--version", o.version, "Version label (metadata label/version)")
      ->capture_default_str();
  cmd.add_option("--ip", o.ip, "Address to listen on and register")->capture_default_str();
  cmd.add_option("--port", o.port, "Port (0 picks a free one; the real one is registered)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd.add_option("--registry", o.registry, "Nacos server HOST:PORT")->capture_default_str();
  cmd.add_option("--namespace", o.namespace_id, "Nacos namespace")->capture_default_str();
  cmd.add_option("--group", o.group, "Nacos group")->capture_default_str();
  cmd.add_option("--beat-interval-ms", o.beat_interval_ms,
                 "Heartbeat period until the registry says otherwise")
      ->check(CLI::Range(100, 60'000))
      ->capture_default_str();
}

}  // namespace

void addDemoAppCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("demo-app", "The demo's Spring Cloud style provider/consumer");
  cmd->require_subcommand(1);

  auto provider = std::make_shared<demo::DemoAppOptions>();
  provider->role = "provider";
  provider->service = "service-provider";
  auto* p = cmd->add_subcommand("provider", "Registers in Nacos, serves GET /echo/{s}");
  addCommonFlags(*p, *provider);
  p->callback([provider, &exit_code] { exit_code = demo::runDemoApp(*provider); });

  auto consumer = std::make_shared<demo::DemoAppOptions>();
  consumer->role = "consumer";
  consumer->service = "consumer";
  auto* c = cmd->add_subcommand(
      "consumer",
      "Serves GET /echo/{s} by calling the provider found in Nacos (round robin); "
      "honours http_proxy/no_proxy for those calls");
  addCommonFlags(*c, *consumer);
  c->add_option("--provider", consumer->provider, "Service to call")->capture_default_str();
  c->add_option("--refresh-ms", consumer->refresh_ms, "Instance cache refresh period")
      ->check(CLI::Range(50, 60'000))
      ->capture_default_str();
  c->add_option("--call-timeout-ms", consumer->call_timeout_ms, "Provider call timeout")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
  c->callback([consumer, &exit_code] { exit_code = demo::runDemoApp(*consumer); });
}

}  // namespace sluice::cli
