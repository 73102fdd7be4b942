#include <gtest/gtest.h>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "test_sockets.h"

namespace sluice::http {
namespace {

using testing::CannedServer;
using testing::RawClient;
using namespace std::chrono_literals;

// A server on 127.0.0.1:0 whose io_context runs on a background thread.
class ServerFixture : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}) {
    server_ = std::make_unique<Server>(
        io_, [this](Request r) { return handle(std::move(r)); }, options);
    auto bound = server_->listen({"127.0.0.1", 0});
    ASSERT_TRUE(bound) << bound.error().message;
    port_ = bound->port;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  asio::awaitable<Response> handle(Request request) {
    ++calls_;
    const std::string& path = request.head.path;
    if (path == "/throw") throw std::runtime_error("boom");
    if (path.starts_with("/slow")) {
      asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    if (path == "/json") co_return Response::json(201, R"({"ok":true})");
    Response r = Response::text(200, request.head.method + " " + path + " " + request.body);
    r.head.headers.add("X-Peer", request.peer.host);
    co_return r;
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  std::unique_ptr<Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::atomic<int> calls_{0};
};

TEST_F(ServerFixture, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(c.connected());
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(body, "GET /a ");
  EXPECT_EQ(*head.headers.get("X-Peer"), "127.0.0.1");
  EXPECT_EQ(*head.headers.get("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(head.headers.has("Connection"));
  ASSERT_TRUE(c.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(body, "POST /b xyz");
  ASSERT_TRUE(c.send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(*head.headers.get("Connection"), "close");
  EXPECT_TRUE(c.readEof());
  EXPECT_EQ(calls_, 3);
}

TEST_F(ServerFixture, Http10ClosesUnlessKeepAliveAsked) {
  start();
  RawClient c(port_);
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(*head.headers.get("Connection"), "keep-alive");
  ASSERT_TRUE(c.send("GET /b HTTP/1.0\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(body, "GET /b ");
  EXPECT_TRUE(c.readEof());
}

TEST_F(ServerFixture, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawClient c(port_);
  // The first is slow: order must still hold.
  ASSERT_TRUE(
      c.send("GET /slow1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "POST /two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nab\r\n0\r\n\r\n"
             "GET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::vector<std::string> bodies;
  for (int i = 0; i < 3; ++i) {
    ResponseHead head;
    std::string body;
    ASSERT_TRUE(c.readResponse(head, body)) << i;
    bodies.push_back(body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"GET /slow1 ", "POST /two ab", "GET /three "}));
}

TEST_F(ServerFixture, ExpectContinueGets100BeforeTheBody) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n"));
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 100);
  ASSERT_TRUE(c.send("hello"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(body, "PUT /up hello");
}

TEST_F(ServerFixture, SmugglingAttemptGets400AndClose) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
             "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"));
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 400);
  EXPECT_NE(body.find("Content-Length and Transfer-Encoding"), std::string::npos) << body;
  EXPECT_EQ(*head.headers.get("Connection"), "close");
  EXPECT_TRUE(c.readEof());
  EXPECT_EQ(calls_, 0);
}

TEST_F(ServerFixture, MalformedHeadsGetTheirStatus) {
  start();
  struct Row {
    std::string raw;
    int status;
  };
  for (const Row& row : std::vector<Row>{
           {"GET / HTTP/1.1\r\n\r\n", 400},
           {"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505},
           {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
           {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n", 414},
           {"GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(70 * 1024, 'a'), 431},
       }) {
    RawClient c(port_);
    ASSERT_TRUE(c.send(row.raw));
    ResponseHead head;
    std::string body;
    ASSERT_TRUE(c.readResponse(head, body)) << row.status;
    EXPECT_EQ(head.status, row.status) << body;
    EXPECT_TRUE(c.readEof());
  }
  EXPECT_EQ(calls_, 0);
}

TEST_F(ServerFixture, BadChunkedBodyGets400AndClose) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhelloXX0\r\n\r\n"));
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 400);
  EXPECT_NE(body.find("CRLF after chunk data"), std::string::npos) << body;
  EXPECT_TRUE(c.readEof());
  EXPECT_EQ(calls_, 0);
}

TEST_F(ServerFixture, ChunkedBodyWithTrailersReachesTheHandlerDecoded) {
  start();
  RawClient c(port_);
  ASSERT_TRUE(
      c.send("POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n"));
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(body, "POST /t abcde");
}

TEST_F(ServerFixture, StalledRequestsTimeOut) {
  ServerOptions options;
  options.idle_timeout_ms = 100;
  start(options);
  RawClient c(port_);
  ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.readEof());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  EXPECT_EQ(calls_, 0);
}

TEST_F(ServerFixture, OversizedBodiesGet413) {
  ServerOptions options;
  options.max_body_bytes = 16;
  start(options);
  {
    RawClient c(port_);
    ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                       std::string(100, 'z')));
    ResponseHead head;
    std::string body;
    ASSERT_TRUE(c.readResponse(head, body));
    EXPECT_EQ(head.status, 413);
    EXPECT_TRUE(c.readEof());
  }
  {
    RawClient c(port_);
    ASSERT_TRUE(
        c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "10\r\n0123456789abcdef\r\n1\r\nX\r\n0\r\n\r\n"));
    ResponseHead head;
    std::string body;
    ASSERT_TRUE(c.readResponse(head, body));
    EXPECT_EQ(head.status, 413);
    EXPECT_TRUE(c.readEof());
  }
  {
    RawClient c(port_);  // exactly at the cap passes
    ASSERT_TRUE(
        c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n" + std::string(16, 'z')));
    ResponseHead head;
    std::string body;
    ASSERT_TRUE(c.readResponse(head, body));
    EXPECT_EQ(head.status, 200);
  }
  EXPECT_EQ(calls_, 1);
}

TEST_F(ServerFixture, HandlerExceptionBecomes500AndTheConnectionLives) {
  start();
  RawClient c(port_);
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(
      c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 500);
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(head.status, 201);
  EXPECT_EQ(*head.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(body, R"({"ok":true})");
}

TEST_F(ServerFixture, HeadRequestsGetContentLengthButNoBody) {
  start();
  RawClient c(port_);
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body, true));
  EXPECT_EQ(*head.headers.get("Content-Length"), "8");  // "HEAD /h "
  EXPECT_EQ(body, "");
  ASSERT_TRUE(c.readResponse(head, body));
  EXPECT_EQ(body, "GET /g ");
}

TEST_F(ServerFixture, IdleConnectionsTimeOut) {
  ServerOptions options;
  options.idle_timeout_ms = 100;
  start(options);
  RawClient c(port_);
  auto begin = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.readEof());
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
}

TEST_F(ServerFixture, StopClosesIdleConnectionsAndTheListener) {
  start();
  RawClient c(port_);
  ResponseHead head;
  std::string body;
  ASSERT_TRUE(c.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(c.readResponse(head, body));
  server_->stop();
  EXPECT_TRUE(c.readEof());
  RawClient late(port_);
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerFixture, ClientTalksToServer) {
  start();
  ClientRequest get;
  get.url = "http://127.0.0.1:" + std::to_string(port_) + "/hello?x=1";
  auto r = fetchBlocking(get);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->head.status, 200);
  EXPECT_EQ(r->body, "GET /hello?x=1 ");

  ClientRequest post;
  post.method = "POST";
  post.url = "http://localhost:" + std::to_string(port_) + "/p";
  post.body = "payload";
  post.headers.add("Content-Type", "text/plain");
  r = fetchBlocking(post);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->body, "POST /p payload");

  ClientRequest head;
  head.method = "HEAD";
  head.url = get.url;
  r = fetchBlocking(head);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->body, "");
}

TEST(Client, ReadsChunkedResponsesAndSkipsInterimOnes) {
  CannedServer server(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n "
      "world\r\n0\r\n\r\n");
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/c";
  auto r = fetchBlocking(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->head.status, 200);
  EXPECT_EQ(r->body, "hello world");
  const std::string& sent = server.request();
  EXPECT_TRUE(sent.starts_with("GET /c HTTP/1.1\r\n")) << sent;
  EXPECT_NE(sent.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << sent;
}

TEST(Client, ReadsUntilCloseResponses) {
  CannedServer server("HTTP/1.0 200 OK\r\n\r\nall of it");
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = fetchBlocking(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->body, "all of it");
}

TEST(Client, SendsAbsoluteFormToAProxy) {
  CannedServer proxy("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ClientRequest req;
  req.url = "http://provider:8080/echo/x?y=1";
  req.proxy = net::HostPort{"127.0.0.1", proxy.port()};
  auto r = fetchBlocking(req);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->body, "ok");
  const std::string& sent = proxy.request();
  EXPECT_TRUE(sent.starts_with("GET http://provider:8080/echo/x?y=1 HTTP/1.1\r\n")) << sent;
  EXPECT_NE(sent.find("Host: provider:8080\r\n"), std::string::npos) << sent;
}

TEST(Client, MalformedResponseIsAnUpstreamError) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx");
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = fetchBlocking(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().source, ErrorSource::kUpstream);
}

TEST(Client, TruncatedResponseIsUnavailable) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  auto r = fetchBlocking(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(Client, TimesOutAgainstAServerThatNeverAnswers) {
  CannedServer silent("", /*answer=*/false);
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/";
  req.timeout = 200ms;
  auto begin = std::chrono::steady_clock::now();
  auto r = fetchBlocking(req);
  auto took = std::chrono::steady_clock::now() - begin;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kTimeout) << r.error().describe();
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
}

TEST(Client, ConnectionRefusedIsRetryableUnavailable) {
  uint16_t port;
  {
    CannedServer once("HTTP/1.1 204 No Content\r\n\r\n");
    port = once.port();
    ClientRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
    ASSERT_TRUE(fetchBlocking(req));
  }
  ClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto r = fetchBlocking(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(r.error().retryable);
}

TEST(Client, BadUrlIsInvalidArgument) {
  ClientRequest req;
  req.url = "not a url";
  auto r = fetchBlocking(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  req.url = "https://127.0.0.1/";
  r = fetchBlocking(req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::http
