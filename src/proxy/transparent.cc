#include "proxy/transparent.h"

#include <fmt/format.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "net/outbound_connect.h"
#include "net/own_socket.h"
#include "proxy/connection_manager.h"
#include "proxy/filters/registry_interception.h"
#include "proxy/grpc_interception.h"
#include "proxy/protocol_sniffer.h"
#include "proxy/service_resolver.h"
#include "proxy/socket_timer.h"
#include "proxy/tcp_relay.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;

// IP6T_SO_ORIGINAL_DST (linux/netfilter_ipv6/ip6_tables.h pulls in kernel-only headers).
constexpr int kIp6OriginalDst = 80;

auto withEc(asio::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Reads once, giving up after `wait` (ec = timed_out when nothing came).
awaitable<size_t> readWithin(tcp::socket& s, asio::mutable_buffer buf,
                             std::chrono::steady_clock::duration wait, asio::error_code& ec) {
  SocketTimer timer(s.get_executor());
  timer.arm(std::chrono::steady_clock::now() + wait, s, SocketTimer::Expiry::kCancel);
  size_t n = co_await s.async_read_some(buf, withEc(ec));
  timer.disarm();
  if (timer.fired() && n == 0) ec = asio::error::timed_out;
  co_return n;
}

// The original destination points into the mesh: a service VIP, a registry instance known to
// reverse DNS, or a port registry interception applies to. Such clients speak first (HTTP).
bool meshHttpDestination(const MeshSnapshot& snap, const tcp::endpoint& dst) {
  return resolveDialled(snap, dst).has_value() || registryInterceptionPort(snap, dst.port());
}

// Where a non-HTTP connection goes. Behind a service VIP: the first of the service's
// VirtualService `tcp` routes that applies picks a weighted destination cluster, whose load
// balancer picks the endpoint; without one, the service's own endpoints (same port first).
// Anything else: the original destination.
struct TcpUpstream {
  std::string host;  // IP, or a DNS name (ServiceEntry resolution DNS), resolved when dialling
  uint16_t port = 0;
  ClusterState* cluster = nullptr;  // acquired endpoint (released when the connection ends)
  EndpointState* endpoint = nullptr;
  std::string label;  // for logs: "ip:port (cluster)"
};

std::optional<TcpUpstream> planTcp(Worker& w, const std::shared_ptr<const MeshSnapshot>& snap,
                                   const tcp::endpoint& dst, std::string& why) {
  TcpUpstream up;
  // TCP routes apply to connections to a service's address (VIP or ServiceEntry address) only.
  auto dialled_service = resolveDialled(*snap, dst);
  const MeshService* svc = dialled_service && dialled_service->via == DialledService::Via::kVip
                               ? dialled_service->service
                               : nullptr;
  if (svc == nullptr) {
    up.host = dst.address().to_string();
    up.port = dst.port();
    up.label = fmt::format("{}:{}", up.host, up.port);
    return up;
  }
  auto dialled = net::IpAddress::parse(dst.address().to_string());
  for (const auto& route : svc->tcp_routes) {
    if (!dialled || !route.applies(*dialled, dst.port())) continue;
    const WeightedCluster* d =
        route.pick(route.total_weight > 0 ? w.rng()() % route.total_weight : 0);
    if (d == nullptr || d->cluster < 0) {
      why = fmt::format("{}: {}", route.source, d == nullptr ? "no destination" : d->missing);
      return std::nullopt;
    }
    const Cluster& c = snap->clusters[d->cluster];
    ClusterState* cs =
        snap == w.snapshot() ? &w.clusterState(d->cluster) : w.clusterStateByName(c.name);
    if (cs == nullptr) {
      why = "cluster went away during a configuration update";
      return std::nullopt;
    }
    EndpointState* ep = cs->pick(PickContext{}, std::chrono::steady_clock::now());
    if (ep == nullptr) {
      why = fmt::format("no healthy upstream in {}", c.name);
      return std::nullopt;
    }
    cs->acquire(*ep);
    up.host = ep->endpoint.ip;
    up.port = ep->endpoint.port;
    up.cluster = cs;
    up.endpoint = ep;
    up.label = fmt::format("{} ({})", ep->address, c.name);
    return up;
  }
  std::vector<const Endpoint*> same_port;
  std::vector<const Endpoint*> any;
  for (const auto& ep : svc->endpoints) {
    if (!ep.healthy) continue;
    any.push_back(&ep);
    if (ep.port == dst.port()) same_port.push_back(&ep);
  }
  const auto& pool = same_port.empty() ? any : same_port;
  if (pool.empty()) {
    why = fmt::format("no healthy endpoint of {} for TCP", svc->fqdn);
    return std::nullopt;
  }
  const Endpoint* ep = pool[w.rng()() % pool.size()];
  up.host = ep->ip;
  up.port = ep->port;
  up.label = fmt::format("{} ({})", ep->address(), svc->fqdn);
  return up;
}

// Registry interception over TCP: the state of the one connection, and what it did for the stats
// and the log when the connection ends.
struct StreamInterception {
  std::unique_ptr<net::StreamRewriter> rewriter;
  std::string registry;
};

awaitable<void> proxyTcp(Worker& w, tcp::socket down, std::string received, bool client_done,
                         TcpUpstream target, StreamInterception intercept) {
  ++w.stats().tcp_connections_total;
  net::StreamRewriter* rw = intercept.rewriter.get();
  // Counted as it happens (a registry session lasts as long as its application).
  int counted = 0;
  bool gave_up = false;
  std::function<void()> progress;
  if (rw != nullptr) {
    ++w.stats().registry_stream_connections_total;
    progress = [&w, rw, &counted, &gave_up, &intercept, &target] {
      int now = rw->rewritten();
      w.stats().registry_stream_records_rewritten_total += static_cast<uint64_t>(now - counted);
      counted = now;
      if (gave_up || !rw->passthrough()) return;
      gave_up = true;
      ++w.stats().registry_stream_passthrough_total;
      // Never a broken session: from the first frame the rewriter could not follow on, the
      // bytes go through as they came.
      SLUICE_LOG_WARN(
          "{} interception: connection to {}: an unknown or malformed frame; relayed unmodified "
          "from here on ({} instance records rewritten before)",
          intercept.registry, target.label, now);
    };
    rw->fromClient(received);  // the sniffed bytes are the first requests
    progress();
  }
  struct Release {
    const TcpUpstream& t;
    ~Release() {
      if (t.cluster != nullptr) t.cluster->release(*t.endpoint);
    }
  } release{target};
  tcp::socket up(w.io());
  auto handle = w.addConnection([&down, &up](bool force) {
    if (!force) return;  // a byte stream has no request boundary to drain at
    asio::error_code ignored;
    down.close(ignored);
    up.close(ignored);
  });
  asio::error_code ec;
  {
    SocketTimer timer(w.io().get_executor());
    timer.arm(std::chrono::steady_clock::now() + kTcpConnectTimeout, up);
    ec = co_await net::connectOutbound(up, target.host, target.port);
    timer.disarm();
    if (timer.fired()) ec = asio::error::timed_out;
  }
  if (target.cluster != nullptr) {
    target.cluster->recordResult(*target.endpoint, ec ? 503 : 200, static_cast<bool>(ec),
                                 std::chrono::steady_clock::now());
  }
  if (!ec && !received.empty()) {
    co_await asio::async_write(up, asio::buffer(received), withEc(ec));
  }
  if (ec) {
    ++w.stats().tcp_connect_failures_total;
    SLUICE_LOG_WARN("tcp to {}: {}", target.label, ec.message());
  } else if (client_done) {
    // The client already finished sending: pass its EOF on, relay the answer.
    asio::error_code ignored;
    up.shutdown(tcp::socket::shutdown_send, ignored);
    if (rw != nullptr) {
      co_await relayServerRewriting(up, down, *rw, progress);
    } else {
      co_await relayOneWay(up, down);
    }
  } else if (rw != nullptr) {
    co_await relayRewriting(down, up, *rw, progress);
  } else {
    co_await relayBothWays(down, up);
  }
  w.removeConnection(handle);
  asio::error_code ignored;
  up.close(ignored);
  down.close(ignored);
}

}  // namespace

Result<tcp::endpoint> originalDestination(tcp::socket& socket) {
  int fd = socket.native_handle();
  asio::error_code ec;
  auto local = socket.local_endpoint(ec);
  if (ec) return makeError(ErrorCode::kIo, ErrorSource::kDownstream, ec.message());
  if (local.address().is_v4()) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    if (::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sa, &len) != 0) {
      return makeError(ErrorCode::kIo, ErrorSource::kDownstream,
                       fmt::format("SO_ORIGINAL_DST: {}", std::strerror(errno)));
    }
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), &sa.sin_addr, 4);
    return tcp::endpoint(asio::ip::address_v4(b), ntohs(sa.sin_port));
  }
  sockaddr_in6 sa{};
  socklen_t len = sizeof sa;
  if (::getsockopt(fd, SOL_IPV6, kIp6OriginalDst, &sa, &len) != 0) {
    return makeError(ErrorCode::kIo, ErrorSource::kDownstream,
                     fmt::format("IP6T_SO_ORIGINAL_DST: {}", std::strerror(errno)));
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), &sa.sin6_addr, 16);
  return tcp::endpoint(asio::ip::address_v6(b), ntohs(sa.sin6_port));
}

awaitable<void> serveTransparent(Worker& w, tcp::socket socket, ListenerContext listener) {
  asio::error_code ec;
  auto local = socket.local_endpoint(ec);
  auto dst = originalDestination(socket);
  if (ec || !dst) {
    SLUICE_LOG_WARN("transparent listener: no original destination ({}); closing",
                    ec ? ec.message() : dst.error().message);
    socket.close(ec);
    co_return;
  }
  // Dialled directly (not redirected): no destination to pass bytes to; HTTP is still served
  // like the explicit proxy does.
  bool redirected = *dst != local;
  if (redirected) listener.original_dst = *dst;
  if (listener.inbound) {
    if (!redirected) {
      SLUICE_LOG_WARN("inbound listener: connection was not redirected; closing");
      socket.close(ec);
      co_return;
    }
    ++w.stats().inbound_connections_total;
    TcpUpstream app;
    app.host = dst->address().to_string();
    app.port = dst->port();
    app.label = fmt::format("{}:{} (inbound)", app.host, app.port);
    // Named, not a default argument: GCC 12 destroys a coroutine's defaulted by-value argument
    // twice (free(): invalid pointer on every inbound connection).
    StreamInterception none;
    co_await proxyTcp(w, std::move(socket), {}, false, std::move(app), std::move(none));
    co_return;
  }

  auto snap = w.snapshot();
  // gRPC clients speak first too.
  auto first_wait = redirected && (meshHttpDestination(*snap, *dst) ||
                                   snap->grpcInterceptionFor(dst->port()) != nullptr)
                        ? kMeshClientFirstWait
                        : kServerFirstWait;
  auto deadline = std::chrono::steady_clock::now() + kSniffLimit;
  std::string received;
  Sniffed verdict = Sniffed::kNeedMore;
  bool client_done = false;
  std::array<char, 4096> buf;
  while (verdict == Sniffed::kNeedMore && received.size() < kMaxSniffedLine) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    auto wait = received.empty() ? std::chrono::steady_clock::duration(first_wait) : deadline - now;
    asio::error_code rec;
    size_t n = co_await readWithin(socket, asio::buffer(buf), wait, rec);
    received.append(buf.data(), n);
    if (rec == asio::error::timed_out) break;
    if (rec) {
      client_done = true;  // EOF (or reset): relay what came, if anything
      break;
    }
    verdict = sniffHttp(received);
  }
  // HTTP/2 with prior knowledge is terminated only for mesh destinations, where the route decides
  // the upstream protocol. Anything else that speaks it (a registry's gRPC port, a gRPC server
  // outside the mesh) is relayed as bytes: its server speaks HTTP/2 itself, and terminating it
  // would re-originate it as HTTP/1.1, which a gRPC server refuses.
  if (verdict == Sniffed::kHttp2 && redirected) {
    // A registry's gRPC API under method 2: terminated and re-originated by the interception relay
    // (its own upstream connection per client), not the request path.
    // Not the sidecar's own registry read (without --upstream-mark its socket carries no mark and
    // comes back here): its view must stay the registry's.
    const auto* rule = snap->grpcInterceptionFor(dst->port());
    if (rule != nullptr && !net::isOwnSocket(socket.remote_endpoint(ec))) {
      co_await serveGrpcInterception(w, std::move(socket), std::move(received), *dst,
                                     rule->grpc_rewriter);
      co_return;
    }
  }
  bool serve_http =
      verdict == Sniffed::kHttp ||
      (verdict == Sniffed::kHttp2 && (!redirected || meshHttpDestination(*snap, *dst)));
  if (serve_http) {
    std::string peer_ip;  // the socket's own peer
    co_await serveConnection(w, std::move(socket), listener, std::move(received),
                             std::move(peer_ip));
    co_return;
  }
  if (!redirected) {
    SLUICE_LOG_WARN(
        "transparent listener: non-HTTP connection from {} was not redirected; "
        "closing",
        socket.remote_endpoint(ec).address().to_string());
    socket.close(ec);
    co_return;
  }
  std::string why;
  auto target = planTcp(w, w.snapshot(), *dst, why);
  if (!target) {
    SLUICE_LOG_WARN("tcp to {}:{}: {}; closing", dst->address().to_string(), dst->port(), why);
    ++w.stats().tcp_connect_failures_total;
    socket.close(ec);
    co_return;
  }
  // Method 2 for a registry with its own TCP protocol: the rule for the dialled port relays the
  // connection through the registry's stream rewriter.
  // The sidecar's own registry session is left alone: it must see the registry as it is.
  StreamInterception intercept;
  if (const auto* rule = snap->streamInterceptionFor(dst->port())) {
    auto peer = socket.remote_endpoint(ec);
    if (!ec && !net::isOwnSocket(peer)) {
      intercept.rewriter = rule->stream->start();
      intercept.registry = std::string(rule->stream->registry());
    }
  }
  co_await proxyTcp(w, std::move(socket), std::move(received), client_done, *target,
                    std::move(intercept));
}

}  // namespace sluice::proxy
