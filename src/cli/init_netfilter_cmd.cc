#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "net/netfilter_rules.h"

namespace sluice::cli {
namespace {

struct InitNetfilterFlags {
  uint16_t outbound_port = 15001;
  std::optional<uint16_t> inbound_port;
  std::optional<uint16_t> dns_port;
  std::optional<uint32_t> proxy_uid;
  std::optional<uint32_t> proxy_mark;
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<std::string> exclude_outbound_cidrs;
  std::vector<std::string> include_outbound_cidrs;
  bool dry_run = false;
  bool remove = false;
};

int run(const InitNetfilterFlags& flags) {
  if (flags.remove) {
    if (flags.dry_run) {
      for (const auto& cmd : net::removalCommands()) {
        for (size_t i = 0; i < cmd.size(); ++i) std::cout << (i ? " " : "") << cmd[i];
        std::cout << "\n";
      }
      return 0;
    }
    auto removed = net::removeInterception();
    if (!removed) {
      std::cerr << "init-netfilter: " << removed.error().message << "\n";
      return 1;
    }
    std::cout << "init-netfilter: interception rules removed\n";
    return 0;
  }
  net::InterceptionSpec spec;
  spec.outbound_port = flags.outbound_port;
  spec.inbound_port = flags.inbound_port;
  spec.dns_port = flags.dns_port;
  spec.proxy_uid = flags.proxy_uid;
  spec.proxy_mark = flags.proxy_mark;
  spec.exclude_outbound_ports = flags.exclude_outbound_ports;
  spec.exclude_inbound_ports = flags.exclude_inbound_ports;
  for (auto [texts, out] :
       {std::pair{&flags.exclude_outbound_cidrs, &spec.exclude_outbound_cidrs},
        std::pair{&flags.include_outbound_cidrs, &spec.include_outbound_cidrs}}) {
    for (const auto& text : *texts) {
      auto cidr = net::Cidr::parse(text);
      if (!cidr) {
        std::cerr << "init-netfilter: " << cidr.error().message << "\n";
        return 2;
      }
      out->push_back(*cidr);
    }
  }
  if (auto valid = net::validate(spec); !valid) {
    std::cerr << "init-netfilter: " << valid.error().message << "\n";
    return 2;
  }
  if (flags.dry_run) {
    std::cout << net::renderRestoreScript(spec);
    return 0;
  }
  auto applied = net::applyInterception(spec);
  if (!applied) {
    std::cerr << "init-netfilter: " << applied.error().message << "\n";
    return 1;
  }
  std::cout << "init-netfilter: outbound TCP -> port " << spec.outbound_port
            << (spec.inbound_port ? ", inbound TCP -> port " + std::to_string(*spec.inbound_port)
                                  : std::string())
            << (spec.dns_port ? ", DNS -> port " + std::to_string(*spec.dns_port) : std::string())
            << "\n";
  return 0;
}

}  // namespace

void addInitNetfilterCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<InitNetfilterFlags>();
  auto* cmd = app.add_subcommand(
      "init-netfilter",
      "Redirect this network namespace's traffic through the sidecar (what istio-init does)");
  cmd->add_option("--outbound-port", flags->outbound_port, "sidecar transparent outbound port")
      ->capture_default_str();
  cmd->add_option("--inbound-port", flags->inbound_port,
                  "sidecar inbound port (unset: no inbound)");
  cmd->add_option("--dns-port", flags->dns_port, "sidecar DNS port (unset: DNS not redirected)");
  cmd->add_option("--proxy-uid", flags->proxy_uid, "uid whose traffic bypasses interception");
  cmd->add_option("--proxy-mark", flags->proxy_mark,
                  "socket mark whose traffic bypasses interception");
  cmd->add_option("--exclude-outbound-ports", flags->exclude_outbound_ports)->delimiter(',');
  cmd->add_option("--exclude-inbound-ports", flags->exclude_inbound_ports)->delimiter(',');
  cmd->add_option("--exclude-outbound-cidrs", flags->exclude_outbound_cidrs)->delimiter(',');
  cmd->add_option("--include-outbound-cidrs", flags->include_outbound_cidrs)->delimiter(',');
  cmd->add_flag("--dry-run", flags->dry_run, "print the rules (or removal commands) only");
  cmd->add_flag("--remove", flags->remove, "remove every rule this command installs");
  cmd->callback([flags, &exit_code] { exit_code = run(*flags); });
}

}  // namespace sluice::cli
