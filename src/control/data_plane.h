#pragma once
// runDataPlane: the whole life of a `sluice proxy` or `sluice gateway` process, so the CLI only
// parses flags.
//
//   1. SIGTERM/SIGINT/SIGHUP are caught first (a signal during start-up is not lost).
//   2. MeshController loads the config dir and creates the registry watchers.
//   3. ProxyServer starts with the initial snapshot (listeners + admin bound).
//   4. The controller starts watching; once every registry delivered its first list (or failed,
//      or `registry_sync_wait` passed) ONE readiness line goes to `out`:
//        sluice proxy ready: listen 127.0.0.1:15001 admin 127.0.0.1:15000
//        sluice gateway ready: listen 127.0.0.1:18080,127.0.0.1:18443 admin 127.0.0.1:15000
//        sluice proxy ready: listen 127.0.0.1:15001 admin 127.0.0.1:15000 dns 127.0.0.1:15053
//      (real ports when 0 was asked for; "listen none" for a gateway without HTTP servers yet).
//   5. Runs until SIGTERM/SIGINT, then drains: the proxy stops accepting, in-flight requests get
//      up to `drain_grace` to finish; exit code 0. SIGHUP re-reads the config dir.
//
// Exit codes: 0 clean shutdown, 1 start-up failure (bind error, inotify...), 2 usage error
// (unknown registry scheme, missing config dir). Errors are written to `err`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "control/mesh_controller.h"
#include "proxy/dns_proxy.h"
#include "proxy/proxy_server.h"

namespace sluice::control {

struct DataPlaneOptions {
  std::string name = "sluice proxy";  // prefix of the readiness line
  proxy::ProxyOptions proxy;
  // Sidecar DNS proxy (mesh names -> VIPs, the rest forwarded); unset = none. When set, the
  // readiness line ends with " dns H:P".
  std::optional<proxy::DnsProxyOptions> dns;
  // Socket mark of every outbound socket (net/socket_mark.h); unset = unmarked.
  std::optional<uint32_t> upstream_mark;
  ControllerOptions controller;
  std::chrono::milliseconds drain_grace{5000};
  std::chrono::milliseconds registry_sync_wait{3000};
};

int runDataPlane(const DataPlaneOptions& options, std::ostream& out, std::ostream& err);

// The readiness line for `addresses` (step 4 above), without the newline.
std::string readinessLine(const std::string& name, const std::vector<net::HostPort>& listen,
                          const net::HostPort& admin,
                          const std::optional<net::HostPort>& dns = std::nullopt);

}  // namespace sluice::control
