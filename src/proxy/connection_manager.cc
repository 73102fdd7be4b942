#include "proxy/connection_manager.h"

// GCC 12 at -O2 reports asio's awaitable frame operator new/delete pair as mismatched (a false
// positive: asio allocates and frees frames through its own recycling allocator). Without this
// the optimised -Werror build fails on this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <optional>

#include "core/log.h"
#include "http/codec.h"
#include "http/h2/upgrade.h"
#include "proxy/body_pump.h"
#include "proxy/filters/http_filter.h"
#include "proxy/grpc.h"
#include "proxy/h2_downstream.h"
#include "proxy/on_demand.h"
#include "proxy/registry_refresh.h"
#include "proxy/request_context.h"
#include "proxy/respond.h"
#include "proxy/retry_loop.h"
#include "proxy/service_resolver.h"
#include "proxy/upstream_request.h"

namespace sluice::proxy {

namespace {

using asio::awaitable;
using asio::ip::tcp;
using std::chrono::steady_clock;

// A request body up to this size (Content-Length) is read whole so retries can replay it.
constexpr uint64_t kMaxReplayBody = 64 * 1024;

struct RouteChoice {
  const Route* route = nullptr;
  const MatchBlock* matched = nullptr;
};

// What the router looks at (views into `head`).
RequestView requestView(const http::RequestHead& head, uint32_t port) {
  RequestView rv;
  rv.method = head.method;
  rv.scheme = head.scheme.empty() ? std::string_view("http") : std::string_view(head.scheme);
  rv.authority = head.authority;
  rv.path = head.path;
  rv.headers = &head.headers;
  rv.port = port;
  return rv;
}

// Phase 3: the first route of the virtual host whose match applies.
RouteChoice matchRoute(const VirtualHost& vhost, const http::RequestHead& head, uint32_t port) {
  RequestView rv = requestView(head, port);
  for (const auto& r : vhost.routes) {
    int block = r.match(rv);
    if (block < 0) continue;
    bool in_range = static_cast<size_t>(block) < r.matches.size();
    return {&r, in_range ? &r.matches[block] : nullptr};
  }
  return {};
}

// Phase 5: the route's own answers (redirect, direct response); nullopt to forward.
std::optional<LocalReply> routeAction(const RouteChoice& rc, const http::RequestHead& head,
                                      uint32_t port) {
  const Route& route = *rc.route;
  switch (route.action) {
    case Route::Action::kRedirect:
      return LocalReply::redirect(route.redirect.code, redirectLocation(route.redirect, rc.matched,
                                                                        requestView(head, port)));
    case Route::Action::kDirectResponse: {
      const auto& dr = route.direct_response;
      return LocalReply::direct(dr.status, dr.body.value_or(""));
    }
    case Route::Action::kRoute:
      return std::nullopt;
  }
  return std::nullopt;
}

struct ClusterChoice {
  const WeightedCluster* destination = nullptr;
  ClusterState* state = nullptr;
  std::optional<LocalReply> reply;
};

// Phase 6: weighted destination -> the worker's state of its cluster (an ORIGINAL_DST cluster:
// the passthrough pool of the request's destination address).
ClusterChoice pickCluster(RequestContext& rc, const Route& route, uint32_t port) {
  Worker& w = rc.w;
  const MeshSnapshot& snap = *rc.snap;
  ClusterChoice c;
  uint64_t roll = route.total_weight > 1 ? w.rng()() % route.total_weight : 0;
  c.destination = route.pickCluster(roll);
  if (c.destination == nullptr) {
    c.reply = LocalReply::noDestination();
    return c;
  }
  const WeightedCluster& dest = *c.destination;
  rc.outcome.service = dest.host;
  rc.outcome.subset = dest.subset;
  if (dest.cluster < 0) {
    c.reply = LocalReply::noCluster(dest.host, dest.subset, dest.missing);
    return c;
  }
  const Cluster& cluster = snap.clusters[dest.cluster];
  if (cluster.original_destination && rc.listener.original_dst) {
    c.state = &w.passthroughState(*rc.listener.original_dst);
  } else if (cluster.original_destination) {
    auto host = splitAuthority(rc.head.authority).first;
    asio::error_code ec;
    auto ip = asio::ip::make_address(std::string(host), ec);
    if (ec) {
      c.reply = LocalReply::originalDestinationNotIp(cluster.host, host);
      return c;
    }
    c.state = &w.passthroughState(tcp::endpoint(ip, static_cast<uint16_t>(port)));
  } else {
    c.state = rc.snap == w.snapshot() ? &w.clusterState(dest.cluster)
                                      : w.clusterStateByName(cluster.name);
    if (c.state == nullptr) c.reply = LocalReply::clusterGone();
  }
  return c;
}

// Phase 7: the upstream request (head rewritten, filters, body), the retry loop over upstream
// attempts, then response filters and the response (proxy/respond.h).
awaitable<void> forward(RequestContext& rc, const RouteChoice& choice, const WeightedCluster& dest,
                        ClusterState& cs, uint32_t port) {
  Worker& w = rc.w;
  const Route& route = *choice.route;
  std::string upgrade = prepareUpstreamHead(rc, route, choice.matched);
  const auto& framing = rc.parsed.framing;
  // Expect: 100-continue is answered here; the upstream never sees Expect.
  if (rc.parsed.expect_continue && framing.kind != http::BodyKind::kNone) {
    if (!co_await rc.stream.sendContinue()) {
      rc.keep_alive = false;
      rc.outcome.flags.add(ResponseFlag::kDownstreamConnectionTermination);
      co_return;
    }
  }
  // A small Content-Length body is read whole so a retry (or a mirror) can replay it.
  std::string body;
  bool replayable =
      framing.kind == http::BodyKind::kNone ||
      (framing.kind == http::BodyKind::kContentLength && framing.length <= kMaxReplayBody);
  if (replayable && rc.hasBody()) {
    body.reserve(framing.length);
    PumpResult p =
        co_await rc.stream.readRequestBody(framing, BodySink::intoString(body, framing.length));
    if (!p.ok()) {
      rc.keep_alive = false;
      LocalReply reply = LocalReply::incompleteRequestBody(p.body_bytes, framing.length);
      co_return co_await sendReply(rc, reply);
    }
    rc.outcome.bytes_received += framing.length;
  }
  if (replayable) rc.body_consumed = true;

  FilterContext fc{w,     rc.snap, rc.listener, port,      route, choice.matched,
                   &dest, rc.head, body,        replayable};
  for (const HttpFilter* f : httpFilterChain()) f->onUpstreamRequest(fc);
  if (framing.kind == http::BodyKind::kChunked) rc.head.headers.add("transfer-encoding", "chunked");

  ++cs.pins;
  struct Unpin {
    ClusterState* cs;
    ~Unpin() { --cs->pins; }
  } unpin{&cs};
  std::optional<steady_clock::time_point> deadline;
  // grpc-timeout bounds the route timeout (Istio sets max_grpc_timeout to the route timeout).
  std::chrono::milliseconds timeout = route.timeout;
  if (auto g = grpc::timeoutOf(rc.head.headers); g && (timeout.count() <= 0 || *g < timeout)) {
    timeout = *g;
  }
  if (timeout.count() > 0) deadline = steady_clock::now() + timeout;
  SocketTimer timer(w.io().get_executor());  // armed per attempt when there is a deadline
  AttemptRequest request{rc.head, body, replayable, rc.head.method == "HEAD"};
  UpstreamExchange exchange =
      co_await runRetryLoop(rc, cs, route.retry, dest, request, timer, deadline);
  if (exchange.downstream_failed) {
    // The head (and maybe part of the body) went upstream on a connection now closed; no
    // response has started, so the client still gets an answer before its connection closes.
    rc.keep_alive = false;
    // (No conditional operator inside co_await: GCC 12 destroys its temporary twice.)
    const http::ParseError& e = exchange.downstream_error;
    std::optional<uint64_t> declared;
    if (framing.kind == http::BodyKind::kContentLength) declared = framing.length;
    LocalReply reply = LocalReply::incompleteRequestBody(rc.outcome.bytes_received, declared);
    if (e.status != 0) reply = LocalReply::malformedRequestBody(e.status, e.reason);
    co_return co_await sendReply(rc, reply);
  }
  if (exchange.reply) {
    co_await sendReply(rc, *exchange.reply);
    co_return;
  }
  co_await respond(rc, fc, exchange, upgrade, timer);
}

const Route& passthroughRoute() {
  static const Route kRoute = [] {
    Route r;
    r.name = "passthrough";
    return r;
  }();
  return kRoute;
}

// Phases 2-7 of one request whose head was parsed.
awaitable<void> handleRequest(RequestContext& rc) {
  const http::RequestHead& head = rc.head;
  if (head.authority.empty()) co_return co_await sendReply(rc, LocalReply::missingHost());
  if (head.path.empty() || head.path.front() != '/') {
    co_return co_await sendReply(rc, LocalReply::unsupportedTarget(head.target));
  }
  // Phase 2: resolve which service / virtual host the request is for.
  Resolution res = resolveRequest(*rc.snap, rc.listener, head);
  // A name the snapshot does not hold may be a service not loaded yet (on-demand loading).
  if (res.vhost == nullptr && rc.w.onDemandLoader().enabled() &&
      co_await loadUnknownHost(rc.w, res, head.authority)) {
    rc.snap = rc.w.snapshot();
    res = resolveRequest(*rc.snap, rc.listener, head);
  }
  // A pod address reverse DNS does not know (yet): maybe an instance registered since the last
  // registry read. Refresh (bounded) and resolve again, so its first requests are governed too.
  if (res.passthrough && co_await refreshForUnknownPodAddress(rc.w, *rc.snap, *res.passthrough)) {
    rc.snap = rc.w.snapshot();
    res = resolveRequest(*rc.snap, rc.listener, head);
  }
  if (res.reply) co_return co_await sendReply(rc, *res.reply);
  if (res.passthrough) {
    WeightedCluster dest;
    dest.host = std::string(head.authority);
    rc.outcome.route_name = passthroughRoute().name;
    co_return co_await forward(rc, RouteChoice{&passthroughRoute(), nullptr}, dest,
                               rc.w.passthroughState(*res.passthrough), res.port);
  }
  if (res.vhost == nullptr)
    co_return co_await sendReply(rc, LocalReply::noVirtualHost(head.authority));
  if (res.service != nullptr) rc.outcome.service = res.service->fqdn;

  // Phase 3: route. The first matching rule wins; none -> 404 (Envoy NR).
  RouteChoice choice = matchRoute(*res.vhost, head, res.port);
  if (choice.route == nullptr) {
    co_return co_await sendReply(rc, LocalReply::noRoute(head.authority, head.path));
  }
  rc.outcome.route_name = choice.route->name;

  // Phase 4: request filters (CORS preflight, fault injection).
  FilterContext fc{rc.w,           rc.snap, rc.listener, res.port, *choice.route,
                   choice.matched, nullptr, rc.head,     {},       false};
  for (const HttpFilter* f : httpFilterChain()) {
    FilterResult r = f->onRequestHead(fc);
    if (r.status == FilterStatus::kStopWithLocalReply) co_return co_await sendReply(rc, r.reply);
    if (r.delay.count() > 0) {
      asio::steady_timer t(rc.w.io());
      t.expires_after(r.delay);
      asio::error_code ec;
      co_await t.async_wait(withEc(ec));
      rc.outcome.flags.add(ResponseFlag::kDelayInjected);
    }
  }
  // Phase 5: the route's own answers.
  if (auto answer = routeAction(choice, head, res.port)) co_return co_await sendReply(rc, *answer);

  // Phase 6: cluster (the endpoint is picked per attempt, phase 7).
  ClusterChoice cluster = pickCluster(rc, *choice.route, res.port);
  if (cluster.reply) co_return co_await sendReply(rc, *cluster.reply);
  co_await forward(rc, choice, *cluster.destination, *cluster.state, res.port);
}

// What the parse phase ended in: a head (or a malformed one), or the connection's end.
enum class HeadWait : uint8_t { kParsed, kClosed };

// Phase 1: the codec's callbacks for one wait for a request head.
struct HeadCallbacks final : http::ServerCodecCallbacks {
  http::HeadResult result;
  bool arrived = false;  // a head, or a protocol error, is in `result`
  void onRequestHead(http::RequestHead&, const http::HeadResult& r) override {
    result = r;
    arrived = true;
  }
  void onProtocolError(const http::HeadResult& r) override {
    result = r;
    arrived = true;
  }
};

// Whether the bytes so far hold a whole head (or a malformed one). Starts the request-headers
// deadline at the first byte of a head.
bool headReady(Downstream& d, http::ServerCodec& codec, http::RequestHead& head,
               HeadCallbacks& callbacks) {
  codec.onIngress(d.in.view(), head, callbacks);
  if (callbacks.arrived) return true;
  if (!d.in.empty() && d.watch.phase() == DownstreamWatch::Phase::kIdle) {
    d.watch.enter(DownstreamWatch::Phase::kHead);
  }
  return false;
}

bool hasBody(const http::BodyFraming& f) {
  return f.kind == http::BodyKind::kChunked ||
         (f.kind == http::BodyKind::kContentLength && f.length > 0);
}

std::string_view orUnknown(std::string_view s) { return s.empty() ? "unknown" : s; }

SeriesKey requestSeriesKey(const RequestOutcome& o) {
  return SeriesKey{orUnknown(o.service), orUnknown(o.subset), o.status, o.flags.bits(), o.grpc,
                   o.grpc_status};
}

// Phase 9: stats and the access log.
void logRequest(RequestContext& rc, steady_clock::time_point start) {
  Worker& w = rc.w;
  double ms = std::chrono::duration<double, std::milli>(steady_clock::now() - start).count();
  w.stats().record(requestSeriesKey(rc.outcome), ms);
  if (w.options().access_log) {
    w.accessLog().record(rc.head, rc.original_target.empty() ? rc.head.target : rc.original_target,
                         rc.outcome, ms);
  }
}

awaitable<void> serveRequests(Worker& w, Downstream& d, const ListenerContext& listener) {
  // HTTP/2 with prior knowledge: the connection preface instead of a request line.
  if (co_await awaitHttp2Preface(d)) co_return co_await serveHttp2(w, d, listener);
  std::unique_ptr<http::ServerCodec> codec = http::makeHttp1ServerCodec(w.options().limits);
  Http1Stream stream(d, w.options().limits);
  http::RequestHead& head = d.request;
  for (;;) {
    // Phase 1: parse the next request head (pipelined bytes may already be buffered). Inline,
    // not a coroutine of its own: it runs for every request.
    HeadCallbacks callbacks;
    HeadWait wait = HeadWait::kParsed;
    while (!headReady(d, *codec, head, callbacks)) {
      asio::error_code ec;
      co_await awaitRequestBytes(d, ec);  // between requests: no buffer held while idle
      size_t n = 0;
      if (!ec) n = co_await readMore(d.socket, d.in, ec);
      if (ec || n == 0) {
        wait = HeadWait::kClosed;
        break;
      }
    }
    if (wait == HeadWait::kClosed) {
      if (d.watch.tripped() && d.watch.phase() == DownstreamWatch::Phase::kHead) {
        ++w.stats().downstream_requests_total;
        co_await writeLocalReply(d, 408, "request headers not received in time\n", true);
        w.stats().record("unknown", "unknown", 408, 0);
      }
      break;
    }
    http::HeadResult& parsed = callbacks.result;
    d.watch.enter(DownstreamWatch::Phase::kBusy);
    d.in_request = true;
    auto start = steady_clock::now();
    if (parsed.status == http::ParseStatus::kError) {
      ++w.stats().downstream_requests_total;
      co_await writeLocalReply(d, parsed.error.status, parsed.error.reason + "\n", true);
      w.stats().record("unknown", "unknown", parsed.error.status, 0);
      break;
    }
    d.in.consume(parsed.consumed);
    // `Upgrade: h2c`: the rest of the connection is HTTP/2, this request its stream 1 (counted
    // and logged there). Only on a TCP connection, and not on one closing anyway.
    if (d.socket.isSocket() && !d.close_after && !w.draining()) {
      http::h2::H2cUpgrade h2c = http::h2::h2cUpgradeOf(head, hasBody(parsed.framing));
      if (h2c.verdict == http::h2::H2cVerdict::kUpgrade) {
        bool upgraded = co_await serveHttp2Upgrade(w, d, listener, head, h2c.settings);
        if (upgraded) break;
      }
      if (h2c.verdict == http::h2::H2cVerdict::kIgnore) {
        SLUICE_LOG_DEBUG("h2c upgrade from {} ignored: {}", d.peer_ip, h2c.why);
      }
    }
    ++w.stats().downstream_requests_total;
    RequestContext rc{w, d, listener, head, parsed, stream, d.x, w.snapshot(), {}, {}};
    rc.outcome.grpc = grpc::isGrpc(head.headers);
    rc.keep_alive = parsed.keep_alive && !d.close_after && !w.draining();
    rc.body_consumed = parsed.framing.kind == http::BodyKind::kNone;
    co_await handleRequest(rc);
    logRequest(rc, start);
    d.in_request = false;
    if (!rc.keep_alive || d.close_after || w.draining()) break;
    d.watch.enter(DownstreamWatch::Phase::kIdle);
    d.in.shrinkIfIdle();
    d.x.upstream_in.shrinkIfIdle();
  }
}

}  // namespace

asio::awaitable<void> serveStreamRequest(Worker& w, Downstream& connection,
                                         const ListenerContext& listener, DownstreamStream& stream,
                                         ExchangeBuffers& buffers, http::RequestHead& head,
                                         http::HeadResult& parsed) {
  auto start = steady_clock::now();
  ++w.stats().downstream_requests_total;
  RequestContext rc{w, connection, listener, head, parsed, stream, buffers, w.snapshot(), {}, {}};
  rc.outcome.grpc = grpc::isGrpc(head.headers);
  rc.outcome.http2 = stream.isHttp2();
  rc.keep_alive = true;  // per stream: nothing to keep alive; GOAWAY ends the connection
  rc.body_consumed = parsed.framing.kind == http::BodyKind::kNone;
  try {
    co_await handleRequest(rc);
  } catch (const std::exception& e) {
    SLUICE_LOG_ERROR("HTTP/2 stream from {}: {}", connection.peer_ip, e.what());
    stream.reset();
  }
  logRequest(rc, start);
}

asio::awaitable<void> serveConnection(Worker& w, ByteStream socket, ListenerContext listener,
                                      std::string received, std::string peer_ip) {
  Downstream d(std::move(socket), w.options());
  d.idle_list = &w.idleConnections();
  if (!received.empty()) d.in.append(received);
  if (!peer_ip.empty()) {
    d.peer_ip = std::move(peer_ip);
  } else {
    asio::error_code ec;
    auto remote = d.socket.remote_endpoint(ec);
    d.peer_ip = ec ? std::string("-") : remote.address().to_string();
  }
  auto handle = w.addConnection([&d](bool force) {
    if (force || !d.in_request) {
      asio::error_code ignored;
      d.socket.close(ignored);
    } else {
      d.close_after = true;
    }
  });
  try {
    // Until its first byte a new connection holds no read buffer either.
    asio::error_code ec;
    co_await awaitRequestBytes(d, ec);
    if (!ec) co_await serveRequests(w, d, listener);
  } catch (const std::exception& e) {
    SLUICE_LOG_ERROR("connection from {}: {}", d.peer_ip, e.what());
  }
  // A local stream loses no reply to a RST: nothing to linger for.
  if (d.linger && d.socket.isSocket() && d.socket.is_open()) co_await lingerBeforeClose(d);
  w.removeConnection(handle);
  asio::error_code ignored;
  d.socket.shutdown(ByteStream::shutdown_type::shutdown_both, ignored);
  d.socket.close(ignored);
}

}  // namespace sluice::proxy
