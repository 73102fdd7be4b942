#pragma once
// The upstream end of one request as the upstream attempt and the response phases see it
// (proxy/upstream_attempt.h, proxy/respond.h): where the request head and body go and where the
// response head, body and trailers come from. The counterpart of DownstreamStream
// (proxy/downstream_stream.h). Two implementations:
//   UpstreamConnection   (proxy/upstream.h) a pooled HTTP/1.1 keep-alive TCP connection: heads
//                        serialised and parsed as HTTP/1.1, bodies as framed on the wire;
//   Http2UpstreamStream  (proxy/h2_upstream.cc) one stream of the endpoint's shared HTTP/2
//                        connection: the head goes to the session as it is, the body as DATA,
//                        the response comes back decoded. No HTTP/1.1 text in between.
// The pool (proxy/upstream_pool.h) hands either out; a request holds one from the attempt to the
// end of the response, then gives it back (an HTTP/1.1 connection may be kept for the next
// request; an HTTP/2 stream is done, and reset if it had not ended).
//
// The attempt's deadline (proxy/socket_timer.h) is armed on the stream itself: cancel() ends its
// pending operations with operation_aborted, close() ends the exchange (the socket closed, the
// HTTP/2 stream reset) so no later operation can hang.
//
// `in` is the request's upstream read buffer (ExchangeBuffers::upstream_in): what HTTP/1.1 read
// past the response head waits there. An HTTP/2 stream keeps the DATA it was given itself and
// ignores `in`.
//
// Worker thread only; never throws.

#include <asio/awaitable.hpp>
#include <string_view>

#include "http/codec.h"
#include "proxy/body_pump.h"

namespace sluice::proxy {

// A response head as read: `head.status` kComplete (then `head.framing` says how the body
// comes: decoded DATA for HTTP/2 is described as the framing an HTTP/1.1 hop would use),
// kError (malformed, `head.error`) or kIncomplete with `ec` (the upstream failed, closed, or the
// read was cancelled). `got_bytes`: something of a response arrived (a pooled HTTP/1.1
// connection that yields nothing was stale).
struct ResponseHeadRead {
  http::HeadResult head;
  asio::error_code ec;
  bool got_bytes = false;
};

class UpstreamStream {
 public:
  virtual ~UpstreamStream() = default;
  virtual bool isHttp2() const = 0;

  // The request head and, when `end`, its whole (buffered, maybe empty) body; otherwise the body
  // follows through requestBodySink(), then finishRequestBody(). False: the upstream is gone.
  virtual asio::awaitable<bool> sendRequest(http::RequestHead& head, std::string_view body,
                                            bool end) = 0;
  // Where a streamed request body goes (DownstreamStream::readRequestBody's sink): HTTP/1.1 gets
  // the body as framed; HTTP/2 decoded DATA.
  virtual BodySink requestBodySink() = 0;
  // After the streamed body: its trailers (HTTP/2: a trailer section, or END_STREAM when none;
  // HTTP/1.1: nothing, the chunked framing carried them).
  virtual void finishRequestBody(const http::Headers& trailers) = 0;

  // The final response head into `out` (1xx interim answers dropped).
  virtual asio::awaitable<ResponseHeadRead> readResponseHead(const http::Limits& limits,
                                                             bool is_head, Buffer& in,
                                                             http::ResponseHead& out) = 0;
  // The response body per `framing` (readResponseHead's) into `sink`; the trailers in the result.
  virtual asio::awaitable<PumpResult> readResponseBody(const http::BodyFraming& framing,
                                                       const http::Limits& limits, Buffer& in,
                                                       BodySink sink) = 0;
  // Body bytes already received and not yet taken (decoded, for a Content-Length body the body
  // itself), so a small response goes out with its head in one write; consumeBody() takes them.
  virtual std::string_view receivedBody(Buffer& in) = 0;
  virtual void consumeBody(Buffer& in, size_t n) = 0;

  // The TCP byte stream, for a 101 relay (nullptr for HTTP/2, which never upgrades).
  virtual ByteStream* byteStream() = 0;

  // SocketTimer's interface (proxy/socket_timer.h).
  virtual void cancel(asio::error_code& ec) = 0;
  virtual void close(asio::error_code& ec) = 0;
  virtual bool is_open() const = 0;
};

}  // namespace sluice::proxy
