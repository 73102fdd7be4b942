#include <unistd.h>

#include <climits>
#include <memory>

#include "cli/commands.h"
#include "demo/demo.h"

namespace sluice::cli {
namespace {

std::string selfPath() {
  char buf[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("sluice");
}

}  // namespace

void addDemoCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<demo::DemoOptions>();
  auto* cmd = app.add_subcommand(
      "demo", "Run the seed's scenario (Nacos, provider v1/v2, consumer, sidecar, gateway)");
  cmd->add_option("--examples", options->examples_dir, "directory with the seed's YAML")
      ->capture_default_str();
  cmd->add_option("--work-dir", options->work_dir, "where logs and mesh config go (default: temp)");
  cmd->add_option("--requests", options->requests_per_step, "requests per step")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  cmd->add_option("--apps", options->apps,
                  "sluice: the built-in demo apps on Nacos; spring: the Spring Cloud apps of "
                  "examples/spring-cloud (Eureka flavour, real Eureka server)")
      ->capture_default_str()
      ->check(CLI::IsMember({"sluice", "spring"}));
  cmd->add_option("--registry", options->registry,
                  "the apps' registry: nacos (built-in apps), eureka (Spring apps, real Eureka "
                  "server), zookeeper (Spring Cloud Zookeeper apps, Debian's ZooKeeper), consul "
                  "(Spring Cloud Consul apps, sluice registry --protocol consul); default: the "
                  "apps' own")
      ->check(CLI::IsMember({"nacos", "eureka", "zookeeper", "consul"}));
  cmd->add_option("--spring-apps", options->spring_apps_dir,
                  "where `make spring-apps` put the Spring apps")
      ->capture_default_str();
  cmd->add_flag("--keep,--keep-running", options->keep_running,
                "keep the demo running for the mesh page (/ui): steady /echo/hello traffic, the "
                "before state held --hold seconds, then the rules; up until SIGINT/SIGTERM");
  cmd->add_option("--hold", options->hold_seconds,
                  "with --keep: seconds the before-rules round robin is shown before the rules "
                  "are applied")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  cmd->add_flag("--apply-on-enter", options->apply_on_enter,
                "with --keep: apply the rules when Enter is pressed (a line on standard input) "
                "instead of after --hold seconds");
  cmd->callback([options, &exit_code] {
    options->sluice_binary = selfPath();
    exit_code = demo::runDemo(*options);
  });
}

}  // namespace sluice::cli
