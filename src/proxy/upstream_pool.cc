#include "proxy/upstream_pool.h"

#include <algorithm>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/outbound_connect.h"
#include "proxy/h2_upstream.h"
#include "proxy/socket_timer.h"

namespace sluice::proxy {

using asio::ip::tcp;
using std::chrono::steady_clock;

namespace {

void closeConnection(EndpointState& ep, UpstreamStream& conn) {
  asio::error_code ignored;
  conn.close(ignored);
  if (ep.open_connections > 0) --ep.open_connections;
}

}  // namespace

void UpstreamPool::release(ClusterState& cs, EndpointState& ep,
                           std::unique_ptr<UpstreamStream> conn, bool reusable) {
  if (!conn) return;
  uint32_t max_req = cs.pool().max_requests_per_connection;
  auto* h1 = conn->isHttp2() ? nullptr : static_cast<UpstreamConnection*>(conn.get());
  if (h1 != nullptr && reusable && ep.present && (max_req == 0 || h1->requests < max_req)) {
    h1->idle_since = steady_clock::now();
    ep.idle.emplace_back(static_cast<UpstreamConnection*>(conn.release()));
  } else {
    closeConnection(ep, *conn);
  }
  wakeWaiter(ep);
}

void UpstreamPool::wakeWaiter(EndpointState& ep) {
  if (ep.slot_waiters.empty()) return;
  asio::steady_timer* t = ep.slot_waiters.front();
  ep.slot_waiters.erase(ep.slot_waiters.begin());
  t->cancel();
}

asio::awaitable<PooledConnection> UpstreamPool::acquire(ClusterState& cs, EndpointState& ep) {
  const auto& pool = cs.pool();
  PooledConnection out;
  // http2MaxRequests: the requests in flight to the cluster, this one included (its lease).
  if (cs.inflight() > pool.max_requests) {
    ++cs.overflows;
    out.result = ConnectResult::kOverflow;
    co_return out;
  }
  auto deadline = steady_clock::now() + pool.connect_timeout;
  for (;;) {
    // A pooled keep-alive connection (most recently used first).
    while (!ep.idle.empty()) {
      auto conn = std::move(ep.idle.back());
      ep.idle.pop_back();
      if (steady_clock::now() - conn->idle_since > pool.idle_timeout || !conn->is_open()) {
        closeConnection(ep, *conn);
        continue;
      }
      out.result = ConnectResult::kOk;
      out.connection = std::move(conn);
      out.reused = true;
      co_return out;
    }
    if (ep.open_connections < pool.max_connections) break;
    // maxConnections reached: queue (http1MaxPendingRequests) or overflow.
    if (cs.pending_requests >= pool.max_pending_requests) {
      ++cs.overflows;
      out.result = ConnectResult::kOverflow;
      co_return out;
    }
    asio::steady_timer timer(io_);
    timer.expires_at(deadline);
    ep.slot_waiters.push_back(&timer);
    ++cs.pending_requests;
    asio::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    --cs.pending_requests;
    std::erase(ep.slot_waiters, &timer);
    if (!ec) {  // waited the whole connect timeout
      out.result = ConnectResult::kOverflow;
      co_return out;
    }
  }
  ++ep.open_connections;
  if (pool.http2) {
    // One stream of a shared HTTP/2 connection (proxy/h2_upstream.h).
    out = co_await openHttp2Stream(io_, stats_, ep, deadline, pool.max_concurrent_streams);
    if (out.result != ConnectResult::kOk) {
      --ep.open_connections;
      wakeWaiter(ep);
    }
    co_return out;
  }
  ++stats_.upstream_connections_total;
  tcp::socket socket(io_);
  SocketTimer timer(io_.get_executor());
  timer.arm(deadline, socket);
  // An IP, or a DNS name (ServiceEntry resolution DNS) resolved here.
  asio::error_code ec = co_await net::connectOutbound(socket, ep.endpoint.ip, ep.endpoint.port);
  timer.disarm();
  if (ec || timer.fired()) {
    --ep.open_connections;
    wakeWaiter(ep);
    out.result = timer.fired() ? ConnectResult::kTimeout : ConnectResult::kConnectFailure;
    co_return out;
  }
  socket.set_option(tcp::no_delay(true), ec);
  out.result = ConnectResult::kOk;
  out.connection = std::make_unique<UpstreamConnection>(std::move(socket));
  co_return out;
}

}  // namespace sluice::proxy
