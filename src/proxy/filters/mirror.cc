#include "proxy/filters/mirror.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "http/codec.h"
#include "proxy/downstream_io.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {

// At most this much of a mirror's response is read (and dropped).
constexpr size_t kMaxMirrorResponse = 1 << 20;

asio::awaitable<void> sendMirror(Worker& w, std::shared_ptr<const MeshSnapshot> snap, int cluster,
                                 http::RequestHead head, std::string body) {
  if (w.snapshot() != snap) co_return;  // the snapshot moved on; skip rather than guess
  ClusterState& cs = w.clusterState(cluster);
  EndpointState* ep = cs.pick({}, std::chrono::steady_clock::now());
  if (ep == nullptr) co_return;
  cs.acquire(*ep);
  ++cs.pins;
  auto pooled = co_await w.upstreamPool().acquire(cs, *ep);
  if (pooled.result == ConnectResult::kOk) {
    UpstreamStream& up = *pooled.connection;
    // The response is read and dropped; the connection is not reused.
    if (co_await up.sendRequest(head, body, true)) {
      Buffer in;
      http::ResponseHead response;
      ResponseHeadRead r =
          co_await up.readResponseHead(w.options().limits, head.method == "HEAD", in, response);
      if (r.head.status == http::ParseStatus::kComplete) {
        std::string dropped;
        co_await up.readResponseBody(r.head.framing, w.options().limits, in,
                                     BodySink::intoString(dropped, kMaxMirrorResponse));
      }
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
    shadow.authority = shadow_host;  // what an HTTP/2 mirror sends as :authority
    asio::co_spawn(ctx.worker.io(),
                   sendMirror(ctx.worker, ctx.snapshot, m.cluster, std::move(shadow),
                              std::string(ctx.request_body)),
                   asio::detached);
  }
}

}  // namespace sluice::proxy
