// The one body pump (proxy/body_pump.h) over real loopback sockets: every framing, both sink
// forms, collecting with a limit, and the failures it names; bodies split between the bytes
// already buffered and the bytes still on the socket at every point.
#include "proxy/body_pump.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <string>
#include <vector>

namespace sluice::proxy {
namespace {

using asio::ip::tcp;

// A connected loopback pair: `near` is read by the pump, `far` is where the test writes.
struct SocketPair {
  explicit SocketPair(asio::io_context& io) : far(io), near(accepted(io, far)) {}
  static tcp::socket accepted(asio::io_context& io, tcp::socket& far) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    far.connect(acceptor.local_endpoint());
    return acceptor.accept();
  }
  tcp::socket far;
  ByteStream near;
};

struct PumpRun {
  PumpResult result;
  std::string rest;  // what stayed in the buffer after the pump
  std::string sunk;  // what the sink received
};

enum class Sink { kFramed, kDecoded, kCollect };

// Buffers `data[0, split)`, sends the rest on the socket (then EOF when `close`), pumps.
PumpRun pump(http::BodyFraming framing, std::string_view data, size_t split, Sink sink_kind,
             bool close = false, uint64_t limit = 1 << 20) {
  asio::io_context io;
  SocketPair source(io);
  SocketPair sink_pair(io);
  Buffer in;
  in.append(data.substr(0, split));
  if (split < data.size()) asio::write(source.far, asio::buffer(data.substr(split)));
  if (close) source.far.shutdown(tcp::socket::shutdown_send);
  PumpRun run;
  BodySink sink = sink_kind == Sink::kCollect ? BodySink::intoString(run.sunk, limit)
                  : sink_kind == Sink::kDecoded
                      ? BodySink::toSocket(sink_pair.near, BodySink::Form::kDecoded)
                      : BodySink::toSocket(sink_pair.near);
  bool done = false;
  const http::Limits limits;  // pumpBody keeps the reference across suspensions: must outlive run()
  asio::co_spawn(io, pumpBody(framing, limits, source.near, in, sink),
                 [&](std::exception_ptr, PumpResult r) {
                   run.result = r;
                   done = true;
                 });
  io.run();
  EXPECT_TRUE(done);
  run.rest = std::string(in.view());
  if (sink_kind != Sink::kCollect) {
    asio::error_code ec;
    sink_pair.near.shutdown(tcp::socket::shutdown_send, ec);
    std::string got;
    asio::read(sink_pair.far, asio::dynamic_buffer(got), ec);
    run.sunk = got;
  }
  return run;
}

http::BodyFraming length(uint64_t n) { return {http::BodyKind::kContentLength, n}; }
const http::BodyFraming kChunked{http::BodyKind::kChunked, 0};
const http::BodyFraming kUntilClose{http::BodyKind::kUntilClose, 0};

TEST(BodyPump, ContentLengthMovesExactlyTheBodyAtEverySplit) {
  const std::string wire = "hello, body!GET /next";  // 12 body bytes, then a pipelined request
  for (size_t split = 0; split <= wire.size(); ++split) {
    PumpRun r = pump(length(12), wire, split, Sink::kFramed);
    ASSERT_TRUE(r.result.ok()) << split;
    EXPECT_EQ(r.sunk, "hello, body!") << split;
    EXPECT_EQ(r.result.body_bytes, 12u);
    // What the pump read past the body stays buffered for the next message.
    EXPECT_TRUE(std::string_view("GET /next").starts_with(r.rest)) << split;
  }
}

TEST(BodyPump, ChunkedAsFramedForwardsTheValidatedChunksAtEverySplit) {
  const std::string body = "5\r\nhello\r\n7\r\n, world\r\n0\r\nx-t: 1\r\n\r\n";
  for (size_t split = 0; split <= body.size(); ++split) {
    PumpRun r = pump(kChunked, body, split, Sink::kFramed);
    ASSERT_TRUE(r.result.ok()) << split;
    EXPECT_EQ(r.sunk, body) << split;
    EXPECT_EQ(r.result.body_bytes, 12u);
    EXPECT_EQ(r.rest, "");
  }
}

TEST(BodyPump, ChunkedDecodedGivesTheDataOnlyAtEverySplit) {
  const std::string body = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
  for (size_t split = 0; split <= body.size(); ++split) {
    PumpRun decoded = pump(kChunked, body, split, Sink::kDecoded);
    ASSERT_TRUE(decoded.result.ok()) << split;
    EXPECT_EQ(decoded.sunk, "hello, world") << split;
    PumpRun collected = pump(kChunked, body, split, Sink::kCollect);
    ASSERT_TRUE(collected.result.ok()) << split;
    EXPECT_EQ(collected.sunk, "hello, world") << split;
  }
}

TEST(BodyPump, UntilCloseEndsWellAtTheSourcesClose) {
  PumpRun r = pump(kUntilClose, "all of it", 3, Sink::kFramed, /*close=*/true);
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.sunk, "all of it");
}

TEST(BodyPump, SourceClosingBeforeTheEndIsSourceFailed) {
  PumpRun cl = pump(length(10), "short", 2, Sink::kFramed, /*close=*/true);
  EXPECT_EQ(cl.result.status, PumpResult::Status::kSourceFailed);
  EXPECT_EQ(cl.result.body_bytes, 5u);
  PumpRun chunked = pump(kChunked, "5\r\nhel", 0, Sink::kFramed, /*close=*/true);
  EXPECT_EQ(chunked.result.status, PumpResult::Status::kSourceFailed);
}

TEST(BodyPump, BadChunkFramingIsMalformed) {
  PumpRun r = pump(kChunked, "zz\r\nhello\r\n0\r\n\r\n", 4, Sink::kFramed);
  EXPECT_EQ(r.result.status, PumpResult::Status::kMalformed);
}

TEST(BodyPump, MalformedChunkAfterForwardedDataSaysWhatAndWhichStatus) {
  // The first chunk was already sent on (as the head was); the bad size line after it stops the
  // pump with the decoder's status so the connection manager can answer before closing.
  const std::string good = "5\r\nhello\r\n";
  struct Vector {
    std::string bad;
    int status;
  };
  for (const Vector& v : std::vector<Vector>{{"0x5\r\nhello\r\n0\r\n\r\n", 400},
                                             {"-1\r\n", 400},
                                             {"5;a=" + std::string(70 * 1024, 'x'), 413}}) {
    PumpRun r = pump(kChunked, good + v.bad, good.size(), Sink::kFramed);
    EXPECT_EQ(r.result.status, PumpResult::Status::kMalformed) << v.bad.substr(0, 8);
    EXPECT_EQ(r.result.error.status, v.status) << v.bad.substr(0, 8);
    EXPECT_FALSE(r.result.error.reason.empty());
    EXPECT_EQ(r.sunk, good) << "nothing of the bad part is forwarded";
    EXPECT_EQ(r.result.body_bytes, 5u);
  }
}

TEST(BodyPump, CollectingPastTheLimitIsTooLarge) {
  EXPECT_EQ(pump(length(6), "123456", 6, Sink::kCollect, false, 5).result.status,
            PumpResult::Status::kTooLarge);
  EXPECT_EQ(pump(kChunked, "6\r\n123456\r\n0\r\n\r\n", 3, Sink::kCollect, false, 5).result.status,
            PumpResult::Status::kTooLarge);
  EXPECT_TRUE(pump(length(5), "12345", 2, Sink::kCollect, false, 5).result.ok());
}

TEST(BodyPump, NoBodyMovesNothing) {
  PumpRun r = pump({http::BodyKind::kNone, 0}, "GET /next", 9, Sink::kFramed);
  ASSERT_TRUE(r.result.ok());
  EXPECT_EQ(r.sunk, "");
  EXPECT_EQ(r.rest, "GET /next");
}

}  // namespace
}  // namespace sluice::proxy
