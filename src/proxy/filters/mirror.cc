#include "proxy/filters/mirror.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/write.hpp>

#include "http/codec.h"
#include "proxy/downstream_io.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {

asio::awaitable<void> sendMirror(Worker& w, std::shared_ptr<const MeshSnapshot> snap, int cluster,
                                 std::string head_bytes, std::string body) {
  if (w.snapshot() != snap) co_return;  // the snapshot moved on; skip rather than guess
  ClusterState& cs = w.clusterState(cluster);
  EndpointState* ep = cs.pick({}, std::chrono::steady_clock::now());
  if (ep == nullptr) co_return;
  cs.acquire(*ep);
  ++cs.pins;
  auto pooled = co_await w.upstreamPool().acquire(cs, *ep);
  if (pooled.result == ConnectResult::kOk) {
    auto& socket = pooled.connection->socket;
    asio::error_code ec;
    std::array<asio::const_buffer, 2> bufs = {asio::buffer(head_bytes), asio::buffer(body)};
    co_await asio::async_write(socket, bufs, withEc(ec));
    // The response is read and dropped; the connection is not reused.
    char sink[4096];
    for (int i = 0; i < 256 && !ec; ++i) {
      co_await socket.async_read_some(asio::buffer(sink), withEc(ec));
    }
    w.upstreamPool().release(cs, *ep, std::move(pooled.connection), false);
  }
  --cs.pins;
  cs.release(*ep);
}

}  // namespace

void MirrorFilter::onUpstreamRequest(FilterContext& ctx) const {
  if (ctx.route.mirrors.empty() || !ctx.body_buffered) return;
  for (const auto& m : ctx.route.mirrors) {
    if (m.cluster < 0 || !ctx.worker.rollPercent(m.percent)) continue;
    http::RequestHead shadow = ctx.request;
    auto host = shadow.headers.get("host");
    std::string shadow_host = std::string(splitAuthority(host.value_or("")).first) + "-shadow";
    shadow.headers.set("host", shadow_host);
    std::string bytes;
    http::serializeRequestHead(shadow, bytes);
    asio::co_spawn(ctx.worker.io(),
                   sendMirror(ctx.worker, ctx.snapshot, m.cluster, std::move(bytes),
                              std::string(ctx.request_body)),
                   asio::detached);
  }
}

}  // namespace sluice::proxy
