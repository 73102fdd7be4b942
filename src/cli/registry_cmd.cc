// `sluice registry`: embedded registry servers, one per `--protocol NAME` (default: the first
// plug-in of the table, nacos), each on its own `--listen`. Flag wiring only: which protocols
// exist, their flags and servers come from the plug-in table (registry/plugins.h).
#include <fmt/format.h>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"
#include "net/address.h"
#include "registry/plugins.h"

namespace sluice::cli {

namespace {

struct RegistryFlags {
  std::vector<std::string> protocols;
  std::vector<std::string> listens;
  std::map<std::string, std::string> values;    // protocol flag name -> value as given
  std::map<std::string, CLI::Option*> options;  // protocol flag name -> its option
};

struct Served {
  const registry::Plugin* plugin = nullptr;
  net::HostPort listen;
  std::unique_ptr<registry::EmbeddedServer> server;
  net::HostPort bound;
};

std::string protocolsWithServer() {
  std::string out;
  for (const registry::Plugin* p : registry::plugins()) {
    if (!p->server) continue;
    out += out.empty() ? p->name : ", " + p->name;
  }
  return out;
}

// Resolves --protocol/--listen pairs and the protocol flags; prints the error and returns 2 on
// bad usage.
int plan(const RegistryFlags& f, std::vector<Served>& served) {
  std::vector<std::string> protocols = f.protocols;
  if (protocols.empty()) protocols.push_back(registry::plugins().front()->name);
  if (!f.listens.empty() && f.listens.size() != protocols.size()) {
    fmt::print(stderr,
               "sluice registry: {} --protocol and {} --listen: give one --listen per --protocol "
               "(or none for the defaults)\n",
               protocols.size(), f.listens.size());
    return 2;
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < protocols.size(); ++i) {
    const registry::Plugin* plugin = registry::findPlugin(protocols[i]);
    if (plugin == nullptr || !plugin->server) {
      fmt::print(stderr, "sluice registry: --protocol {}: no embedded server for it (have: {})\n",
                 protocols[i], protocolsWithServer());
      return 2;
    }
    if (!seen.insert(plugin->name).second) {
      fmt::print(stderr, "sluice registry: --protocol {} given twice\n", plugin->name);
      return 2;
    }
    std::string listen_text = f.listens.empty() ? plugin->server->default_listen : f.listens[i];
    auto listen = net::parseHostPort(listen_text);
    if (!listen) {
      fmt::print(stderr, "sluice registry: --listen {}: {}\n", listen_text, listen.error().message);
      return 2;
    }
    served.push_back(Served{plugin, *listen, nullptr, {}});
  }
  // A flag of a protocol that is not served would silently do nothing.
  for (const registry::Plugin* p : registry::plugins()) {
    if (!p->server || seen.count(p->name) != 0) continue;
    for (const auto& flag : p->server->flags) {
      auto it = f.options.find(flag.name);
      if (it != f.options.end() && it->second->count() > 0) {
        fmt::print(stderr, "sluice registry: {} is a flag of --protocol {}, which is not served\n",
                   flag.name, p->name);
        return 2;
      }
    }
  }
  return 0;
}

registry::ServerFlagValues flagValues(const RegistryFlags& f, const registry::ServerPlugin& sp) {
  std::map<std::string, std::string> values;
  for (const auto& flag : sp.flags) {
    auto given = f.options.find(flag.name);
    bool is_given = given != f.options.end() && given->second->count() > 0;
    values[flag.name] = is_given ? f.values.at(flag.name) : flag.default_value;
  }
  return registry::ServerFlagValues(std::move(values));
}

int runRegistry(const RegistryFlags& f) {
  // Before the servers, so it is destroyed after them: their sockets and timers belong to it
  // (ASan: heap-use-after-free in every server's destructor on exit when it went first).
  asio::io_context io;
  std::vector<Served> served;
  if (int rc = plan(f, served); rc != 0) return rc;

  for (auto& s : served) {
    auto server = s.plugin->server->make(io, flagValues(f, *s.plugin->server));
    if (!server) {
      fmt::print(stderr, "sluice registry: --protocol {}: {}\n", s.plugin->name,
                 server.error().message);
      return 2;
    }
    s.server = std::move(*server);
    auto bound = s.server->start(s.listen);
    if (!bound) {
      fmt::print(stderr, "sluice registry: --protocol {}: {}\n", s.plugin->name,
                 bound.error().message);
      return 1;
    }
    s.bound = *bound;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const asio::error_code& ec, int signo) {
    if (ec) return;
    SLUICE_LOG_INFO("registry: signal {}, shutting down", signo);
    for (auto& s : served) s.server->stop();
    io.stop();
  });
  // The readiness line(s): one protocol keeps the historical form, several name theirs.
  for (const auto& s : served) {
    if (served.size() == 1) {
      fmt::print("sluice registry listening on {}\n", s.bound.toString());
    } else {
      fmt::print("sluice registry {} listening on {}\n", s.plugin->name, s.bound.toString());
    }
  }
  std::fflush(stdout);
  io.run();
  return 0;
}

}  // namespace

void addRegistryCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<RegistryFlags>();
  std::string servers;
  for (const registry::Plugin* p : registry::plugins()) {
    if (p->server) servers += fmt::format("\n  {:<10} {}", p->name, p->server->description);
  }
  auto* cmd = app.add_subcommand("registry", "Embedded registry servers:" + servers);
  cmd->add_option("--protocol", flags->protocols,
                  fmt::format("Registry protocol to serve; repeat with one --listen each to serve "
                              "several (have: {}; default {})",
                              protocolsWithServer(), registry::plugins().front()->name))
      ->allow_extra_args(false);
  cmd->add_option("--listen", flags->listens,
                  "Address to serve the matching --protocol on (port 0 picks a free one; "
                  "default: the protocol's usual port on 127.0.0.1)")
      ->allow_extra_args(false);
  for (const registry::Plugin* p : registry::plugins()) {
    if (!p->server) continue;
    for (const auto& flag : p->server->flags) {
      if (flags->options.count(flag.name) != 0) continue;  // the table test forbids this
      auto* opt = cmd->add_option(flag.name, flags->values[flag.name], flag.help);
      if (!flag.default_value.empty()) opt->default_str(flag.default_value);
      if (flag.int_range) opt->check(CLI::Range(flag.int_range->first, flag.int_range->second));
      opt->group(fmt::format("{} options", p->name));
      flags->options[flag.name] = opt;
    }
  }
  cmd->callback([flags, &exit_code] { exit_code = runRegistry(*flags); });
}

}  // namespace sluice::cli
