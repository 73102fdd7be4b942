#pragma once
// The sidecar's DNS proxy (Istio's "DNS proxying"): `sluice init-netfilter --dns-port` redirects
// the pod's port-53 traffic here. Names of mesh services are answered locally so applications get
// an address the transparent listener recognises; every other query goes to the real resolver.
//
// Local answers, for every host form of MeshSnapshot::service_by_host (name, name.ns,
// name.ns.svc, FQDN; case-insensitive, trailing dot ignored) whose service has
// - a VIP (registry services): A record with the VIP;
// - ServiceEntry `addresses`: A records for the IPv4 ones, AAAA for the IPv6 ones.
// Any other query type for such a name (AAAA of a VIP-only name, MX...) is NODATA (NOERROR, no
// answer), never NXDOMAIN, so getaddrinfo(AF_UNSPEC) succeeds. Answers carry a 30 s TTL.
//
// Forwarding: the query goes to the first upstream; on timeout (or a send/connect error) to the
// next, in order; when none answered, the client gets SERVFAIL. UDP queries are forwarded over UDP
// with the proxy's own transaction ids (mapped back to the client's), TCP queries over a new TCP
// connection per query; the upstream's response is relayed unchanged (apart from the id), so a
// truncated UDP answer makes the client retry over TCP, which is forwarded over TCP. Upstream
// sockets are marked (net/socket_mark.h) so the interception rules let them out.
//
// Malformed queries: FORMERR when the 12-byte header is readable and it is a query, else dropped
// (TCP: the connection is closed).
//
// Threads: start() spawns one thread running its own asio io_context; every socket, timer and
// the current snapshot live there. publish() posts the new snapshot's name table onto that thread,
// so the query path takes no lock.

#include <chrono>
#include <memory>
#include <vector>

#include "core/result.h"
#include "net/address.h"
#include "proxy/on_demand.h"
#include "proxy/snapshot.h"

namespace sluice::proxy {

struct DnsProxyOptions {
  net::HostPort listen{"127.0.0.1", 15053};  // UDP and TCP on the same address; port 0 = pick
  std::vector<net::HostPort> upstreams;      // empty = nameservers of /etc/resolv.conf (port 53)
  std::chrono::milliseconds upstream_timeout{5000};  // per upstream attempt
  std::string resolv_conf = "/etc/resolv.conf";      // tests point it elsewhere
  // On-demand loading (proxy/on_demand.h): a query for a name no snapshot service has asks
  // control to load it and waits at most `service_load_wait`, then answers from the new
  // snapshot or forwards as usual. Empty = off.
  ServiceLoad service_load;
  std::chrono::milliseconds service_load_wait{1000};
};

// Counters for tests and /stats (read from any thread; relaxed).
struct DnsProxyStats {
  uint64_t local_answers = 0;  // answered from the snapshot (including NODATA)
  uint64_t forwarded = 0;      // queries sent upstream
  uint64_t servfail = 0;       // no upstream answered
  uint64_t format_errors = 0;  // FORMERR sent or packet dropped
  uint64_t loads = 0;          // names asked of control (on-demand loading)
};

class DnsProxy {
 public:
  DnsProxy();
  ~DnsProxy();  // stops
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  // Binds UDP and TCP on options.listen (the TCP port follows the UDP one when port is 0), opens
  // the marked upstream sockets, and starts the thread. Errors: kInvalidArgument (listen address
  // not an IP, an upstream not an IP), kIo (bind/mark failure), kAlreadyExists (started twice).
  // No upstream at all (none given, none in resolv.conf) is not an error: mesh names are still
  // answered and everything else gets SERVFAIL (logged once at start).
  Status start(const DnsProxyOptions& options, std::shared_ptr<const MeshSnapshot> initial);

  // Replaces the snapshot the answers come from. Any thread, non-blocking (the name table is
  // built on the caller's thread, then handed over with post()). Call after start(); a no-op
  // before start or after stop. Queries already being answered keep the old answers.
  void publish(std::shared_ptr<const MeshSnapshot> snapshot);

  // The UDP/TCP address actually bound (port filled in when 0 was asked); empty before start().
  net::HostPort boundAddress() const;

  // The upstreams in use (after reading resolv.conf); fixed after start().
  std::vector<net::HostPort> upstreams() const;

  DnsProxyStats stats() const;

  // Closes the sockets, fails nothing in flight (clients time out), joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The `nameserver` lines of a resolv.conf text, as IP:53 (scoped IPv6 and junk lines skipped).
std::vector<net::HostPort> parseResolvConf(std::string_view text);

}  // namespace sluice::proxy
