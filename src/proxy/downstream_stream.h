#pragma once
// The downstream end of one request as the request phases see it (proxy/connection_manager.h):
// where the request body is read from and where the answer goes. Two implementations:
//   Http1Stream   an HTTP/1.1 connection's byte stream (proxy/downstream_io.h), one request at
//                 a time: bodies as framed on the wire, heads serialised as HTTP/1.1;
//   HTTP/2        one stream of an HTTP/2 connection (proxy/h2_downstream.cc): the head was
//                 decoded by the h2 session codec, the body arrives as DATA, the answer goes back
//                 as HEADERS / DATA / trailers calls on the session. No HTTP/1.1 text in between.
// The streamed HTTP/1.1 response keeps its own path in proxy/respond.cc (the chunk framing is
// passed through as received, head and first bytes in one gathered write), so the
// response-streaming calls (sendHead / data / finish) are what an HTTP/2 stream is answered
// through; on HTTP/1.1 they write the bytes they are given.
//
// Worker thread only; lives as long as the request's coroutine.

#include <asio/awaitable.hpp>
#include <string_view>

#include "http/codec.h"
#include "proxy/body_pump.h"
#include "proxy/downstream_io.h"
#include "proxy/local_reply.h"

namespace sluice::proxy {

class DownstreamStream : public DataSink {
 public:
  virtual ~DownstreamStream() = default;
  // An HTTP/2 stream (no upgrade, no 100-continue, no connection-level keep-alive).
  virtual bool isHttp2() const = 0;
  // The request body per `framing` (as parsed for HTTP/1.1; as the stream's head and DATA made
  // it for HTTP/2) into `sink`. A socket sink in kAsFramed form gets HTTP/1.1 framing (HTTP/2:
  // chunked with the request trailers, or the plain bytes for Content-Length).
  virtual asio::awaitable<PumpResult> readRequestBody(const http::BodyFraming& framing,
                                                      BodySink sink) = 0;
  // Expect: 100-continue's interim answer. False: the downstream is gone.
  virtual asio::awaitable<bool> sendContinue() = 0;
  // A locally generated answer; `close`: the connection closes after it (HTTP/1.1).
  virtual asio::awaitable<bool> sendLocalReply(const LocalReply& reply, bool close) = 0;
  // A whole response: `head` (with its Content-Length) and `body`.
  virtual asio::awaitable<bool> sendResponse(http::ResponseHead& head, std::string_view body) = 0;
  // A streamed response: the head (`end`: no body follows), body pieces through write() (the
  // DataSink), then finish() with the trailers (or none); reset() when the response cannot be
  // completed (the upstream failed mid-body).
  virtual asio::awaitable<bool> sendHead(http::ResponseHead& head, bool end) = 0;
  virtual bool finish(const http::Headers* trailers) = 0;
  virtual void reset() = 0;
};

// An HTTP/1.1 connection's stream (the connection manager's requests, one at a time).
class Http1Stream final : public DownstreamStream {
 public:
  Http1Stream(Downstream& d, const http::Limits& limits) : d_(d), limits_(limits) {}
  bool isHttp2() const override { return false; }
  asio::awaitable<PumpResult> readRequestBody(const http::BodyFraming& framing,
                                              BodySink sink) override;
  asio::awaitable<bool> sendContinue() override;
  asio::awaitable<bool> sendLocalReply(const LocalReply& reply, bool close) override;
  asio::awaitable<bool> sendResponse(http::ResponseHead& head, std::string_view body) override;
  asio::awaitable<bool> sendHead(http::ResponseHead& head, bool end) override;
  asio::awaitable<bool> write(std::string_view data) override;
  bool finish(const http::Headers*) override { return true; }
  void reset() override;

 private:
  Downstream& d_;
  const http::Limits& limits_;
};

}  // namespace sluice::proxy
