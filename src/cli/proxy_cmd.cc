// `sluice proxy` (sidecar, explicit proxy) and `sluice gateway` (ingress from Gateway resources):
// flag wiring only; the process logic is control::runDataPlane.
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "control/data_plane.h"
#include "net/address.h"
#include "registry/plugins.h"

namespace sluice::cli {

namespace {

// CLI11 validator: "host:port" as net::parseHostPort understands it.
const CLI::Validator kHostPort(
    [](std::string& text) -> std::string {
      auto hp = net::parseHostPort(text);
      return hp ? std::string() : hp.error().message;
    },
    "HOST:PORT");

net::HostPort hostPort(const std::string& text) {
  auto hp = net::parseHostPort(text);
  if (!hp) throw CLI::ValidationError(text, hp.error().message);
  return *hp;
}

struct CommonFlags {
  std::string config_dir;
  std::string admin = "127.0.0.1:15000";
  std::vector<std::string> registries;
  int concurrency = 1;
  bool access_log = false;
  std::string ns = "default";
  std::string service_node;
  int drain_ms = 5000;
  std::vector<std::string> workload_labels;
  int64_t idle_timeout_ms = 3'600'000;
  int64_t request_headers_timeout_ms = 60'000;
  uint32_t max_downstream_connections = 0;
  uint64_t overload_max_heap_bytes = 0;
  int64_t registry_refresh_wait_ms = 1000;
};

void addCommon(CLI::App& cmd, CommonFlags& f, bool config_required) {
  auto* config = cmd.add_option("--config", f.config_dir,
                                "Directory of Istio YAML (watched and hot-reloaded)");
  config->check(CLI::ExistingDirectory);
  if (config_required) config->required();
  cmd.add_option("--admin", f.admin, "Admin endpoint address (port 0 picks one)")
      ->check(kHostPort)
      ->capture_default_str();
  cmd.add_option("--registry", f.registries,
                 "Registry to watch, repeatable: " + registry::supportedUrls());
  cmd.add_option("--registry-refresh-wait-ms", f.registry_refresh_wait_ms,
                 "A request to an address inside the reverse-DNS pod_cidrs that no known instance "
                 "has first re-reads the registries, waiting at most this long (0 = pass it "
                 "through at once)")
      ->check(CLI::Range(int64_t{0}, int64_t{10'000}))
      ->capture_default_str();
  cmd.add_option("--concurrency", f.concurrency, "Worker threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd.add_flag("--access-log", f.access_log, "One access-log line per request on stdout");
  cmd.add_option("--namespace", f.ns,
                 "Namespace of registry services, of short names and of this workload "
                 "(sourceNamespace)")
      ->capture_default_str();
  cmd.add_option("--service-node", f.service_node, "This workload's name (metrics labels)");
  cmd.add_option("--drain-timeout-ms", f.drain_ms,
                 "On SIGTERM/SIGINT, how long in-flight requests may take to finish")
      ->check(CLI::Range(0, 600'000))
      ->capture_default_str();
  cmd.add_option("--workload-labels", f.workload_labels,
                 "This workload's labels, KEY=VALUE (repeatable or comma-separated): what "
                 "VirtualService sourceLabels and Sidecar workloadSelector select on")
      ->delimiter(',')
      ->check([](const std::string& kv) -> std::string {
        auto eq = kv.find('=');
        return eq == std::string::npos || eq == 0 ? "expected KEY=VALUE, got '" + kv + "'" : "";
      });
  cmd.add_option("--idle-timeout-ms", f.idle_timeout_ms,
                 "Close a downstream keep-alive connection after this long without a request "
                 "(0 = never)")
      ->check(CLI::Range(int64_t{0}, int64_t{86'400'000}))
      ->capture_default_str();
  cmd.add_option("--max-downstream-connections", f.max_downstream_connections,
                 "At this many open downstream connections, close the oldest idle keep-alive one "
                 "to make room for a new one, or refuse the new one (accept and close at once) "
                 "when none is idle; counted in sluice_overload_idle_connections_closed_total"
                 "{reason=\"max_connections\"} and sluice_downstream_connections_overflow_total "
                 "(0 = no cap)")
      ->capture_default_str();
  cmd.add_option("--overload-max-heap-bytes", f.overload_max_heap_bytes,
                 "Overload protection: from this many bytes of heap in use on (sampled every "
                 "100 ms), refuse new downstream connections, end keep-alive and close idle "
                 "connections oldest first until the heap is under 95% of it again; "
                 "sluice_overload_* metrics (0 = no cap)")
      ->capture_default_str();
  cmd.add_option("--request-headers-timeout-ms", f.request_headers_timeout_ms,
                 "Answer 408 and close when a request head is not complete this long after its "
                 "first byte (0 = never)")
      ->check(CLI::Range(int64_t{0}, int64_t{3'600'000}))
      ->capture_default_str();
}

control::DataPlaneOptions baseOptions(const CommonFlags& f, const char* name) {
  control::DataPlaneOptions o;
  o.name = name;
  o.proxy.admin = hostPort(f.admin);
  o.proxy.concurrency = f.concurrency;
  o.proxy.access_log = f.access_log;
  o.proxy.service_node = f.service_node;
  o.proxy.idle_timeout = std::chrono::milliseconds(f.idle_timeout_ms);
  o.proxy.max_downstream_connections = f.max_downstream_connections;
  o.proxy.overload_max_heap_bytes = f.overload_max_heap_bytes;
  o.proxy.request_headers_timeout = std::chrono::milliseconds(f.request_headers_timeout_ms);
  o.proxy.registry_refresh_wait = std::chrono::milliseconds(f.registry_refresh_wait_ms);
  o.controller.config_dir = f.config_dir;
  o.controller.registry_urls = f.registries;
  o.controller.default_namespace = f.ns;
  for (const auto& kv : f.workload_labels) {
    auto eq = kv.find('=');
    o.controller.workload_labels[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  o.drain_grace = std::chrono::milliseconds(f.drain_ms);
  return o;
}

}  // namespace

void addProxyCommands(CLI::App& app, int& exit_code) {
  // Flag storage must outlive parsing: owned by the callbacks through shared_ptr.
  {
    auto f = std::make_shared<CommonFlags>();
    struct SidecarFlags {
      std::vector<std::string> listen;
      std::vector<std::string> transparent;
      std::vector<std::string> inbound;
      std::string dns_listen;
      std::vector<std::string> dns_upstreams;
      std::string vip_cidr;
      std::optional<uint32_t> upstream_mark;
      std::string load_services = "all";
      int64_t load_wait_ms = 1000;
    };
    auto sf = std::make_shared<SidecarFlags>();
    auto* cmd = app.add_subcommand(
        "proxy",
        "Sidecar: applies VirtualService/DestinationRule routing to the pod's outbound traffic, "
        "as an explicit HTTP proxy (--listen) and/or transparently (--transparent-listen, after "
        "`sluice init-netfilter`)");
    addCommon(*cmd, *f, /*config_required=*/false);
    cmd->add_option("--listen", sf->listen,
                    "Explicit-proxy listen address, repeatable (port 0 picks one); default "
                    "127.0.0.1:15001 unless --transparent-listen is given")
        ->check(kHostPort);
    cmd->add_option("--transparent-listen", sf->transparent,
                    "Transparent listener for traffic redirected by `sluice init-netfilter` "
                    "(original destination, HTTP sniffing, TCP passthrough), repeatable")
        ->check(kHostPort);
    cmd->add_option("--inbound-listen", sf->inbound,
                    "Inbound listener for traffic redirected into the pod (`init-netfilter "
                    "--inbound-port`; bind 0.0.0.0:PORT since REDIRECT targets the pod address): "
                    "relayed to the application it was addressed to")
        ->check(kHostPort);
    cmd->add_option("--dns-listen", sf->dns_listen,
                    "DNS proxy address (UDP+TCP): mesh names answered with VIPs, the rest "
                    "forwarded; unset = no DNS proxy")
        ->check(kHostPort);
    cmd->add_option("--dns-upstream", sf->dns_upstreams,
                    "Resolver the DNS proxy forwards to, repeatable (IP:PORT); default: the "
                    "nameservers of /etc/resolv.conf")
        ->check(kHostPort);
    cmd->add_option("--vip-cidr", sf->vip_cidr,
                    "IPv4 range of the virtual IPs given to mesh services (stable per service); "
                    "default 240.240.0.0/16 when --dns-listen is set");
    cmd->add_option("--upstream-mark", sf->upstream_mark,
                    "Socket mark of every connection the sidecar makes (pair with "
                    "`init-netfilter --proxy-mark`; needs CAP_NET_ADMIN)");
    cmd->add_option("--load-services", sf->load_services,
                    "Without an Istio Sidecar resource selecting this sidecar: `all` holds every "
                    "registry service (Istio's default), `on-demand` loads a service (and its "
                    "VirtualServices/DestinationRules) on its first request or DNS query; a "
                    "reverse-DNS EnvoyFilter (pod_cidrs) keeps the whole mesh")
        ->check(CLI::IsMember({"all", "on-demand"}))
        ->capture_default_str();
    cmd->add_option("--load-wait-ms", sf->load_wait_ms,
                    "With --load-services=on-demand: how long a request (or DNS query) for a "
                    "service not loaded yet waits for the registry before it is answered as an "
                    "unknown name")
        ->check(CLI::Range(int64_t{1}, int64_t{10'000}))
        ->capture_default_str();
    cmd->callback([f, sf, &exit_code] {
      auto o = baseOptions(*f, "sluice proxy");
      o.controller.load_on_demand = sf->load_services == "on-demand";
      o.proxy.service_load_wait = std::chrono::milliseconds(sf->load_wait_ms);
      o.proxy.mode = proxy::ProxyOptions::Mode::kSidecar;
      if (sf->listen.empty() && sf->transparent.empty() && sf->inbound.empty()) {
        sf->listen.push_back("127.0.0.1:15001");
      }
      for (const auto& l : sf->inbound) o.proxy.inbound_listen.push_back(hostPort(l));
      for (const auto& l : sf->listen) o.proxy.listen.push_back(hostPort(l));
      for (const auto& l : sf->transparent) o.proxy.transparent_listen.push_back(hostPort(l));
      std::string vip_cidr = sf->vip_cidr;
      if (vip_cidr.empty() && !sf->dns_listen.empty()) vip_cidr = "240.240.0.0/16";
      if (!vip_cidr.empty()) {
        auto cidr = net::Cidr::parse(vip_cidr);
        if (!cidr) throw CLI::ValidationError("--vip-cidr", cidr.error().message);
        o.controller.vip_range = *cidr;
      }
      if (!sf->dns_listen.empty()) {
        proxy::DnsProxyOptions dns;
        dns.listen = hostPort(sf->dns_listen);
        for (const auto& u : sf->dns_upstreams) dns.upstreams.push_back(hostPort(u));
        o.dns = dns;
      }
      o.upstream_mark = sf->upstream_mark;
      if (!sf->transparent.empty() && !sf->upstream_mark) {
        std::cerr << "sluice proxy: warning: --transparent-listen without --upstream-mark: the "
                     "interception rules must exempt the sidecar by uid (init-netfilter "
                     "--proxy-uid), or its own connections loop back into it\n";
      }
      exit_code = control::runDataPlane(o, std::cout, std::cerr);
    });
  }
  {
    auto f = std::make_shared<CommonFlags>();
    auto port_offset = std::make_shared<int>(0);
    auto listen_host = std::make_shared<std::string>("127.0.0.1");
    auto ephemeral_ports = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand(
        "gateway",
        "Ingress gateway: listeners from Gateway resources, routes from VirtualServices");
    addCommon(*cmd, *f, /*config_required=*/true);
    cmd->add_option("--port-offset", *port_offset,
                    "Gateway server port N listens on N + offset (e.g. 80 -> 18080 with 18000)")
        ->check(CLI::Range(-65535, 65535))
        ->capture_default_str();
    cmd->add_option("--listen-host", *listen_host, "Address the gateway listeners bind")
        ->capture_default_str();
    cmd->add_flag("--ephemeral-ports", *ephemeral_ports,
                  "Every Gateway server port listens on a port the kernel picks (instead of "
                  "N + offset); the readiness line lists them in server port order");
    cmd->callback([f, port_offset, listen_host, ephemeral_ports, &exit_code] {
      auto o = baseOptions(*f, "sluice gateway");
      o.proxy.mode = proxy::ProxyOptions::Mode::kGateway;
      o.controller.gateway = true;
      o.proxy.port_offset = *port_offset;
      o.proxy.listen_host = *listen_host;
      o.proxy.ephemeral_gateway_ports = *ephemeral_ports;
      exit_code = control::runDataPlane(o, std::cout, std::cerr);
    });
  }
}

}  // namespace sluice::cli
