// Gateway: servers, hosts, ports, protocols and TLS settings.

#include <map>
#include <set>

#include "config/names.h"
#include "config/validate/rules.h"

namespace sluice::config::validation {

void validateGateway(ConfigSet& set, const Gateway& gw) {
  DiagnosticReporter r(set.diagnostics, gw.meta);
  if (gw.servers.empty()) r.error({}, "spec.servers", "gateway must have at least one server");
  checkLabels(r, gw.selector, gw.meta.pos, "spec.selector");
  static const std::set<std::string> kProtocols = {"HTTP",  "HTTPS", "GRPC",  "GRPC-WEB", "HTTP2",
                                                   "MONGO", "REDIS", "MYSQL", "TCP",      "TLS"};
  std::map<std::string, size_t> port_names;
  for (size_t i = 0; i < gw.servers.size(); ++i) {
    const auto& s = gw.servers[i];
    const std::string path = fmt::format("spec.servers[{}]", i);
    if (s.hosts.empty()) {
      r.error(s.pos, path + ".hosts", "server config must contain at least one host");
    }
    for (size_t k = 0; k < s.hosts.size(); ++k) {
      const std::string hp = fmt::format("{}.hosts[{}]", path, k);
      std::string_view host = s.hosts[k];
      auto slash = host.find('/');
      if (slash != std::string_view::npos) {
        auto ns = host.substr(0, slash);
        host = host.substr(slash + 1);
        if (ns.empty() || host.empty()) {
          r.error(s.pos, hp, "config namespace and dnsName in host entry cannot be empty");
          continue;
        }
        if (ns != "*" && ns != "." && !isDns1123Label(ns)) {
          r.error(s.pos, hp, fmt::format("invalid namespace value \"{}\" in gateway", ns));
          continue;
        }
      }
      if (host == "*") continue;
      if (host.find('.') == std::string_view::npos && !isIpAddress(host)) {
        r.error(s.pos, hp, "short names (non FQDN) are not allowed");
        continue;
      }
      if (auto problem = checkHost(host)) r.error(s.pos, hp, *problem);
    }
    if (!s.port) {
      r.error(s.pos, path + ".port", "port is required");
      continue;
    }
    const auto& port = *s.port;
    const bool unix_bind = s.bind.starts_with("unix://");
    if (port.number == 0 && !unix_bind) {
      r.error(s.pos, path + ".port.number", "port number 0 must be in the range 1..65535");
    } else if (port.number != 0 && unix_bind) {
      r.error(s.pos, path + ".port.number",
              fmt::format("port number must be 0 for unix domain socket: {}", port.number));
    }
    if (port.name.empty()) {
      r.error(s.pos, path + ".port.name", fmt::format("port name must be set: {}", port.number));
    } else {
      auto [it, inserted] = port_names.emplace(port.name, i);
      if (!inserted) {
        r.error(s.pos, path + ".port.name",
                fmt::format("port names in servers must be unique: duplicate name {}", port.name));
      }
    }
    if (!kProtocols.count(port.protocol)) {
      r.error(s.pos, path + ".port.protocol",
              fmt::format("invalid protocol \"{}\", supported protocols are HTTP, HTTP2, GRPC, "
                          "GRPC-WEB, MONGO, REDIS, MYSQL, TCP, HTTPS, TLS",
                          port.protocol));
      continue;
    }
    const bool tls_proto = port.protocol == "HTTPS" || port.protocol == "TLS";
    if (tls_proto && !s.tls) {
      r.error(s.pos, path + ".tls", "server must have TLS settings for HTTPS/TLS protocols");
    } else if (s.tls && !tls_proto) {
      const bool redirect_only = s.tls->https_redirect && s.tls->mode.empty() &&
                                 s.tls->server_certificate.empty() &&
                                 s.tls->credential_name.empty();
      if (!redirect_only) {
        r.error(s.tls->pos, path + ".tls",
                port.protocol == "HTTP"
                    ? "server cannot have TLS settings for plain text HTTP ports"
                    : "server cannot have TLS settings for non HTTPS/TLS ports");
      }
    }
    if (s.tls && s.tls->https_redirect && port.protocol != "HTTP") {
      r.warn(s.tls->pos, path + ".tls.httpsRedirect",
             "tls.httpsRedirect should only be used with http servers");
    }
    if (s.tls && tls_proto && s.tls->credential_name.empty()) {
      const auto& t = *s.tls;
      if (t.mode == "SIMPLE" || t.mode == "MUTUAL") {
        if (t.server_certificate.empty()) {
          r.error(t.pos, path + ".tls.serverCertificate",
                  fmt::format("{} TLS requires a server certificate", t.mode));
        }
        if (t.private_key.empty()) {
          r.error(t.pos, path + ".tls.privateKey",
                  fmt::format("{} TLS requires a private key", t.mode));
        }
        if (t.mode == "MUTUAL" && t.ca_certificates.empty()) {
          r.error(t.pos, path + ".tls.caCertificates", "MUTUAL TLS requires a client CA bundle");
        }
      }
    }
  }
}

}  // namespace sluice::config::validation
