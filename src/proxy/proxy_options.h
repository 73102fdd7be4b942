#pragma once
// What a data-plane process is told at start (flags of `sluice proxy` / `sluice gateway`). Its own
// header so the worker (proxy/worker.h) and the server (proxy/proxy_server.h) can both read it
// without including each other. Plain data: copied once at start, read-only afterwards.

#include <chrono>
#include <string>
#include <vector>

#include "http/codec.h"
#include "net/address.h"
#include "proxy/on_demand.h"
#include "proxy/registry_refresh.h"

namespace sluice::proxy {

struct ProxyOptions {
  enum class Mode { kSidecar, kGateway };
  Mode mode = Mode::kSidecar;
  std::vector<net::HostPort> listen;  // sidecar: the explicit-proxy port(s); port 0 = pick one
  // sidecar: transparent listener(s) for intercepted traffic (proxy/transparent.h)
  std::vector<net::HostPort> transparent_listen;
  // sidecar: inbound listener(s) for traffic redirected to the pod (relayed to the application)
  std::vector<net::HostPort> inbound_listen;
  int port_offset = 0;  // gateway: server port N listens on N + port_offset
  // gateway: every server port listens on a port the kernel picks (tests; gateway_ports.h)
  bool ephemeral_gateway_ports = false;
  std::string listen_host = "127.0.0.1";  // gateway
  net::HostPort admin{"127.0.0.1", 0};
  int concurrency = 1;
  bool access_log = false;   // one Envoy-like line per request on stdout
  std::string service_node;  // source workload name for metrics ("consumer"); "" = "unknown"
  http::Limits limits;
  // Downstream connection timeouts (Envoy's idle_timeout and a request-headers timeout): a
  // keep-alive connection with no request for `idle_timeout` is closed; a request head not
  // complete `request_headers_timeout` after its first byte gets 408 and the connection closes
  // (slow-header clients cannot hold connections forever). 0 = no timeout.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
  std::chrono::milliseconds request_headers_timeout{std::chrono::seconds(60)};
  // Overload protection: at this many open downstream connections (all listeners, all workers),
  // the accepting worker closes its oldest idle connection to make room for a new one, or, with
  // none idle, accepts the new one and closes it at once; both counted. 0 = no cap.
  uint32_t max_downstream_connections = 0;
  // Heap overload (proxy/overload.h): from this many bytes of heap in use on, new downstream
  // connections are refused, keep-alive ends and idle connections are closed, oldest first,
  // until the heap is under the cap again. 0 = no cap (and no sampling).
  uint64_t overload_max_heap_bytes = 0;
  // Method 1: a request to an address inside the pod CIDRs that no known instance has first asks
  // for a registry re-read and waits for it at most `registry_refresh_wait` (0 = never; then it
  // is passed through at once). See proxy/registry_refresh.h.
  RegistryRefresh registry_refresh;
  std::chrono::milliseconds registry_refresh_wait{1000};
  // Services loaded on first use (proxy/on_demand.h): a request for a host name the snapshot
  // does not know asks control to load it and waits at most `service_load_wait` (0 = never).
  // Empty callback = the snapshot holds the whole mesh (or a Sidecar's scope): never asked.
  ServiceLoad service_load;
  std::chrono::milliseconds service_load_wait{1000};
};

}  // namespace sluice::proxy
