// Gateways: one listener per Gateway server port, with the VirtualServices bound to it merged per
// host.
#include <fmt/format.h>

#include <map>

#include "control/snapshot/builder.h"
#include "core/strings.h"

namespace sluice::control::snapshot {

using proxy::GatewayListener;
using proxy::Route;
using proxy::VirtualHost;

void Builder::buildGatewayListeners() {
  struct ServerRef {
    std::string gateway;  // ns/name
    const config::Server* server;
  };
  std::map<uint32_t, std::vector<ServerRef>> by_port;
  for (const auto& gw : in_.config.gateways) {
    std::string gname = gw.meta.ns + "/" + gw.meta.name;
    for (const auto& s : gw.servers) {
      if (!s.port) continue;
      const std::string& proto = s.port->protocol;
      if (proto != "HTTP" && proto != "HTTP2" && proto != "GRPC") {
        diag(
            fmt::format("{}Gateway {}: server port {} protocol {} is not served (only plain "
                        "HTTP gateway servers are supported)",
                        where(s.pos), gname, s.port->number, proto));
        continue;
      }
      by_port[s.port->number].push_back({gname, &s});
    }
  }
  for (const auto& [port, servers] : by_port) {
    GatewayListener gl;
    gl.port = port;
    gl.protocol = servers.front().server->port->protocol;
    gl.routes.name = fmt::format("gateway:{}", port);
    // domain -> index into gl.routes.vhosts (VirtualServices on one gateway host are merged)
    std::map<std::string, size_t> vhost_of;
    std::vector<std::vector<Route>> catch_alls;  // per vhost: rules moved to the end
    for (const auto& ref : servers) {
      if (!contains(gl.gateways, ref.gateway)) gl.gateways.push_back(ref.gateway);
      if (ref.server->tls && ref.server->tls->https_redirect) gl.https_redirect = true;
    }
    for (const auto& vs : in_.config.virtual_services) {
      auto gws = normalizeGateways(vs.gateways, vs.meta.ns);
      for (const auto& ref : servers) {
        bool bound = contains(gws, ref.gateway);
        for (const auto& hr : vs.http) {
          for (const auto& m : hr.match) {
            if (contains(normalizeGateways(m.gateways, vs.meta.ns), ref.gateway) &&
                !m.gateways.empty()) {
              bound = true;
            }
          }
        }
        if (!bound) continue;
        std::vector<Route> routes = compileRoutes(vs, ref.gateway);
        bool any_host = false;
        for (const auto& vs_host_raw : vs.hosts_fqdn) {
          std::string vs_host = toLower(vs_host_raw);
          for (const auto& server_host_raw : ref.server->hosts) {
            std::string_view sh = server_host_raw;
            auto slash = sh.find('/');
            if (slash != std::string_view::npos) {
              std::string_view ns = sh.substr(0, slash);
              if (ns != "*" &&
                  !(ns == "." && vs.meta.ns == ref.gateway.substr(0, ref.gateway.find('/'))) &&
                  ns != vs.meta.ns) {
                continue;
              }
              sh = sh.substr(slash + 1);
            }
            std::string server_host = toLower(sh);
            if (!hostsOverlap(server_host, vs_host)) continue;
            any_host = true;
            // The narrower of the two names is what the gateway serves.
            std::string domain = hostCovers(server_host, vs_host) ? vs_host : server_host;
            auto it = vhost_of.find(domain);
            if (it == vhost_of.end()) {
              VirtualHost vh;
              vh.name = fmt::format("{}:{}", domain, port);
              vh.domains.push_back(domain);
              vh.from_virtual_service = true;
              gl.routes.vhosts.push_back(std::move(vh));
              catch_alls.emplace_back();
              it = vhost_of.emplace(domain, gl.routes.vhosts.size() - 1).first;
            }
            auto& vh = gl.routes.vhosts[it->second];
            for (const auto& r : routes) {
              // Merged VirtualServices keep their order; catch-all rules go last.
              if (r.matches.empty())
                catch_alls[it->second].push_back(r);
              else
                vh.routes.push_back(r);
            }
            break;
          }
        }
        if (!any_host) {
          diag(
              fmt::format("{}VirtualService {}: none of its hosts is served by Gateway {} "
                          "[IST0132]",
                          where(vs.meta.pos), vsName(vs), ref.gateway));
        }
      }
    }
    for (size_t i = 0; i < gl.routes.vhosts.size(); ++i) {
      for (auto& r : catch_alls[i]) gl.routes.vhosts[i].routes.push_back(std::move(r));
    }
    gl.routes.index();
    snap_->gateway_listeners.push_back(std::move(gl));
  }
}

}  // namespace sluice::control::snapshot
