// The worker-local byte stream (proxy/byte_stream.h) that carries HTTP/2 streams into the request
// path: bytes in order whatever the read and write sizes, flow control (a slow reader stops the
// writer), EOF after shutdown, close and cancel as a socket has them, completions never inside
// the initiating call, and the body pump over it with the body split at every point.
#include "proxy/byte_stream.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <string>
#include <vector>

#include "proxy/body_pump.h"

namespace sluice::proxy {
namespace {

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// Runs what is ready (an io_context that ran out of work stays stopped until restarted).
void runReady(asio::io_context& io) {
  io.restart();
  io.poll();
}

// One write of `data`, run as far as it goes; `done` false when it still waits.
asio::error_code writeNow(asio::io_context& io, ByteStream& s, std::string_view data,
                          bool* done = nullptr) {
  asio::error_code out = asio::error::would_block;
  asio::async_write(s, asio::buffer(data), [&out](asio::error_code e, size_t) { out = e; });
  runReady(io);
  if (done != nullptr) *done = out != asio::error::would_block;
  return out;
}

// Reads until EOF or an error (returned), running what is ready.
std::string readToEnd(asio::io_context& io, ByteStream& s, asio::error_code& ec) {
  std::string got;
  for (;;) {
    char buf[64];
    bool done = false;
    size_t n = 0;
    s.async_read_some(asio::buffer(buf), [&](asio::error_code e, size_t k) {
      ec = e;
      n = k;
      done = true;
    });
    runReady(io);
    if (!done) {
      ec = asio::error::would_block;
      return got;
    }
    got.append(buf, n);
    if (ec) return got;
  }
}

TEST(LocalByteStream, BytesArriveInOrderForEveryWriteAndReadSize) {
  const std::string data = pattern(97);
  for (size_t wsize = 1; wsize <= data.size(); wsize += 7) {
    for (size_t rsize = 1; rsize <= data.size(); rsize += 11) {
      asio::io_context io;
      auto [a, b] = ByteStream::localPair(io.get_executor());
      std::string got;
      bool wrote = false;
      bool read = false;
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            for (size_t off = 0; off < data.size(); off += wsize) {
              asio::error_code ec;
              auto piece = asio::buffer(data.data() + off, std::min(wsize, data.size() - off));
              co_await asio::async_write(a, piece, withEc(ec));
              EXPECT_FALSE(ec);
            }
            asio::error_code ec;
            a.shutdown(ByteStream::shutdown_type::shutdown_send, ec);
            wrote = true;
          },
          asio::detached);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            std::vector<char> buf(rsize);
            for (;;) {
              asio::error_code ec;
              size_t n = co_await b.async_read_some(asio::buffer(buf), withEc(ec));
              got.append(buf.data(), n);
              if (ec) {
                EXPECT_EQ(ec, asio::error::eof);
                break;
              }
            }
            read = true;
          },
          asio::detached);
      io.run();
      ASSERT_TRUE(wrote && read) << wsize << "/" << rsize;
      ASSERT_EQ(got, data) << wsize << "/" << rsize;
    }
  }
}

TEST(LocalByteStream, ASlowReaderStopsTheWriterAtTheCapacity) {
  asio::io_context io;
  constexpr size_t kCap = 1000;
  auto [a, b] = ByteStream::localPair(io.get_executor(), kCap);
  const std::string data = pattern(3 * kCap + 5);
  bool wrote = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::error_code ec;
        co_await asio::async_write(a, asio::buffer(data), withEc(ec));
        EXPECT_FALSE(ec);
        wrote = true;
      },
      asio::detached);
  runReady(io);
  // Nobody reads: the writer waits with exactly the capacity queued.
  asio::error_code ec;
  EXPECT_FALSE(wrote);
  EXPECT_EQ(b.available(ec), kCap);
  std::string got;
  std::vector<char> buf(400);
  while (got.size() < data.size()) {
    bool done = false;
    b.async_read_some(asio::buffer(buf), [&](asio::error_code e, size_t k) {
      EXPECT_FALSE(e);
      got.append(buf.data(), k);
      done = true;
    });
    runReady(io);
    ASSERT_TRUE(done);
    EXPECT_LE(b.available(ec), kCap);
  }
  runReady(io);
  EXPECT_TRUE(wrote);
  EXPECT_EQ(got, data);
}

TEST(LocalByteStream, CompletionsArePostedNeverRunInsideTheCall) {
  asio::io_context io;
  auto [a, b] = ByteStream::localPair(io.get_executor());
  bool wrote = false;
  bool read = false;
  asio::async_write(a, asio::buffer("x", 1), [&](asio::error_code, size_t) { wrote = true; });
  EXPECT_FALSE(wrote);
  char c = 0;
  b.async_read_some(asio::buffer(&c, 1), [&](asio::error_code, size_t) { read = true; });
  EXPECT_FALSE(read);
  io.run();
  EXPECT_TRUE(wrote);
  EXPECT_TRUE(read);
  EXPECT_EQ(c, 'x');
}

TEST(LocalByteStream, ShutdownSendGivesEofAfterTheBytesAndWaitReadSeesIt) {
  asio::io_context io;
  auto [a, b] = ByteStream::localPair(io.get_executor());
  bool readable = false;
  b.async_wait(ByteStream::wait_type::wait_read, [&](asio::error_code e) {
    EXPECT_FALSE(e);
    readable = true;
  });
  runReady(io);
  EXPECT_FALSE(readable);  // nothing to read yet
  asio::error_code ec;
  ASSERT_FALSE(writeNow(io, a, "tail"));
  EXPECT_TRUE(readable);
  a.shutdown(ByteStream::shutdown_type::shutdown_send, ec);
  std::string got = readToEnd(io, b, ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(got, "tail");
  // This end shut down sending: its writes fail, the other direction still works.
  EXPECT_EQ(writeNow(io, a, "more"), asio::error::broken_pipe);
  EXPECT_FALSE(writeNow(io, b, "back"));
  EXPECT_EQ(a.available(ec), 4u);
}

TEST(LocalByteStream, CloseEndsTheOtherSidesReadsAndFailsItsPendingWrite) {
  asio::io_context io;
  auto [a, b] = ByteStream::localPair(io.get_executor(), 10);
  asio::error_code write_ec;
  bool wrote = false;
  const std::string data = pattern(25);
  asio::async_write(a, asio::buffer(data), [&](asio::error_code e, size_t) {
    write_ec = e;
    wrote = true;
  });
  asio::error_code read_ec;
  bool read = false;
  char c[4];
  ByteStream c_end = std::move(b);  // a moved end is the same end
  runReady(io);
  EXPECT_FALSE(wrote);  // 10 bytes queued, the writer waits
  asio::error_code ec;
  c_end.close(ec);
  EXPECT_FALSE(c_end.is_open());
  runReady(io);
  EXPECT_TRUE(wrote);
  EXPECT_EQ(write_ec, asio::error::broken_pipe);
  // The closed end's own operations fail at once.
  c_end.async_read_some(asio::buffer(c), [&](asio::error_code e, size_t) {
    read_ec = e;
    read = true;
  });
  runReady(io);
  EXPECT_TRUE(read);
  EXPECT_EQ(read_ec, asio::error::bad_descriptor);
  // The open end reads EOF.
  EXPECT_EQ(readToEnd(io, a, read_ec), "");
  EXPECT_EQ(read_ec, asio::error::eof);
}

TEST(LocalByteStream, CancelAbortsOnlyThePendingOperations) {
  asio::io_context io;
  auto [a, b] = ByteStream::localPair(io.get_executor());
  asio::error_code read_ec;
  bool read = false;
  char c = 0;
  b.async_read_some(asio::buffer(&c, 1), [&](asio::error_code e, size_t) {
    read_ec = e;
    read = true;
  });
  runReady(io);
  EXPECT_FALSE(read);
  asio::error_code ec;
  b.cancel(ec);
  runReady(io);
  EXPECT_TRUE(read);
  EXPECT_EQ(read_ec, asio::error::operation_aborted);
  // The stream still works after the cancel.
  EXPECT_FALSE(writeNow(io, a, "y"));
  read = false;
  b.async_read_some(asio::buffer(&c, 1), [&](asio::error_code e, size_t) {
    read_ec = e;
    read = true;
  });
  runReady(io);
  EXPECT_TRUE(read);
  EXPECT_FALSE(read_ec);
  EXPECT_EQ(c, 'y');
}

TEST(LocalByteStream, DestroyingAnEndIsAClose) {
  asio::io_context io;
  auto pair = ByteStream::localPair(io.get_executor());
  ByteStream a = std::move(pair.first);
  { ByteStream gone = std::move(pair.second); }
  asio::error_code ec;
  EXPECT_EQ(readToEnd(io, a, ec), "");
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(writeNow(io, a, "z"), asio::error::broken_pipe);
  asio::ip::tcp::endpoint peer = a.remote_endpoint(ec);
  EXPECT_EQ(ec, asio::error::not_connected);
  (void)peer;
}

// The body pump over a local pair, chunked body split between buffered and streamed bytes at
// every point: the decoded body and the trailers (gRPC's grpc-status) come out whole.
TEST(LocalByteStream, BodyPumpOverALocalStreamAtEverySplit) {
  const std::string wire = "5\r\nhello\r\n3\r\n, w\r\n0\r\ngrpc-status: 0\r\n\r\nNEXT";
  for (size_t split = 0; split <= wire.size(); ++split) {
    asio::io_context io;
    auto source = ByteStream::localPair(io.get_executor());
    auto sink = ByteStream::localPair(io.get_executor());
    Buffer in;
    in.append(std::string_view(wire).substr(0, split));
    asio::error_code ec;
    const std::string rest(std::string_view(wire).substr(split));
    asio::async_write(source.second, asio::buffer(rest), [](asio::error_code, size_t) {});
    // pumpBody keeps references to these across suspensions: they must outlive io.run().
    const http::Limits limits;
    const http::BodyFraming framing{http::BodyKind::kChunked, 0};
    PumpResult result;
    bool done = false;
    asio::co_spawn(io,
                   pumpBody(framing, limits, source.first, in,
                            BodySink::toSocket(sink.first, BodySink::Form::kDecoded)),
                   [&](std::exception_ptr, PumpResult r) {
                     result = std::move(r);
                     done = true;
                   });
    io.run();
    ASSERT_TRUE(done) << split;
    EXPECT_TRUE(result.ok()) << split;
    EXPECT_EQ(result.trailers.get("grpc-status").value_or(""), "0") << split;
    sink.first.shutdown(ByteStream::shutdown_type::shutdown_send, ec);
    EXPECT_EQ(readToEnd(io, sink.second, ec), "hello, w") << split;
    // What follows the body stays for the next message (in the buffer or on the stream).
    std::string next(in.view());
    source.second.shutdown(ByteStream::shutdown_type::shutdown_send, ec);
    std::string more = readToEnd(io, source.first, ec);
    EXPECT_EQ(next + more, "NEXT") << split;
  }
}

// A reader that stops mid-body (the client went away): the pump's writes into the closed local
// stream fail, and it reports the sink failed (the request path's DC).
TEST(LocalByteStream, BodyPumpReportsTheSinkGoneWhenTheReaderClosesMidBody) {
  asio::io_context io;
  auto source = ByteStream::localPair(io.get_executor());
  auto sink = ByteStream::localPair(io.get_executor(), 16);
  const std::string body = pattern(200);
  Buffer in;
  in.append(body.substr(0, 100));
  const http::Limits limits;
  const http::BodyFraming framing{http::BodyKind::kContentLength, body.size()};
  PumpResult result;
  bool done = false;
  asio::co_spawn(io, pumpBody(framing, limits, source.first, in, BodySink::toSocket(sink.first)),
                 [&](std::exception_ptr, PumpResult r) {
                   result = std::move(r);
                   done = true;
                 });
  runReady(io);
  EXPECT_FALSE(done);  // 16 bytes queued, the reader reads nothing: the pump waits
  asio::error_code ec;
  sink.second.close(ec);
  io.run();
  ASSERT_TRUE(done);
  EXPECT_EQ(result.status, PumpResult::Status::kSinkFailed);
}

}  // namespace
}  // namespace sluice::proxy
