#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/log.h"

int main(int argc, char** argv) {
  CLI::App app{"Sluice: Istio-style traffic management for registry-based microservices"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")
      ->capture_default_str();
  int exit_code = 0;
  sluice::cli::addAnalyzeCommand(app, exit_code);
  sluice::cli::addProxyCommands(app, exit_code);
  sluice::cli::addRegistryCommand(app, exit_code);
  sluice::cli::addDemoAppCommand(app, exit_code);
  sluice::cli::addDemoCommand(app, exit_code);
  sluice::cli::addInitNetfilterCommand(app, exit_code);
  app.parse_complete_callback([&] {
    if (!sluice::log::setup(log_level)) throw CLI::ValidationError("--log-level", log_level);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2 everywhere
  }
  return exit_code;
}
