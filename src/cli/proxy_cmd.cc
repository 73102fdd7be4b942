#include "cli/commands.h"

namespace sluice::cli {

void addProxyCommands(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace sluice::cli
