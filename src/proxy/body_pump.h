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

}  // namespace sluice::proxy
