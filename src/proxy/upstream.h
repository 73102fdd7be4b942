#pragma once
// One keep-alive HTTP/1.1 connection to an upstream endpoint, owned by one worker: the HTTP/1.1
// implementation of UpstreamStream (proxy/upstream_stream.h). Idle connections wait in their
// EndpointState's `idle` list (per cluster, per endpoint, per worker: Envoy's pools are per
// cluster and host too); a request takes one, uses it, and gives it back if the response left
// it reusable.

#include <chrono>
#include <cstdint>
#include <string>

#include "proxy/byte_stream.h"
#include "proxy/upstream_stream.h"

namespace sluice::proxy {

class UpstreamConnection final : public UpstreamStream {
 public:
  explicit UpstreamConnection(ByteStream s) : socket(std::move(s)) {}

  bool isHttp2() const override { return false; }
  asio::awaitable<bool> sendRequest(http::RequestHead& head, std::string_view body,
                                    bool end) override;
  BodySink requestBodySink() override { return BodySink::toSocket(socket); }
  void finishRequestBody(const http::Headers&) override {}
  asio::awaitable<ResponseHeadRead> readResponseHead(const http::Limits& limits, bool is_head,
                                                     Buffer& in, http::ResponseHead& out) override;
  asio::awaitable<PumpResult> readResponseBody(const http::BodyFraming& framing,
                                               const http::Limits& limits, Buffer& in,
                                               BodySink sink) override;
  std::string_view receivedBody(Buffer& in) override { return in.view(); }
  void consumeBody(Buffer& in, size_t n) override { in.consume(n); }
  ByteStream* byteStream() override { return &socket; }
  void cancel(asio::error_code& ec) override { socket.cancel(ec); }
  void close(asio::error_code& ec) override { socket.close(ec); }
  bool is_open() const override { return socket.is_open(); }

  ByteStream socket;      // TCP
  uint32_t requests = 0;  // requests sent on it (maxRequestsPerConnection)
  std::chrono::steady_clock::time_point idle_since{};

 private:
  std::string out_;  // the serialised request head (capacity kept across requests)
};

}  // namespace sluice::proxy
