#pragma once
// Each subcommand lives in its own file and registers itself here; main.cc only wires them.
// A subcommand's callback stores its exit code in `exit_code`.

#include <CLI/CLI.hpp>

namespace sluice::cli {

void addAnalyzeCommand(CLI::App& app, int& exit_code);
void addProxyCommands(CLI::App& app, int& exit_code);         // proxy, gateway
void addRegistryCommand(CLI::App& app, int& exit_code);       // registry
void addDemoAppCommand(CLI::App& app, int& exit_code);        // demo-app provider|consumer
void addDemoCommand(CLI::App& app, int& exit_code);           // demo
void addInitNetfilterCommand(CLI::App& app, int& exit_code);  // init-netfilter

}  // namespace sluice::cli
