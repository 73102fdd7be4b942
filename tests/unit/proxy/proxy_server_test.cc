// Connection-manager level tests: a real ProxyServer in sidecar or gateway mode in front of real
// upstream HTTP servers, all on loopback port 0, in process.
#include "proxy/proxy_server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <thread>

#include "config/loader.h"
#include "control/snapshot/build_snapshot.h"
#include "http/client.h"
#include "http/server.h"

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

// An upstream app: answers "<name> <method> <path>" and echoes a few request headers back as
// response headers; /slow waits 500ms; /fail answers 503.
class Upstream {
 public:
  explicit Upstream(std::string name) : name_(std::move(name)) {
    server_ = std::make_unique<http::Server>(
        io_, [this](http::Request req) { return handle(std::move(req)); });
    auto bound = server_->listen({"127.0.0.1", 0});
    EXPECT_TRUE(bound.has_value());
    port_ = bound->port;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Upstream() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int hits() const { return hits_.load(); }
  void releaseHeld() { released_ = true; }

 private:
  asio::awaitable<http::Response> handle(http::Request req) {
    ++hits_;
    if (req.head.path == "/slow") {
      asio::steady_timer t(co_await asio::this_coro::executor);
      t.expires_after(500ms);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (req.head.path == "/hold") {
      // Answers once releaseHeld() was called (polled; bounded at 10 s).
      asio::steady_timer t(co_await asio::this_coro::executor);
      for (int i = 0; i < 2000 && !released_.load(); ++i) {
        t.expires_after(5ms);
        co_await t.async_wait(asio::use_awaitable);
      }
    }
    int status = req.head.path.starts_with("/fail") ? 503 : 200;
    auto r = http::Response::text(status, name_ + " " + req.head.method + " " + req.head.path +
                                              (req.body.empty() ? "" : " body=" + req.body));
    for (const char* h : {"x-request-id", "x-forwarded-for", "host", "x-added",
                          "x-envoy-attempt-count", "traceparent"}) {
      if (auto v = req.head.headers.get(h)) r.head.headers.set(std::string("echo-") + h, *v);
    }
    co_return r;
  }

  std::string name_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> hits_{0};
  std::atomic<bool> released_{false};
};

// Polls `done` every 5 ms for up to `limit`; true once it held.
template <typename Pred>
bool eventually(Pred done, std::chrono::milliseconds limit = 5s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

registry::Service providerService(uint16_t v1_port, uint16_t v2_port) {
  registry::Service s;
  s.name = "service-provider";
  registry::Instance a;
  a.ip = "127.0.0.1";
  a.port = v1_port;
  a.metadata = {{"label", "v1"}};
  registry::Instance b = a;
  b.port = v2_port;
  b.metadata = {{"label", "v2"}};
  s.instances = {a, b};
  return s;
}

std::shared_ptr<const MeshSnapshot> snapshotOf(const std::string& yaml,
                                               std::vector<registry::Service> services,
                                               uint64_t version = 1) {
  control::SnapshotInputs in;
  in.config = config::loadString(yaml, "test.yaml");
  in.registry_services = std::move(services);
  in.version = version;
  return control::buildSnapshot(in);
}

// Raw bytes to the proxy, then everything it answers until it closes (bounded reads).
struct RawExchange {
  std::string answer;
  asio::error_code end;  // how the reading ended (eof: the proxy closed)
};
RawExchange rawExchange(uint16_t port, const std::string& request, bool half_close = false) {
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), port});
  asio::write(s, asio::buffer(request));
  if (half_close) s.shutdown(asio::ip::tcp::socket::shutdown_send);
  RawExchange out;
  char buf[4096];
  for (int i = 0; i < 100 && !out.end; ++i) {
    size_t n = s.read_some(asio::buffer(buf), out.end);
    out.answer.append(buf, n);
  }
  return out;
}

class SidecarTest : public ::testing::Test {
 protected:
  void start(const std::string& yaml, int concurrency = 1) {
    ProxyOptions o;
    o.mode = ProxyOptions::Mode::kSidecar;
    o.listen = {{"127.0.0.1", 0}};
    o.concurrency = concurrency;
    o.service_node = "consumer";
    ASSERT_TRUE(server_.start(o, snapshotOf(yaml, services())).has_value());
    proxy_ = server_.boundAddresses().at(0);
  }
  std::vector<registry::Service> services() { return {providerService(v1_.port(), v2_.port())}; }
  Result<http::Response> get(const std::string& url, http::Headers headers = {},
                             std::string method = "GET", std::string body = "") {
    http::ClientRequest r;
    r.url = url;
    r.method = std::move(method);
    r.headers = std::move(headers);
    r.body = std::move(body);
    r.proxy = proxy_;
    r.timeout = 5s;
    return http::fetchBlocking(std::move(r));
  }
  std::string admin(const std::string& path) {
    http::ClientRequest r;
    r.url = "http://" + server_.adminAddress().toString() + path;
    auto resp = http::fetchBlocking(std::move(r));
    return resp ? resp->body : "";
  }

  Upstream v1_{"v1"};
  Upstream v2_{"v2"};
  ProxyServer server_;
  net::HostPort proxy_;
};

const char* kSeedRules = R"(
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: service-provider
spec:
  host: service-provider
  subsets:
  - name: v1
    labels:
      label: v1
  - name: v2
    labels:
      label: v2
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: service-provider
spec:
  hosts:
  - service-provider
  http:
  - name: "hello-v1"
    match:
    - uri:
        prefix: "/echo/hello"
    route:
    - destination:
        host: service-provider
        subset: v1
  - name: "default"
    route:
    - destination:
        host: service-provider
        subset: v2
)";

TEST_F(SidecarTest, WithoutRulesRoundRobinAlternatesV1AndV2) {
  start("");
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    auto r = get("http://service-provider:8070/echo/world");
    ASSERT_TRUE(r.has_value()) << r.error().message;
    ASSERT_EQ(r->head.status, 200) << r->body;
    seen.push_back(r->body.substr(0, 2));
  }
  EXPECT_NE(seen[0], seen[1]);
  EXPECT_EQ(seen[0], seen[2]);
  EXPECT_EQ(seen[1], seen[3]);
}

TEST_F(SidecarTest, SeedRulesSendHelloToV1AndTheRestToV2) {
  start(kSeedRules);
  for (int i = 0; i < 4; ++i) {
    auto hello = get("http://service-provider:8070/echo/hello");
    ASSERT_TRUE(hello.has_value());
    EXPECT_EQ(hello->body, "v1 GET /echo/hello");
    auto world = get("http://service-provider.default.svc.cluster.local/echo/world");
    ASSERT_TRUE(world.has_value());
    EXPECT_EQ(world->body, "v2 GET /echo/world");
  }
}

TEST_F(SidecarTest, PublishSwitchesRoutingWithoutRestart) {
  start("");
  server_.publish(snapshotOf(kSeedRules, services(), 2));
  // The worker swaps the snapshot between requests; wait (bounded) until it shows.
  bool switched = false;
  for (int i = 0; i < 200 && !switched; ++i) {
    auto r = get("http://service-provider/echo/hello");
    ASSERT_TRUE(r.has_value());
    auto r2 = get("http://service-provider/echo/hello");
    switched = r->body.starts_with("v1") && r2->body.starts_with("v1");
    if (!switched) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(switched);
  EXPECT_NE(admin("/config_dump").find("\"version\": 2"), std::string::npos);
}

TEST_F(SidecarTest, ForwardingHeadersRequestIdAndTraceHeadersPassThrough) {
  start(kSeedRules);
  http::Headers h;
  h.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  auto r = get("http://service-provider:8070/echo/x", h);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->head.headers.get("echo-x-forwarded-for").value_or(""), "127.0.0.1");
  EXPECT_EQ(r->head.headers.get("echo-x-request-id").value_or("").size(), 36u);
  EXPECT_EQ(r->head.headers.get("echo-host").value_or(""), "service-provider:8070");
  EXPECT_EQ(r->head.headers.get("echo-traceparent").value_or(""),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
}

TEST_F(SidecarTest, UnknownNameIs502AndNoRouteIs404AndUndefinedSubsetIs503) {
  start(R"(
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - match:
    - uri: {prefix: /only}
    route:
    - destination: {host: service-provider, subset: v9}
)");
  auto unknown = get("http://no-such-service:8070/x");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->head.status, 502);
  EXPECT_NE(unknown->body.find("no-such-service"), std::string::npos);
  auto nr = get("http://service-provider/elsewhere");
  ASSERT_TRUE(nr.has_value());
  EXPECT_EQ(nr->head.status, 404);
  auto nc = get("http://service-provider/only");
  ASSERT_TRUE(nc.has_value());
  EXPECT_EQ(nc->head.status, 503);
  EXPECT_NE(nc->body.find("v9"), std::string::npos) << nc->body;
}

TEST_F(SidecarTest, DirectResponseRedirectFaultAndHeaderOps) {
  start(R"(
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - match: [{uri: {exact: /direct}}]
    directResponse:
      status: 418
      body: {string: "teapot"}
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - match: [{uri: {prefix: /abort}}]
    fault:
      abort: {httpStatus: 451, percentage: {value: 100}}
    route: [{destination: {host: service-provider}}]
  - match: [{uri: {prefix: /nofault}}]
    fault:
      abort: {httpStatus: 451}
    route: [{destination: {host: service-provider}}]
  - match: [{uri: {prefix: /v1}}]
    rewrite: {uri: /rewritten}
    headers:
      request:
        set: {x-added: "yes"}
      response:
        add: {x-resp: "r"}
    route: [{destination: {host: service-provider}}]
)");
  auto d = get("http://service-provider/direct");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->head.status, 418);
  EXPECT_EQ(d->body, "teapot");
  auto rd = get("http://service-provider/old/x");
  ASSERT_TRUE(rd.has_value());
  EXPECT_EQ(rd->head.status, 301);
  EXPECT_EQ(rd->head.headers.get("location").value_or(""), "http://service-provider/new");
  auto ab = get("http://service-provider/abort");
  ASSERT_TRUE(ab.has_value());
  EXPECT_EQ(ab->head.status, 451);
  auto nf = get("http://service-provider/nofault");
  ASSERT_TRUE(nf.has_value());
  EXPECT_EQ(nf->head.status, 200) << "abort without percentage aborts nothing";
  auto rw = get("http://service-provider/v1/users?q=1");
  ASSERT_TRUE(rw.has_value());
  EXPECT_NE(rw->body.find("GET /rewritten/users?q=1"), std::string::npos) << rw->body;
  EXPECT_EQ(rw->head.headers.get("echo-x-added").value_or(""), "yes");
  EXPECT_EQ(rw->head.headers.get("x-resp").value_or(""), "r");
}

TEST_F(SidecarTest, TimeoutGives504) {
  start(R"(
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - timeout: 100ms
    route: [{destination: {host: service-provider}}]
)");
  auto r = get("http://service-provider/slow");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->head.status, 504);
}

TEST_F(SidecarTest, RetriesOn5xxAndCountsAttempts) {
  start(R"(
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - retries: {attempts: 3, retryOn: 5xx}
    route: [{destination: {host: service-provider}}]
)");
  auto r = get("http://service-provider/fail");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->head.status, 503);
  EXPECT_EQ(v1_.hits() + v2_.hits(), 4) << "1 try + 3 retries";
  // The last attempt's 503 went back, flagged URX: the policy would retry it, the attempts ran out.
  std::string prom = admin("/stats/prometheus");
  EXPECT_NE(prom.find("response_code=\"503\",response_flags=\"URX\""), std::string::npos) << prom;
}

TEST_F(SidecarTest, ClientGoneMidBodyIsFlaggedDownstreamConnectionTermination) {
  start("");
  RawExchange r =
      rawExchange(proxy_.port,
                  "POST http://service-provider/post HTTP/1.1\r\nHost: service-provider\r\n"
                  "Content-Length: 10\r\n\r\nabc",
                  /*half_close=*/true);
  EXPECT_TRUE(r.answer.starts_with("HTTP/1.1 400")) << r.answer;
  std::string prom = admin("/stats/prometheus");
  EXPECT_NE(prom.find("response_code=\"400\",response_flags=\"DC\""), std::string::npos) << prom;
}

TEST(SidecarRetry, ConnectFailureIsRetriedOnAnotherEndpointByDefault) {
  Upstream good("good");
  uint16_t dead_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }  // closed: connecting to it is refused
  registry::Service s;
  s.name = "svc";
  registry::Instance dead;
  dead.ip = "127.0.0.1";
  dead.port = dead_port;
  registry::Instance ok = dead;
  ok.port = good.port();
  s.instances = {dead, ok};
  ProxyServer server;
  ProxyOptions o;
  o.listen = {{"127.0.0.1", 0}};
  ASSERT_TRUE(server.start(o, snapshotOf("", {s})).has_value());
  for (int i = 0; i < 4; ++i) {
    http::ClientRequest r;
    r.url = "http://svc/x";
    r.proxy = server.boundAddresses().at(0);
    auto resp = http::fetchBlocking(r);
    ASSERT_TRUE(resp.has_value());
    EXPECT_EQ(resp->head.status, 200);
    EXPECT_EQ(resp->body, "good GET /x");
  }
}

TEST_F(SidecarTest, PostBodiesContentLengthAndChunked) {
  start("");
  auto r = get("http://service-provider/post", {}, "POST", "hello-body");
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->body.find("body=hello-body"), std::string::npos) << r->body;

  // Chunked upload and a pipelined second request on one raw connection.
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), proxy_.port});
  std::string req =
      "POST http://service-provider/chunked HTTP/1.1\r\nHost: service-provider\r\n"
      "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n-world\r\n0\r\n\r\n"
      "GET http://service-provider/second HTTP/1.1\r\nHost: service-provider\r\n"
      "Connection: close\r\n\r\n";
  asio::write(s, asio::buffer(req));
  std::string all;
  asio::error_code ec;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    all.append(buf, n);
    if (ec) break;
  }
  auto first = all.find("body=hello-world");
  auto second = all.find("GET /second");
  EXPECT_NE(first, std::string::npos) << all;
  EXPECT_NE(second, std::string::npos) << all;
  EXPECT_LT(first, second) << "pipelined responses come back in order";
}

TEST_F(SidecarTest, LargeBodyStreamsAndExpectContinueIsAnswered) {
  start("");
  std::string big(4 * 1024 * 1024, 'x');
  big[0] = 'A';
  big.back() = 'Z';
  auto r = get("http://service-provider/big", {}, "POST", big);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->head.status, 200);
  EXPECT_EQ(r->body.size(), std::string("v1 POST /big body=").size() + big.size());
  EXPECT_TRUE(r->body.ends_with("xxZ"));

  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address("127.0.0.1"), proxy_.port});
  std::string head =
      "POST http://service-provider/expect HTTP/1.1\r\nHost: service-provider\r\n"
      "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n";
  asio::write(s, asio::buffer(head));
  char buf[4096];
  size_t n = s.read_some(asio::buffer(buf));
  EXPECT_EQ(std::string(buf, n), "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(std::string("hello")));
  std::string all;
  asio::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) {
    n = s.read_some(asio::buffer(buf), ec);
    all.append(buf, n);
  }
  EXPECT_TRUE(all.starts_with("HTTP/1.1 200")) << all;
  EXPECT_NE(all.find("body=hello"), std::string::npos) << all;
}

TEST_F(SidecarTest, MalformedRequestGets400AndClose) {
  start("");
  RawExchange r =
      rawExchange(proxy_.port,
                  "POST http://service-provider/x HTTP/1.1\r\nHost: service-provider\r\n"
                  "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  EXPECT_TRUE(r.answer.starts_with("HTTP/1.1 400")) << r.answer;
  EXPECT_EQ(r.end, asio::error::eof);
}

TEST_F(SidecarTest, AdminEndpoints) {
  start(kSeedRules);
  ASSERT_TRUE(get("http://service-provider/echo/hello").has_value());
  EXPECT_EQ(admin("/ready"), "LIVE\n");
  std::string prom = admin("/stats/prometheus");
  EXPECT_NE(prom.find("istio_requests_total{reporter=\"source\",source_workload=\"consumer\","
                      "destination_service=\"service-provider.default.svc.cluster.local\","
                      "destination_service_name=\"service-provider\",destination_version=\"v1\","
                      "response_code=\"200\",response_flags=\"-\",request_protocol=\"http\","
                      "grpc_response_status=\"\"} 1"),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("istio_request_duration_milliseconds_bucket"), std::string::npos);
  std::string clusters = admin("/clusters");
  EXPECT_NE(clusters.find("outbound||v1|service-provider.default.svc.cluster.local::127.0.0.1:"),
            std::string::npos)
      << clusters;
  EXPECT_NE(clusters.find("label=v1"), std::string::npos);
  std::string dump = admin("/config_dump");
  EXPECT_NE(dump.find("hello-v1"), std::string::npos);
}

TEST_F(SidecarTest, FaultAbortPercentageIsApplied) {
  start(R"(
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - fault:
      abort: {httpStatus: 451, percentage: {value: 50}}
    route: [{destination: {host: service-provider}}]
)");
  int aborted = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = get("http://service-provider/x");
    ASSERT_TRUE(r.has_value());
    aborted += r->head.status == 451 ? 1 : 0;
  }
  EXPECT_GT(aborted, 60);
  EXPECT_LT(aborted, 140);
}

// Every request to subset v1, whose DestinationRule has `connection_pool` (YAML lines under
// trafficPolicy.connectionPool, indented 6).
std::string poolLimitedConfig(std::string_view connection_pool) {
  return fmt::format(R"(
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: sp
spec:
  host: service-provider
  trafficPolicy:
    loadBalancer: {{simple: ROUND_ROBIN}}
    connectionPool:
{}
  subsets:
  - name: v1
    labels: {{label: v1}}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: sp
spec:
  hosts: [service-provider]
  http:
  - route: [{{destination: {{host: service-provider, subset: v1}}}}]
)",
                     connection_pool);
}

TEST_F(SidecarTest, ConnectionPoolOverflowGives503) {
  start(poolLimitedConfig(
      "      tcp: {maxConnections: 1}\n      http: {http1MaxPendingRequests: 1}"));
  // A one-connection pool with one pending slot: the first request holds the connection (the
  // upstream answers only when released), the second waits in the pending slot, so the third
  // overflows. Each step waits for the state the next one needs.
  std::vector<int> status(2, 0);
  std::vector<std::thread> threads;
  auto send = [&](int i) {
    threads.emplace_back([&, i] {
      auto r = get("http://service-provider/hold");
      status[i] = r ? r->head.status : -1;
    });
  };
  send(0);
  ASSERT_TRUE(eventually([&] { return v1_.hits() == 1; }));
  send(1);
  const std::string pending =
      "outbound||v1|service-provider.default.svc.cluster.local::pending_requests::1\n";
  bool queued = eventually([&] { return admin("/clusters").find(pending) != std::string::npos; });
  auto third = get("http://service-provider/hold");
  v1_.releaseHeld();
  for (auto& t : threads) t.join();
  ASSERT_TRUE(queued) << admin("/clusters");
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->head.status, 503);
  EXPECT_NE(third->body.find("upstream connection pool overflow"), std::string::npos);
  EXPECT_EQ(status, (std::vector<int>{200, 200}));
  EXPECT_EQ(v1_.hits(), 2);
}

TEST_F(SidecarTest, Http2MaxRequestsCapsTheRequestsInFlight) {
  start(poolLimitedConfig("      http: {http2MaxRequests: 1}"));
  // One request in flight (the upstream holds it): the next overflows at once, no queueing.
  int first = 0;
  std::thread holder([&] {
    auto r = get("http://service-provider/hold");
    first = r ? r->head.status : -1;
  });
  ASSERT_TRUE(eventually([&] { return v1_.hits() == 1; }));
  auto second = get("http://service-provider/hold");
  v1_.releaseHeld();
  holder.join();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->head.status, 503);
  EXPECT_NE(second->body.find("upstream connection pool overflow"), std::string::npos);
  EXPECT_EQ(first, 200);
  EXPECT_EQ(v1_.hits(), 1);
  // Once it finished, the next one goes through.
  auto third = get("http://service-provider/x");
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->head.status, 200);
}

TEST(SidecarHealth, NoHealthyUpstreamNamesTheService) {
  registry::Service s;
  s.name = "svc";
  registry::Instance down;
  down.ip = "127.0.0.1";
  down.port = 9;
  down.healthy = false;
  s.instances = {down};
  ProxyServer server;
  ProxyOptions o;
  o.listen = {{"127.0.0.1", 0}};
  ASSERT_TRUE(server.start(o, snapshotOf("", {s})).has_value());
  http::ClientRequest r;
  r.url = "http://svc/x";
  r.proxy = server.boundAddresses().at(0);
  auto resp = http::fetchBlocking(r);
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->head.status, 503);
  EXPECT_EQ(resp->body, "no healthy upstream for svc.default.svc.cluster.local\n");
}

TEST(Gateway, ServesGatewayPortWithOffsetAndRoutesToTheBoundVirtualService) {
  Upstream consumer("consumer");
  registry::Service s;
  s.name = "consumer";
  registry::Instance i;
  i.ip = "127.0.0.1";
  i.port = consumer.port();
  s.instances = {i};
  // Pick a free port P and set the offset so that Gateway port 80 lands on it.
  uint16_t free_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    free_port = a.local_endpoint().port();
  }
  ProxyServer server;
  ProxyOptions o;
  o.mode = ProxyOptions::Mode::kGateway;
  o.port_offset = free_port - 80;
  auto snap = snapshotOf(R"(
apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata:
  name: test-gateway
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "*"
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: consumer
spec:
  hosts:
  - "*"
  gateways:
  - test-gateway
  http:
  - match:
    - uri:
        prefix: /
    route:
    - destination:
        host: consumer.default.svc.cluster.local
        port:
          number: 8080
)",
                         {s});
  auto st = server.start(o, snap);
  ASSERT_TRUE(st.has_value()) << st.error().message;
  ASSERT_EQ(server.boundAddresses().size(), 1u);
  EXPECT_EQ(server.boundAddresses()[0].port, free_port);
  http::ClientRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(free_port) + "/echo/world";
  auto resp = http::fetchBlocking(r);
  ASSERT_TRUE(resp.has_value()) << resp.error().message;
  EXPECT_EQ(resp->head.status, 200);
  EXPECT_EQ(resp->body, "consumer GET /echo/world");
}

}  // namespace
}  // namespace sluice::proxy
