#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "http/h2/session.h"

namespace sluice::http::h2 {
namespace {

// Writes what happened as text lines, so a whole exchange compares with one EXPECT_EQ. Data
// pieces are joined per stream (their split depends on how the bytes arrived).
struct Recorder final : SessionCallbacks {
  std::vector<std::string> events;
  std::string data;
  Session* session = nullptr;  // consume() as data arrives, when set
  void flushData(int32_t stream) {
    if (data.empty()) return;
    events.push_back("data " + std::to_string(stream) + " " + data);
    data.clear();
  }
  void onRequestHead(int32_t stream, RequestHead& h, bool end) override {
    std::string e = "request " + std::to_string(stream) + " " + h.method + " " + h.scheme + "://" +
                    h.authority + h.path + (end ? " end" : "");
    for (const auto& [n, v] : h.headers.entries()) e += " " + n + "=" + v;
    events.push_back(e);
  }
  void onResponseHead(int32_t stream, ResponseHead& h, bool end) override {
    std::string e =
        "response " + std::to_string(stream) + " " + std::to_string(h.status) + (end ? " end" : "");
    for (const auto& [n, v] : h.headers.entries()) e += " " + n + "=" + v;
    events.push_back(e);
  }
  void onData(int32_t stream, std::string_view d) override {
    data.append(d);
    if (session != nullptr) session->consume(stream, d.size());
  }
  void onTrailers(int32_t stream, Headers& t) override {
    flushData(stream);
    std::string e = "trailers " + std::to_string(stream);
    for (const auto& [n, v] : t.entries()) e += " " + n + "=" + v;
    events.push_back(e);
  }
  void onEnd(int32_t stream) override {
    flushData(stream);
    events.push_back("end " + std::to_string(stream));
  }
  void onClose(int32_t stream, ErrorCode code) override {
    flushData(stream);
    events.push_back("close " + std::to_string(stream) + " " + std::string(errorCodeName(code)));
  }
  void onGoAway(int32_t last, ErrorCode code) override {
    events.push_back("goaway " + std::to_string(last) + " " + std::string(errorCodeName(code)));
  }
};

RequestHead grpcRequest() {
  RequestHead h;
  h.method = "POST";
  h.scheme = "http";
  h.authority = "provider.default.svc.cluster.local:50051";
  h.path = "/echo.Echo/Say";
  h.headers.add("content-type", "application/grpc");
  h.headers.add("te", "trailers");
  h.headers.add("Connection", "keep-alive");  // connection-specific: never sent on HTTP/2
  h.headers.add("x-user", "alice");
  return h;
}

// The client's bytes for one request with a body and trailers.
std::string clientRequestBytes() {
  Recorder rec;
  auto client = Session::client({}, rec);
  auto id = client->submitRequest(grpcRequest(), false);
  EXPECT_TRUE(id.has_value());
  client->sendData(*id, "hello, ", false);
  client->sendData(*id, "world", false);
  Headers t;
  t.add("x-checksum", "42");
  client->submitTrailers(*id, t);
  std::string out;
  client->takeOutput(out);
  return out;
}

const std::vector<std::string> kExpectedRequest = {
    "request 1 POST http://provider.default.svc.cluster.local:50051/echo.Echo/Say "
    "content-type=application/grpc te=trailers x-user=alice",
    "data 1 hello, world",
    "trailers 1 x-checksum=42",
    "end 1",
};

TEST(H2Session, RequestWithBodyAndTrailersSplitAtEveryByte) {
  const std::string bytes = clientRequestBytes();
  ASSERT_GT(bytes.size(), kClientPreface.size());
  ASSERT_EQ(bytes.substr(0, kClientPreface.size()), kClientPreface);
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    Recorder rec;
    auto server = Session::server({}, rec);
    rec.session = server.get();
    ASSERT_TRUE(server->receive(std::string_view(bytes).substr(0, cut)).has_value()) << cut;
    ASSERT_TRUE(server->receive(std::string_view(bytes).substr(cut)).has_value()) << cut;
    EXPECT_EQ(rec.events, kExpectedRequest) << "cut at " << cut;
  }
}

TEST(H2Session, RequestFedOneByteAtATime) {
  const std::string bytes = clientRequestBytes();
  Recorder rec;
  auto server = Session::server({}, rec);
  for (char c : bytes) ASSERT_TRUE(server->receive(std::string_view(&c, 1)).has_value());
  EXPECT_EQ(rec.events, kExpectedRequest);
}

// A client and a server session wired back to back.
struct Pair {
  Recorder client_rec, server_rec;
  std::unique_ptr<Session> client = Session::client({}, client_rec);
  std::unique_ptr<Session> server;
  explicit Pair(Settings server_settings = {}) {
    server = Session::server(server_settings, server_rec);
    client_rec.session = client.get();
    server_rec.session = server.get();
  }
  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int round = 0; round < 50; ++round) {
      std::string c2s, s2c;
      client->takeOutput(c2s);
      server->takeOutput(s2c);
      if (c2s.empty() && s2c.empty()) return;
      if (!c2s.empty()) (void)server->receive(c2s);
      if (!s2c.empty()) (void)client->receive(s2c);
    }
  }
};

TEST(H2Session, ResponseWithBodyAndTrailersSplitAtEveryByte) {
  // The server's answer bytes, produced once.
  Pair p;
  auto id = p.client->submitRequest(grpcRequest(), true);
  ASSERT_TRUE(id.has_value());
  std::string c2s;
  p.client->takeOutput(c2s);
  ASSERT_TRUE(p.server->receive(c2s).has_value());
  ResponseHead resp;
  resp.status = 200;
  resp.headers.add("Content-Type", "application/grpc");
  resp.headers.add("transfer-encoding", "chunked");  // connection-specific: dropped
  ASSERT_TRUE(p.server->submitResponse(*id, resp, false).has_value());
  p.server->sendData(*id, std::string(40000, 'x'), false);  // more than one DATA frame
  Headers t;
  t.add("grpc-status", "0");
  t.add("grpc-message", "OK");
  p.server->submitTrailers(*id, t);
  std::string s2c;
  p.server->takeOutput(s2c);
  const std::vector<std::string> expected = {
      "response 1 200 content-type=application/grpc",
      "data 1 " + std::string(40000, 'x'),
      "trailers 1 grpc-status=0 grpc-message=OK",
      "end 1",
      "close 1 NO_ERROR",
  };
  for (size_t cut = 0; cut <= s2c.size(); cut += (cut < 200 || cut + 200 > s2c.size()) ? 1 : 97) {
    Recorder rec;
    auto client = Session::client({}, rec);
    rec.session = client.get();
    ASSERT_TRUE(client->submitRequest(grpcRequest(), true).has_value());
    std::string ignored;
    client->takeOutput(ignored);
    ASSERT_TRUE(client->receive(std::string_view(s2c).substr(0, cut)).has_value()) << cut;
    ASSERT_TRUE(client->receive(std::string_view(s2c).substr(cut)).has_value()) << cut;
    EXPECT_EQ(rec.events, expected) << "cut at " << cut;
  }
}

TEST(H2Session, BackToBackExchangeWithFlowControlBeyondTheInitialWindow) {
  Pair p;
  auto id = p.client->submitRequest(grpcRequest(), false);
  ASSERT_TRUE(id.has_value());
  const std::string big(300 * 1024, 'b');  // larger than both default windows
  p.client->sendData(*id, big, true);
  p.pump();
  ASSERT_EQ(p.server_rec.events.size(), 3u);
  EXPECT_TRUE(p.server_rec.events[1] == "data 1 " + big);  // not printed: 300 KiB
  EXPECT_EQ(p.server_rec.events[2], "end 1");
  EXPECT_EQ(p.client->queuedBytes(*id), 0u);
}

TEST(H2Session, WithoutConsumeTheSenderStopsAtTheWindow) {
  Pair p;
  p.server_rec.session = nullptr;  // the server never forwards what it got
  auto id = p.client->submitRequest(grpcRequest(), false);
  ASSERT_TRUE(id.has_value());
  p.client->sendData(*id, std::string(600 * 1024, 'b'), true);
  p.pump();
  // The stream window (256 KiB announced by the server) bounds what went out.
  EXPECT_GE(p.client->queuedBytes(*id), 600u * 1024 - 256 * 1024);
  EXPECT_LE(p.server_rec.data.size(), 256u * 1024);
}

// ---- RFC 9113 cases a proxy must reject (frames written by hand, not by nghttp2) ----

std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string f;
  size_t len = payload.size();
  f.push_back(static_cast<char>((len >> 16) & 0xff));
  f.push_back(static_cast<char>((len >> 8) & 0xff));
  f.push_back(static_cast<char>(len & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>((stream >> 24) & 0x7f));
  f.push_back(static_cast<char>((stream >> 16) & 0xff));
  f.push_back(static_cast<char>((stream >> 8) & 0xff));
  f.push_back(static_cast<char>(stream & 0xff));
  f.append(payload);
  return f;
}

constexpr uint8_t kData = 0, kHeaders = 1, kRstStream = 3, kSettings = 4, kGoAway = 7;
constexpr uint8_t kEndStream = 0x1, kEndHeaders = 0x4;

// HPACK "literal header field without indexing, new name" (RFC 7541 §6.2.2), short strings.
std::string literal(std::string_view name, std::string_view value) {
  std::string b;
  b.push_back(0x00);
  b.push_back(static_cast<char>(name.size()));
  b.append(name);
  b.push_back(static_cast<char>(value.size()));
  b.append(value);
  return b;
}

std::string validPseudo() {
  return literal(":method", "GET") + literal(":scheme", "http") + literal(":authority", "h") +
         literal(":path", "/");
}

std::string start() { return std::string(kClientPreface) + frame(kSettings, 0, 0, ""); }

struct Frame {
  uint8_t type;
  uint32_t stream;
  std::string payload;
};

std::vector<Frame> parseFrames(std::string_view b) {
  std::vector<Frame> out;
  while (b.size() >= 9) {
    size_t len = (static_cast<uint8_t>(b[0]) << 16) | (static_cast<uint8_t>(b[1]) << 8) |
                 static_cast<uint8_t>(b[2]);
    if (b.size() < 9 + len) break;
    uint32_t stream = ((static_cast<uint8_t>(b[5]) & 0x7f) << 24) |
                      (static_cast<uint8_t>(b[6]) << 16) | (static_cast<uint8_t>(b[7]) << 8) |
                      static_cast<uint8_t>(b[8]);
    out.push_back({static_cast<uint8_t>(b[3]), stream, std::string(b.substr(9, len))});
    b.remove_prefix(9 + len);
  }
  return out;
}

uint32_t be32(std::string_view p, size_t at) {
  return (static_cast<uint8_t>(p[at]) << 24) | (static_cast<uint8_t>(p[at + 1]) << 16) |
         (static_cast<uint8_t>(p[at + 2]) << 8) | static_cast<uint8_t>(p[at + 3]);
}

struct Verdict {
  std::vector<std::string> events;
  std::vector<std::pair<uint32_t, uint32_t>> resets;  // stream, error code
  std::optional<uint32_t> goaway;                     // error code
  bool receive_failed = false;
};

Verdict serve(const std::string& bytes, Settings settings = {}) {
  Recorder rec;
  auto server = Session::server(settings, rec);
  Verdict v;
  v.receive_failed = !server->receive(bytes).has_value();
  std::string out;
  server->takeOutput(out);
  for (const Frame& f : parseFrames(out)) {
    if (f.type == kRstStream) v.resets.emplace_back(f.stream, be32(f.payload, 0));
    if (f.type == kGoAway) v.goaway = be32(f.payload, 4);
  }
  v.events = rec.events;
  return v;
}

void expectStreamRejected(const std::string& block, const char* what) {
  Verdict v = serve(start() + frame(kHeaders, kEndHeaders | kEndStream, 1, block));
  ASSERT_EQ(v.resets.size(), 1u) << what;
  EXPECT_EQ(v.resets[0].first, 1u) << what;
  EXPECT_EQ(v.resets[0].second, static_cast<uint32_t>(ErrorCode::kProtocolError)) << what;
  for (const auto& e : v.events) EXPECT_FALSE(e.starts_with("request")) << what << ": " << e;
}

TEST(H2MustReject, MalformedRequestsAreResetWithProtocolError) {
  // RFC 9113 §8.2: field names must be lowercase.
  expectStreamRejected(validPseudo() + literal("X-Upper", "1"), "uppercase field name");
  // §8.2.2: connection-specific fields.
  expectStreamRejected(validPseudo() + literal("connection", "keep-alive"), "connection field");
  expectStreamRejected(validPseudo() + literal("transfer-encoding", "chunked"),
                       "transfer-encoding");
  expectStreamRejected(validPseudo() + literal("te", "gzip"), "TE other than trailers");
  // §8.3: pseudo-headers: required, once each, before regular fields, none unknown.
  expectStreamRejected(
      literal(":method", "GET") + literal(":scheme", "http") + literal(":authority", "h"),
      "missing :path");
  expectStreamRejected(literal(":method", "GET") + literal("x-a", "1") +
                           literal(":scheme", "http") + literal(":authority", "h") +
                           literal(":path", "/"),
                       "pseudo-header after a regular field");
  expectStreamRejected(validPseudo() + literal(":path", "/again"), "duplicate :path");
  expectStreamRejected(validPseudo() + literal(":protocol", "x"), "unknown pseudo-header");
  expectStreamRejected(validPseudo() + literal("x-a", "bad\r\nvalue"), "CR LF in a value");
}

TEST(H2MustReject, ContentLengthDisagreeingWithDataIsAStreamError) {
  std::string head = literal(":method", "POST") + literal(":scheme", "http") +
                     literal(":authority", "h") + literal(":path", "/") +
                     literal("content-length", "5");
  Verdict v =
      serve(start() + frame(kHeaders, kEndHeaders, 1, head) + frame(kData, kEndStream, 1, "abc"));
  ASSERT_EQ(v.resets.size(), 1u);
  EXPECT_EQ(v.resets[0].second, static_cast<uint32_t>(ErrorCode::kProtocolError));
}

TEST(H2MustReject, FrameLargerThanMaxFrameSizeIsAConnectionError) {
  Verdict v = serve(start() + frame(kHeaders, kEndHeaders, 1, validPseudo()) +
                    frame(kData, 0, 1, std::string(16385, 'x')));
  ASSERT_TRUE(v.goaway.has_value());
  EXPECT_EQ(*v.goaway, static_cast<uint32_t>(ErrorCode::kFrameSizeError));
}

TEST(H2MustReject, ClientStreamWithEvenIdAndDataOnStreamZeroAreConnectionErrors) {
  Verdict v = serve(start() + frame(kHeaders, kEndHeaders | kEndStream, 2, validPseudo()));
  ASSERT_TRUE(v.goaway.has_value());
  EXPECT_EQ(*v.goaway, static_cast<uint32_t>(ErrorCode::kProtocolError));
  v = serve(start() + frame(kData, 0, 0, "x"));
  ASSERT_TRUE(v.goaway.has_value());
  EXPECT_EQ(*v.goaway, static_cast<uint32_t>(ErrorCode::kProtocolError));
}

TEST(H2MustReject, BadConnectionPrefaceFailsTheConnection) {
  Verdict v = serve("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(v.receive_failed);
  EXPECT_TRUE(v.events.empty());
}

TEST(H2Limits, StreamsBeyondMaxConcurrentStreamsAreRefused) {
  Settings s;
  s.max_concurrent_streams = 1;
  Verdict v = serve(start() + frame(kHeaders, kEndHeaders, 1, validPseudo()) +
                        frame(kHeaders, kEndHeaders, 3, validPseudo()),
                    s);
  ASSERT_EQ(v.events.size(), 1u);
  EXPECT_TRUE(v.events[0].starts_with("request 1 ")) << v.events[0];
  // Before the client acknowledged our SETTINGS the excess stream is refused (retryable).
  ASSERT_EQ(v.resets.size(), 1u);
  EXPECT_EQ(v.resets[0].first, 3u);
  EXPECT_EQ(v.resets[0].second, static_cast<uint32_t>(ErrorCode::kRefusedStream));
}

TEST(H2Limits, HeaderListOverTheLimitIsAnswered431) {
  Settings s;
  s.max_header_list_size = 1024;
  Pair p(s);
  RequestHead h = grpcRequest();
  h.headers.add("x-big", std::string(2000, 'a'));
  ASSERT_TRUE(p.client->submitRequest(h, true).has_value());
  ASSERT_TRUE(p.client->submitRequest(grpcRequest(), true).has_value());
  p.pump();
  // The oversized request never reaches the proxy; the next one on the connection does.
  ASSERT_EQ(p.server_rec.events.size(), 2u);
  EXPECT_TRUE(p.server_rec.events[0].starts_with("request 3 ")) << p.server_rec.events[0];
  ASSERT_GE(p.client_rec.events.size(), 1u);
  EXPECT_EQ(p.client_rec.events[0], "response 1 431 end");
}

TEST(H2Limits, GoAwayLetsStreamsInFlightFinishAndRefusesNewOnes) {
  Pair p;
  auto id = p.client->submitRequest(grpcRequest(), false);
  ASSERT_TRUE(id.has_value());
  p.pump();
  p.server->goAway();
  p.pump();
  ASSERT_FALSE(p.client_rec.events.empty());
  EXPECT_EQ(p.client_rec.events.back(), "goaway 1 NO_ERROR");
  EXPECT_FALSE(p.client->canOpenStream());
  EXPECT_FALSE(p.server->done());  // stream 1 is still open
  p.client->sendData(*id, "last", true);
  ResponseHead resp;
  ASSERT_TRUE(p.server->submitResponse(*id, resp, true).has_value());
  p.pump();
  EXPECT_NE(std::find(p.client_rec.events.begin(), p.client_rec.events.end(), "response 1 200 end"),
            p.client_rec.events.end());
  EXPECT_TRUE(p.server->done());
}

}  // namespace
}  // namespace sluice::http::h2
