#include "proxy/downstream_stream.h"

// GCC 12 at -O2 reports asio's awaitable frame operator new/delete pair as mismatched (a false
// positive, see connection_manager.cc).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

#include <array>
#include <asio/write.hpp>

namespace sluice::proxy {

using asio::awaitable;

awaitable<PumpResult> Http1Stream::readRequestBody(const http::BodyFraming& framing,
                                                   BodySink sink) {
  return pumpBody(framing, limits_, d_.socket, d_.in, sink);
}

awaitable<bool> Http1Stream::sendContinue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  asio::error_code ec;
  co_await asio::async_write(d_.socket, asio::buffer(kContinue), withEc(ec));
  co_return !ec;
}

awaitable<bool> Http1Stream::sendLocalReply(const LocalReply& reply, bool close) {
  return writeLocalReply(d_, reply, close);
}

awaitable<bool> Http1Stream::sendResponse(http::ResponseHead& head, std::string_view body) {
  head.version = http::Version::kHttp11;
  d_.x.out.clear();
  http::serializeResponseHead(head, d_.x.out);
  asio::error_code ec;
  std::array<asio::const_buffer, 2> out = {asio::buffer(d_.x.out), asio::buffer(body)};
  co_await asio::async_write(d_.socket, out, withEc(ec));
  co_return !ec;
}

awaitable<bool> Http1Stream::sendHead(http::ResponseHead& head, bool) {
  return sendResponse(head, {});
}

awaitable<bool> Http1Stream::write(std::string_view data) {
  asio::error_code ec;
  co_await asio::async_write(d_.socket, asio::buffer(data.data(), data.size()), withEc(ec));
  co_return !ec;
}

void Http1Stream::reset() {
  asio::error_code ignored;
  d_.socket.close(ignored);
}

}  // namespace sluice::proxy
