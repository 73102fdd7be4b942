// `sluice analyze -f PATH... [--output text|json]`: flag wiring only; the logic is
// config::runAnalyze.
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "config/analyze.h"

namespace sluice::cli {

void addAnalyzeCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "analyze",
      "Validate Istio YAML (files or directories) like `istioctl analyze`; exit 0 "
      "without errors, 1 with errors, 2 on usage errors");
  struct Flags {
    std::vector<std::string> paths;
    config::AnalyzeOutput output = config::AnalyzeOutput::kText;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("-f,--filename", flags->paths, "YAML/JSON file or directory (repeatable)")
      ->required()
      ->take_all();
  const std::map<std::string, config::AnalyzeOutput> kOutputs = {
      {"text", config::AnalyzeOutput::kText}, {"json", config::AnalyzeOutput::kJson}};
  cmd->add_option("-o,--output", flags->output, "text or json")
      ->transform(CLI::CheckedTransformer(kOutputs, CLI::ignore_case));
  cmd->callback([flags, &exit_code] {
    exit_code = config::runAnalyze(flags->paths, flags->output, std::cout, std::cerr);
  });
}

}  // namespace sluice::cli
