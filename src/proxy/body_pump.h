#pragma once
// The one body pump: moves a message body from a source stream (a TCP socket or a worker-local
// stream, proxy/byte_stream.h), whose already-read bytes wait in `in`, to a sink, driven by the
// message's framing (http/codec.h BodyFraming):
//   kNone           nothing to move;
//   kContentLength  exactly `length` bytes;
//   kChunked        validated by ChunkedDecoder; the sink gets either the chunks as framed (the
//                   next hop speaks chunked too) or the decoded data only (an HTTP/1.0 client,
//                   or a body collected into memory);
//   kUntilClose     everything until the source closes (responses only).
// Request bodies (downstream -> upstream), response bodies (upstream -> downstream) and bodies
// read whole (a replayable request body, a response a filter buffers) all go through it.
//
// Bounded memory: at most one read chunk (plus, when decoding chunked data for a socket sink, its
// decoded copy) is held at a time, unless the sink collects. Never throws; errors are in the
// result. Worker thread only (the sockets' executor).

#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <limits>
#include <string>

#include "http/codec.h"
#include "proxy/downstream_io.h"

namespace sluice::proxy {

// A sink that takes decoded body pieces as they come (an HTTP/2 stream: DATA frames carry no
// HTTP/1.1 framing). write() returns once the piece is accepted (it may wait for flow-control
// room); false: the stream is gone.
class DataSink {
 public:
  virtual asio::awaitable<bool> write(std::string_view data) = 0;

 protected:
  ~DataSink() = default;
};

struct BodySink {
  enum class Form : uint8_t { kAsFramed, kDecoded };
  // Exactly one of the three is set.
  ByteStream* socket = nullptr;
  std::string* collect = nullptr;  // appended to (decoded data)
  DataSink* data = nullptr;        // decoded data, piece by piece
  Form form = Form::kAsFramed;
  uint64_t limit = std::numeric_limits<uint64_t>::max();  // collect: more is kTooLarge

  static BodySink toSocket(ByteStream& s, Form form = Form::kAsFramed) {
    return BodySink{&s, nullptr, nullptr, form};
  }
  static BodySink intoString(std::string& out, uint64_t limit) {
    return BodySink{nullptr, &out, nullptr, Form::kDecoded, limit};
  }
  static BodySink toData(DataSink& d) { return BodySink{nullptr, nullptr, &d, Form::kDecoded}; }
};

struct PumpResult {
  enum class Status : uint8_t {
    kDone,          // the whole body moved; `in` now starts at the next message (if any)
    kSourceFailed,  // the source closed or failed before the body ended
    kSinkFailed,    // writing to the sink socket failed
    kMalformed,     // bad chunked framing: `error` has the status (400 / 413 / 431) and why
    kTooLarge,      // a collecting sink's limit was exceeded
  };
  Status status = Status::kDone;
  uint64_t body_bytes = 0;  // body (decoded) bytes moved, also when it failed midway
  http::ParseError error;   // kMalformed only
  http::Headers trailers;   // a chunked body's trailer section (gRPC's grpc-status), when done
  bool ok() const { return status == Status::kDone; }
};

asio::awaitable<PumpResult> pumpBody(const http::BodyFraming& framing, const http::Limits& limits,
                                     ByteStream& source, Buffer& in, BodySink sink);

// A body that arrives already decoded, piece by piece: an HTTP/2 stream's DATA, on either side
// of the proxy (the downstream's request body, proxy/h2_downstream.cc; the upstream's response
// body, proxy/h2_upstream.cc). The session's callbacks append to receivedData(), set the end or
// the stream's loss, and wake progress(); the pump takes what is there.
class DecodedBodySource {
 public:
  virtual std::string& receivedData() = 0;  // received, not yet taken
  virtual bool receivedEnd() const = 0;     // END_STREAM (or the trailers) arrived
  virtual bool gone() const = 0;            // the stream is closed or aborted
  virtual const http::Headers* receivedTrailers() const = 0;  // nullptr: none
  // `n` bytes were handed on: the peer's flow-control window may reopen by that much (so a
  // slow sink stops the sender, not our memory).
  virtual void forwarded(size_t n) = 0;
  virtual asio::steady_timer& progress() = 0;

 protected:
  ~DecodedBodySource() = default;
};

// Moves `source`'s body to `sink`: a collecting sink gets the data (up to its limit), a DataSink
// the pieces, a socket sink in kAsFramed form with `framing` kChunked gets HTTP/1.1 chunks and
// the last chunk with the trailers (the next hop was told "chunked"), any other socket sink the
// plain bytes. The trailers are in the result. kSourceFailed when the stream is gone before its
// end. `framing` only says how the next hop was told the body comes; the source's end ends it.
asio::awaitable<PumpResult> pumpDecodedBody(DecodedBodySource& source,
                                            const http::BodyFraming& framing, BodySink sink);

}  // namespace sluice::proxy
