#pragma once
// `sluice demo-app provider|consumer`: the seed's two Spring Cloud applications, behaving on the
// wire like Spring Cloud Alibaba apps with nacos-client 1.x (HTTP v1):
//
//   provider  registers <service> in Nacos with metadata {label, version,
//             preserved.register.source=SPRING_CLOUD}, beats (5 s, or what the server says),
//             serves GET /echo/{s} -> "Hello Nacos Discovery From <version>{s}", deregisters on
//             SIGTERM/SIGINT.
//   consumer  registers itself the same way and serves GET /echo/{s} by looking up the
//             provider's instances in Nacos (cache refreshed every ~1 s), round-robining over the
//             healthy ones and calling http://ip:port/echo/{s}; 502 with a clear text when there
//             is no instance or the call fails.
//
// The consumer knows nothing of the mesh: when http_proxy (or HTTP_PROXY) is set it sends its
// provider calls through that proxy in absolute-form, like a JVM with http.proxyHost; hosts in
// no_proxy/NO_PROXY go direct. Registry calls always go direct (http.nonProxyHosts).
//
// Both print "demo-app <role> <service> <version> listening on IP:PORT" on stdout once they
// are registered and serving.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/address.h"

namespace sluice::demo {

struct DemoAppOptions {
  std::string role;     // "provider" or "consumer"
  std::string service;  // name registered in Nacos
  std::string version = "v1";
  std::string ip = "127.0.0.1";  // listen and register on this address
  int port = 0;                  // 0 picks a free port (the real one is registered)
  std::string registry = "127.0.0.1:8848";
  std::string namespace_id = "public";
  std::string group = "DEFAULT_GROUP";
  std::string provider = "service-provider";  // consumer: the service it calls
  int beat_interval_ms = 5000;                // until the server says otherwise
  int refresh_ms = 1000;                      // consumer: instance cache refresh
  int call_timeout_ms = 5000;                 // consumer: provider call timeout
};

// Runs until SIGTERM/SIGINT; returns the process exit code (0 after a clean shutdown, 1 when it
// cannot listen or register, 2 for bad options).
int runDemoApp(const DemoAppOptions& options);

// The proxy a JVM/curl-like client would use from the environment: http_proxy, then HTTP_PROXY
// ("http://host:port", "host:port"). nullopt when unset or empty; an error for junk.
Result<std::optional<net::HostPort>> proxyFromEnvironment();
// True when `host` (or host:port) matches the no_proxy list: "*", exact names/IPs, host:port
// entries, and domain suffixes (".example.com" or "example.com" match sub.example.com).
bool bypassesProxy(std::string_view no_proxy, std::string_view host, uint16_t port);

}  // namespace sluice::demo
