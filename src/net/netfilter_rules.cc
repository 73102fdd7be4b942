#include "net/netfilter_rules.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace sluice::net {
namespace {

constexpr const char* kOutputChain = "SLUICE_OUTPUT";
constexpr const char* kRedirectChain = "SLUICE_REDIRECT";
constexpr const char* kInboundChain = "SLUICE_INBOUND";
constexpr const char* kInRedirectChain = "SLUICE_IN_REDIRECT";
constexpr const char* kDnsChain = "SLUICE_DNS";

// The jumps from built-in chains, as "chain | match" pairs: applying adds them, removing deletes
// them. Kept in one place so both directions agree.
struct Jump {
  const char* builtin;
  const char* match;
  const char* target;
};
constexpr Jump kJumps[] = {
    {"OUTPUT", "-p tcp", kOutputChain},
    {"OUTPUT", "-p udp --dport 53", kDnsChain},
    {"PREROUTING", "-p tcp", kInboundChain},
};

void bypassRules(const InterceptionSpec& spec, const char* chain, std::string& out) {
  if (spec.proxy_uid) {
    out += fmt::format("-A {} -m owner --uid-owner {} -j RETURN\n", chain, *spec.proxy_uid);
  }
  if (spec.proxy_mark) {
    out += fmt::format("-A {} -m mark --mark {:#x} -j RETURN\n", chain, *spec.proxy_mark);
  }
}

struct CommandOutput {
  int exit_code = -1;
  std::string output;
};

// Runs argv (PATH lookup) with `input` on stdin; collects stdout+stderr.
Result<CommandOutput> runCommand(const std::vector<std::string>& args, const std::string& input) {
  int in_pipe[2];
  int out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
    return makeError(ErrorCode::kIo, ErrorSource::kInternal,
                     std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in_pipe[0]);
  close(out_pipe[1]);
  if (rc != 0) {
    close(in_pipe[1]);
    close(out_pipe[0]);
    return makeError(ErrorCode::kNotFound, ErrorSource::kInternal,
                     fmt::format("cannot run {}: {}", args.front(), std::strerror(rc)));
  }
  // The scripts are a few KiB, well under the pipe buffer, so writing all before reading is safe.
  size_t written = 0;
  while (written < input.size()) {
    ssize_t n = write(in_pipe[1], input.data() + written, input.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  close(in_pipe[1]);
  CommandOutput result;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof buf)) > 0)
    result.output.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return result;
}

}  // namespace

Status validate(const InterceptionSpec& spec) {
  if (spec.outbound_port == 0) return invalidArgument("outbound port must be 1..65535");
  if (spec.inbound_port && *spec.inbound_port == 0) {
    return invalidArgument("inbound port must be 1..65535");
  }
  if (spec.dns_port && *spec.dns_port == 0) return invalidArgument("DNS port must be 1..65535");
  if (!spec.proxy_uid && !spec.proxy_mark) {
    return invalidArgument(
        "the sidecar's own traffic must bypass interception: give a proxy uid or a socket mark");
  }
  for (const auto* list : {&spec.exclude_outbound_cidrs, &spec.include_outbound_cidrs}) {
    for (const auto& cidr : *list) {
      if (cidr.base.v6) {
        return invalidArgument("{}: IPv6 CIDRs are not supported by the iptables rules",
                               cidr.toString());
      }
    }
  }
  return ok();
}

std::string renderRestoreScript(const InterceptionSpec& spec) {
  std::string out = "*nat\n";
  for (const char* chain :
       {kOutputChain, kRedirectChain, kInboundChain, kInRedirectChain, kDnsChain}) {
    out += fmt::format(":{} - [0:0]\n", chain);
  }
  out +=
      fmt::format("-A {} -p tcp -j REDIRECT --to-ports {}\n", kRedirectChain, spec.outbound_port);
  if (spec.inbound_port) {
    out += fmt::format("-A {} -p tcp -j REDIRECT --to-ports {}\n", kInRedirectChain,
                       *spec.inbound_port);
  }
  for (const Jump& jump : kJumps) {
    if (jump.target == kDnsChain && !spec.dns_port) continue;
    if (jump.target == kInboundChain && !spec.inbound_port) continue;
    out += fmt::format("-A {} {} -j {}\n", jump.builtin, jump.match, jump.target);
  }

  // Outbound: the sidecar's own connections, loopback, DNS, then exclusions, then redirect.
  bypassRules(spec, kOutputChain, out);
  out += fmt::format("-A {} -o lo -j RETURN\n", kOutputChain);
  if (spec.dns_port) {
    out += fmt::format("-A {} -p tcp --dport 53 -j REDIRECT --to-ports {}\n", kOutputChain,
                       *spec.dns_port);
  }
  for (uint16_t port : spec.exclude_outbound_ports) {
    out += fmt::format("-A {} -p tcp --dport {} -j RETURN\n", kOutputChain, port);
  }
  for (const auto& cidr : spec.exclude_outbound_cidrs) {
    out += fmt::format("-A {} -d {} -j RETURN\n", kOutputChain, cidr.toString());
  }
  if (spec.include_outbound_cidrs.empty()) {
    out += fmt::format("-A {} -j {}\n", kOutputChain, kRedirectChain);
  } else {
    for (const auto& cidr : spec.include_outbound_cidrs) {
      out += fmt::format("-A {} -d {} -j {}\n", kOutputChain, cidr.toString(), kRedirectChain);
    }
  }

  if (spec.dns_port) {
    bypassRules(spec, kDnsChain, out);
    out += fmt::format("-A {} -p udp -j REDIRECT --to-ports {}\n", kDnsChain, *spec.dns_port);
  }
  if (spec.inbound_port) {
    out += fmt::format("-A {} -p tcp --dport {} -j RETURN\n", kInboundChain, *spec.inbound_port);
    for (uint16_t port : spec.exclude_inbound_ports) {
      out += fmt::format("-A {} -p tcp --dport {} -j RETURN\n", kInboundChain, port);
    }
    out += fmt::format("-A {} -p tcp -j {}\n", kInboundChain, kInRedirectChain);
  }
  out += "COMMIT\n";
  return out;
}

std::vector<std::vector<std::string>> removalCommands() {
  std::vector<std::vector<std::string>> commands;
  for (const Jump& jump : kJumps) {
    std::vector<std::string> cmd = {"iptables", "-w", "-t", "nat", "-D", jump.builtin};
    std::string match = jump.match;
    size_t start = 0;
    while (start < match.size()) {
      size_t end = match.find(' ', start);
      if (end == std::string::npos) end = match.size();
      cmd.push_back(match.substr(start, end - start));
      start = end + 1;
    }
    cmd.push_back("-j");
    cmd.push_back(jump.target);
    commands.push_back(cmd);
  }
  for (const char* chain :
       {kOutputChain, kRedirectChain, kInboundChain, kInRedirectChain, kDnsChain}) {
    commands.push_back({"iptables", "-w", "-t", "nat", "-F", chain});
    commands.push_back({"iptables", "-w", "-t", "nat", "-X", chain});
  }
  return commands;
}

Status removeInterception() {
  // A jump may have been added more than once by hand; delete each until iptables says no.
  for (const auto& cmd : removalCommands()) {
    bool is_jump_delete = cmd.size() > 4 && cmd[4] == "-D";
    for (int i = 0; i < (is_jump_delete ? 8 : 1); ++i) {
      auto r = runCommand(cmd, "");
      if (!r) return tl::unexpected(r.error());
      if (r->exit_code != 0) break;
    }
  }
  return ok();
}

Status applyInterception(const InterceptionSpec& spec) {
  SLUICE_RETURN_IF_ERROR(validate(spec));
  SLUICE_RETURN_IF_ERROR(removeInterception());
  auto r = runCommand({"iptables-restore", "-w", "--noflush"}, renderRestoreScript(spec));
  if (!r) return tl::unexpected(r.error());
  if (r->exit_code != 0) {
    return makeError(
        ErrorCode::kInternal, ErrorSource::kInternal,
        "iptables-restore failed (exit " + std::to_string(r->exit_code) + "): " + r->output);
  }
  return ok();
}

}  // namespace sluice::net
