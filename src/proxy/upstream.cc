#include "proxy/upstream.h"

// GCC 12 at -O2 reports asio's awaitable frame operator new/delete pair as mismatched (a false
// positive, see connection_manager.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <array>
#include <asio/write.hpp>

namespace sluice::proxy {

using asio::awaitable;

awaitable<bool> UpstreamConnection::sendRequest(http::RequestHead& head, std::string_view body,
                                                bool /*end: the framing says it*/) {
  ++requests;
  // Head and buffered body in one gathered write.
  out_.clear();
  http::serializeRequestHead(head, out_);
  asio::error_code ec;
  std::array<asio::const_buffer, 2> bufs = {asio::buffer(out_), asio::buffer(body)};
  co_await asio::async_write(socket, bufs, withEc(ec));
  co_return !ec;
}

awaitable<ResponseHeadRead> UpstreamConnection::readResponseHead(const http::Limits& limits,
                                                                 bool is_head, Buffer& in,
                                                                 http::ResponseHead& out) {
  ResponseHeadRead r;
  in.clear();
  http::ResponseHeadParser parser(limits);
  for (;;) {
    // Interim 1xx responses are dropped (except 101); kIncomplete: read more.
    r.head = parser.parse(in.view(), out, is_head);
    if (r.head.status == http::ParseStatus::kComplete) {
      in.consume(r.head.consumed);
      if (out.status < 100 || out.status >= 200 || out.status == 101) co_return r;
      continue;
    }
    if (r.head.status == http::ParseStatus::kError) co_return r;
    size_t n = co_await readMore(socket, in, r.ec);
    if (r.ec || n == 0) {
      if (!r.ec) r.ec = asio::error::eof;
      co_return r;
    }
    r.got_bytes = true;
  }
}

awaitable<PumpResult> UpstreamConnection::readResponseBody(const http::BodyFraming& framing,
                                                           const http::Limits& limits, Buffer& in,
                                                           BodySink sink) {
  return pumpBody(framing, limits, socket, in, sink);
}

}  // namespace sluice::proxy
