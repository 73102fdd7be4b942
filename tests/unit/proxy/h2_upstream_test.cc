// The HTTP/2 upstream (proxy/h2_upstream.h) against an in-process HTTP/2 server (the h2 session
// codec, nghttp2, over a loopback socket): what the request path hands it goes out as HTTP/2 and
// what comes back is the UpstreamStream the attempt and the response phases read. Heads without
// HTTP/1.1 text, bodies both ways with flow control, trailers, resets, one shared connection.
#include "proxy/h2_upstream.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "http/h2/session.h"
#include "proxy/load_balancer.h"
#include "proxy/stats.h"

namespace sluice::proxy {
namespace {

using asio::awaitable;
using asio::ip::tcp;
namespace h2 = http::h2;
using namespace std::chrono_literals;

// An HTTP/2 server: every request recorded (by connection, in accept order, and stream id),
// answered by `answer` once it ended (`on_head` sees it as soon as its head came). Request DATA
// is credited back as it arrives.
class TestServer {
 public:
  struct Request {
    http::RequestHead head;
    std::string body;
    http::Headers trailers;
    bool ended = false;
    h2::ErrorCode close_code = h2::ErrorCode::kNoError;
    bool closed = false;
  };
  using Key = std::pair<int, int32_t>;  // (connection, stream)
  std::function<void(h2::Session&, int32_t, Request&)> answer;
  std::function<void(h2::Session&, int32_t, Request&)> on_head;
  std::map<Key, Request> requests;
  int connections = 0;

  explicit TestServer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    asio::co_spawn(io, acceptLoop(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  class Connection final : public h2::SessionCallbacks {
   public:
    Connection(TestServer& server, int index, tcp::socket socket)
        : server_(server), index_(index), socket_(std::move(socket)) {
      session_ = h2::Session::server(h2::Settings{}, *this);
    }
    void onRequestHead(int32_t id, http::RequestHead& head, bool end) override {
      Request& r = at(id);
      r.head = std::move(head);
      r.ended = end;
      if (server_.on_head) server_.on_head(*session_, id, r);
      // (An END_STREAM on the HEADERS is reported through onEnd too: answered there.)
    }
    void onData(int32_t id, std::string_view data) override {
      at(id).body.append(data);
      session_->consume(id, data.size());
    }
    void onTrailers(int32_t id, http::Headers& t) override { at(id).trailers = std::move(t); }
    void onEnd(int32_t id) override {
      Request& r = at(id);
      r.ended = true;
      if (server_.answer) server_.answer(*session_, id, r);
    }
    void onClose(int32_t id, h2::ErrorCode code) override {
      at(id).closed = true;
      at(id).close_code = code;
    }
    awaitable<void> serve() {
      std::string out;
      char buf[16384];
      for (;;) {
        out.clear();
        session_->takeOutput(out);
        asio::error_code ec;
        if (!out.empty()) co_await asio::async_write(socket_, asio::buffer(out), withEc(ec));
        if (ec) co_return;
        size_t n = co_await socket_.async_read_some(asio::buffer(buf), withEc(ec));
        if (ec || n == 0) co_return;
        if (!session_->receive({buf, n})) co_return;
      }
    }

   private:
    Request& at(int32_t id) { return server_.requests[{index_, id}]; }
    TestServer& server_;
    int index_;
    tcp::socket socket_;
    std::unique_ptr<h2::Session> session_;
  };

  awaitable<void> acceptLoop() {
    for (;;) {
      asio::error_code ec;
      tcp::socket s = co_await acceptor_.async_accept(withEc(ec));
      if (ec) co_return;
      conns_.push_back(std::make_unique<Connection>(*this, connections++, std::move(s)));
      asio::co_spawn(acceptor_.get_executor(), conns_.back()->serve(), asio::detached);
    }
  }

  tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<Connection>> conns_;
};

void respond(h2::Session& s, int32_t id, int status, const http::Headers& headers,
             std::string_view body, const http::Headers* trailers = nullptr) {
  http::ResponseHead h;
  h.status = status;
  h.headers = headers;
  bool end = body.empty() && trailers == nullptr;
  ASSERT_TRUE(s.submitResponse(id, h, end));
  if (end) return;
  if (trailers != nullptr) {
    if (!body.empty()) s.sendData(id, body, false);
    s.submitTrailers(id, *trailers);
  } else {
    s.sendData(id, body, true);
  }
}

http::Headers fields(std::initializer_list<std::pair<std::string, std::string>> list) {
  http::Headers h;
  for (const auto& [n, v] : list) h.add(n, v);
  return h;
}

http::RequestHead request(std::string method, std::string target, std::string host) {
  http::RequestHead h;
  h.method = std::move(method);
  h.target = std::move(target);
  h.path = "/stale";  // what the request path's rewrite left behind: target wins
  h.authority = "stale:1";
  h.headers.add("host", host);
  return h;
}

struct Client {
  explicit Client(asio::io_context& ctx, uint16_t port) : io(ctx) {
    ep.endpoint.ip = "127.0.0.1";
    ep.endpoint.port = port;
    ep.address = ep.endpoint.address();
  }
  awaitable<std::unique_ptr<UpstreamStream>> open(uint32_t max_streams = UINT32_MAX) {
    auto pooled =
        co_await openHttp2Stream(io, stats, ep, std::chrono::steady_clock::now() + 5s, max_streams);
    EXPECT_EQ(pooled.result, ConnectResult::kOk);
    co_return std::move(pooled.connection);
  }
  asio::io_context& io;
  WorkerStats stats;
  EndpointState ep;
};

// Runs `body` (kept alive by the caller) on `io` until it finished or 10 s passed.
bool runFor(asio::io_context& io, const std::function<awaitable<void>()>& body) {
  bool done = false;
  asio::co_spawn(io, body(), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
    io.stop();
  });
  io.run_for(10s);
  return done;
}

TEST(H2UpstreamTest, TheHeadGoesOutAsPseudoHeadersAndAContentLengthAnswerComesBack) {
  asio::io_context io;
  TestServer server(io);
  server.answer = [](h2::Session& s, int32_t id, TestServer::Request&) {
    respond(s, id, 200, fields({{"content-length", "5"}, {"x-up", "1"}}), "hello");
  };
  Client c(io, server.port());
  http::ResponseHead resp;
  ResponseHeadRead head;
  PumpResult body;
  std::string collected;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    auto up = co_await c.open();
    http::RequestHead req = request("GET", "/x?y=1", "svc.ns:80");
    req.headers.add("connection", "keep-alive");
    req.headers.add("te", "gzip");
    Buffer in;
    EXPECT_TRUE(co_await up->sendRequest(req, {}, true));
    head = co_await up->readResponseHead(http::Limits{}, false, in, resp);
    body = co_await up->readResponseBody(head.head.framing, http::Limits{}, in,
                                         BodySink::intoString(collected, 1 << 20));
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  ASSERT_EQ(server.requests.size(), 1u);
  const http::RequestHead& seen = server.requests.begin()->second.head;
  EXPECT_EQ(seen.method, "GET");
  EXPECT_EQ(seen.path, "/x?y=1");
  EXPECT_EQ(seen.authority, "svc.ns:80");
  EXPECT_FALSE(seen.headers.has("connection"));
  EXPECT_FALSE(seen.headers.has("te"));
  ASSERT_EQ(head.head.status, http::ParseStatus::kComplete);
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.headers.get("x-up").value_or(""), "1");
  EXPECT_EQ(head.head.framing.kind, http::BodyKind::kContentLength);
  EXPECT_EQ(head.head.framing.length, 5u);
  EXPECT_TRUE(body.ok());
  EXPECT_EQ(collected, "hello");
}

TEST(H2UpstreamTest, AGrpcAnswerIsChunkedForAnHttp1HopWithItsTrailers) {
  asio::io_context io;
  TestServer server(io);
  http::Headers trailers = fields({{"grpc-status", "0"}});
  server.answer = [&](h2::Session& s, int32_t id, TestServer::Request&) {
    respond(s, id, 200, fields({{"content-type", "application/grpc"}, {"content-length", "3"}}),
            "abc", &trailers);
  };
  Client c(io, server.port());
  http::ResponseHead resp;
  ResponseHeadRead head;
  PumpResult body;
  std::string wire;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    auto up = co_await c.open();
    http::RequestHead req = request("POST", "/pkg.Svc/Call", "svc:50051");
    req.headers.add("content-type", "application/grpc");
    Buffer in;
    EXPECT_TRUE(co_await up->sendRequest(req, std::string_view("\0\0\0\0\0", 5), true));
    head = co_await up->readResponseHead(http::Limits{}, false, in, resp);
    auto pair = ByteStream::localPair(io.get_executor());
    body = co_await up->readResponseBody(head.head.framing, http::Limits{}, in,
                                         BodySink::toSocket(pair.first));
    asio::error_code ec;
    pair.first.shutdown(tcp::socket::shutdown_send, ec);
    Buffer got;
    while (co_await readMore(pair.second, got, ec) > 0) {
    }
    wire = std::string(got.view());
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  const TestServer::Request& seen = server.requests.begin()->second;
  EXPECT_EQ(seen.head.headers.get("te").value_or(""), "trailers");
  EXPECT_EQ(seen.body.size(), 5u);
  EXPECT_EQ(head.head.framing.kind, http::BodyKind::kChunked);
  EXPECT_FALSE(resp.headers.has("content-length"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(wire, "3\r\nabc\r\n0\r\ngrpc-status: 0\r\n\r\n");
  EXPECT_EQ(body.trailers.get("grpc-status").value_or(""), "0");
}

TEST(H2UpstreamTest, AStreamedBodyOfThreeMegabytesGoesUpWithItsTrailers) {
  asio::io_context io;
  TestServer server(io);
  server.answer = [](h2::Session& s, int32_t id, TestServer::Request& r) {
    respond(s, id, 200, {}, std::to_string(r.body.size()));
  };
  Client c(io, server.port());
  std::string collected;
  ResponseHeadRead head;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    auto up = co_await c.open();
    http::RequestHead req = request("PUT", "/upload", "svc:80");
    Buffer in;
    EXPECT_TRUE(co_await up->sendRequest(req, {}, false));
    BodySink sink = up->requestBodySink();
    std::string piece(16384, 'x');
    for (int i = 0; i < 192; ++i) EXPECT_TRUE(co_await sink.data->write(piece));
    up->finishRequestBody(fields({{"x-checksum", "abc"}}));
    http::ResponseHead resp;
    head = co_await up->readResponseHead(http::Limits{}, false, in, resp);
    co_await up->readResponseBody(head.head.framing, http::Limits{}, in,
                                  BodySink::intoString(collected, 1 << 20));
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  const TestServer::Request& seen = server.requests.begin()->second;
  EXPECT_EQ(seen.body.size(), 192u * 16384u);
  EXPECT_EQ(seen.trailers.get("x-checksum").value_or(""), "abc");
  // No Content-Length from the upstream and not gRPC: chunked for the next hop.
  EXPECT_EQ(head.head.framing.kind, http::BodyKind::kChunked);
  EXPECT_EQ(collected, std::to_string(192 * 16384));
}

TEST(H2UpstreamTest, ResponsesBeyondTheConnectionWindowFlowOnOneConnection) {
  // 100 answers of 64 KiB, 6.25 MiB in all, over one connection whose receive window is 1 MiB:
  // what the request path hands on keeps reopening the connection's window.
  asio::io_context io;
  TestServer server(io);
  std::string big(64 * 1024, 'b');
  server.answer = [&](h2::Session& s, int32_t id, TestServer::Request&) {
    respond(s, id, 200, fields({{"content-length", std::to_string(big.size())}}), big);
  };
  Client c(io, server.port());
  int complete = 0;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    for (int i = 0; i < 100; ++i) {
      auto up = co_await c.open();
      http::RequestHead req = request("GET", "/big", "svc:80");
      Buffer in;
      http::ResponseHead resp;
      if (!co_await up->sendRequest(req, {}, true)) break;
      ResponseHeadRead head = co_await up->readResponseHead(http::Limits{}, false, in, resp);
      if (head.head.status != http::ParseStatus::kComplete) break;
      // Half of them the way a small answer goes out (what already came, taken at once).
      if (i % 2 == 0) {
        std::string_view got = up->receivedBody(in);
        up->consumeBody(in, got.size());
      }
      std::string collected;
      PumpResult p = co_await up->readResponseBody(head.head.framing, http::Limits{}, in,
                                                   BodySink::intoString(collected, 1 << 20));
      if (!p.ok()) break;
      ++complete;
    }
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  EXPECT_EQ(complete, 100);
  EXPECT_EQ(c.stats.upstream_connections_total, 1u);
  EXPECT_EQ(server.connections, 1);
}

TEST(H2UpstreamTest, TwoRequestsAtOnceShareOneConnection) {
  asio::io_context io;
  TestServer server(io);
  server.answer = [](h2::Session& s, int32_t id, TestServer::Request& r) {
    respond(s, id, 200, {}, r.head.path);
  };
  Client c(io, server.port());
  std::string a_body, b_body;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    auto a = co_await c.open();
    auto b = co_await c.open();
    http::RequestHead ra = request("GET", "/a", "svc:80");
    http::RequestHead rb = request("GET", "/b", "svc:80");
    Buffer in;
    EXPECT_TRUE(co_await a->sendRequest(ra, {}, true));
    EXPECT_TRUE(co_await b->sendRequest(rb, {}, true));
    http::ResponseHead resp;
    auto hb = co_await b->readResponseHead(http::Limits{}, false, in, resp);
    co_await b->readResponseBody(hb.head.framing, http::Limits{}, in,
                                 BodySink::intoString(b_body, 100));
    auto ha = co_await a->readResponseHead(http::Limits{}, false, in, resp);
    co_await a->readResponseBody(ha.head.framing, http::Limits{}, in,
                                 BodySink::intoString(a_body, 100));
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  EXPECT_EQ(a_body, "/a");
  EXPECT_EQ(b_body, "/b");
  EXPECT_EQ(server.connections, 1);
  EXPECT_EQ(server.requests.size(), 2u);
}

TEST(H2UpstreamTest, MaxConcurrentStreamsOpensAnotherConnectionWhenOneIsFull) {
  asio::io_context io;
  TestServer server(io);
  server.answer = [](h2::Session& s, int32_t id, TestServer::Request&) {
    respond(s, id, 204, {}, {});
  };
  Client c(io, server.port());
  size_t connections_for_three = 0;
  size_t connections_after = 0;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    {
      // Two streams per connection: the third request needs a second connection.
      auto a = co_await c.open(2);
      auto b = co_await c.open(2);
      auto third = co_await c.open(2);
      connections_for_three = c.ep.http2.size();
      http::RequestHead req = request("GET", "/", "svc:80");
      Buffer in;
      http::ResponseHead resp;
      for (UpstreamStream* up : {a.get(), b.get(), third.get()}) {
        EXPECT_TRUE(co_await up->sendRequest(req, {}, true));
        auto h = co_await up->readResponseHead(http::Limits{}, false, in, resp);
        EXPECT_EQ(h.head.status, http::ParseStatus::kComplete);
      }
    }
    // All three done: the first connection has room again.
    auto next = co_await c.open(2);
    connections_after = c.ep.http2.size();
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  EXPECT_EQ(connections_for_three, 2u);
  EXPECT_EQ(connections_after, 2u);
  EXPECT_EQ(c.stats.upstream_connections_total, 2u);
  EXPECT_EQ(server.connections, 2);
  EXPECT_EQ(server.requests.size(), 3u);
}

TEST(H2UpstreamTest, AStreamRefusedBeforeItsHeadIsAReset) {
  asio::io_context io;
  TestServer server(io);
  server.on_head = [](h2::Session& s, int32_t id, TestServer::Request&) {
    s.resetStream(id, h2::ErrorCode::kRefusedStream);
  };
  Client c(io, server.port());
  ResponseHeadRead head;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    auto up = co_await c.open();
    http::RequestHead req = request("GET", "/", "svc:80");
    Buffer in;
    http::ResponseHead resp;
    EXPECT_TRUE(co_await up->sendRequest(req, {}, true));
    head = co_await up->readResponseHead(http::Limits{}, false, in, resp);
    EXPECT_FALSE(up->is_open());
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  EXPECT_EQ(head.head.status, http::ParseStatus::kIncomplete);
  EXPECT_EQ(head.ec, asio::error::connection_reset);
}

TEST(H2UpstreamTest, ClosingAnUnfinishedStreamResetsItAndKeepsTheConnection) {
  asio::io_context io;
  TestServer server(io);
  bool second_answered = false;
  server.answer = [&](h2::Session& s, int32_t id, TestServer::Request&) {
    second_answered = true;
    respond(s, id, 204, {}, {});
  };
  Client c(io, server.port());
  ResponseHeadRead second;
  std::function<awaitable<void>()> run = [&]() -> awaitable<void> {
    {
      auto up = co_await c.open();
      http::RequestHead req = request("POST", "/slow", "svc:80");
      EXPECT_TRUE(co_await up->sendRequest(req, {}, false));  // the body never comes
      asio::error_code ec;
      up->close(ec);  // the attempt's deadline
      EXPECT_FALSE(up->is_open());
    }
    auto up = co_await c.open();
    http::RequestHead req = request("GET", "/next", "svc:80");
    Buffer in;
    http::ResponseHead resp;
    EXPECT_TRUE(co_await up->sendRequest(req, {}, true));
    second = co_await up->readResponseHead(http::Limits{}, false, in, resp);
    EXPECT_EQ(resp.status, 204);
    EXPECT_EQ(second.head.framing.kind, http::BodyKind::kNone);
    c.ep.http2.clear();
  };
  ASSERT_TRUE(runFor(io, run));
  const TestServer::Key first{0, 1};
  ASSERT_EQ(server.requests.count(first), 1u);
  EXPECT_TRUE(server.requests[first].closed);
  EXPECT_EQ(server.requests[first].close_code, h2::ErrorCode::kCancel);
  EXPECT_TRUE(second_answered);
  EXPECT_EQ(second.head.status, http::ParseStatus::kComplete);
  EXPECT_EQ(server.connections, 1);
}

}  // namespace
}  // namespace sluice::proxy
