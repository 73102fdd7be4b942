#include "cli/commands.h"

namespace sluice::cli {

void addAnalyzeCommand(CLI::App& app, int& exit_code) {
  (void)app;
  (void)exit_code;
}

}  // namespace sluice::cli
