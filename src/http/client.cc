#include "http/client.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <memory>

#include "core/strings.h"
#include "http/codec.h"
#include "http/url.h"
#include "net/outbound_connect.h"

namespace sluice::http {

using asio::ip::tcp;

namespace {

// Everything the deadline may need to cancel, shared with the timer's callback so it stays valid
// even when the callback runs after fetch() returned.
struct Exchange {
  explicit Exchange(const asio::any_io_executor& ex) : resolver(ex), socket(ex), timer(ex) {}
  tcp::resolver resolver;
  tcp::socket socket;
  asio::steady_timer timer;
  bool timed_out = false;
};

tl::unexpected<Error> upstreamError(ErrorCode code, std::string message, bool retryable = false) {
  return makeError(code, ErrorSource::kUpstream, std::move(message), retryable);
}

}  // namespace

asio::awaitable<Result<Response>> fetch(ClientRequest request) {
  auto url = parseUrl(request.url);
  if (!url) co_return tl::unexpected(url.error());
  if (url->scheme != "http") {
    co_return invalidArgument("URL '{}': only http:// is supported by this client", request.url);
  }
  const std::string what = fmt::format("{} {}", request.method, request.url);
  auto executor = co_await asio::this_coro::executor;
  auto ex = std::make_shared<Exchange>(executor);
  ex->timer.expires_after(request.timeout);
  ex->timer.async_wait([weak = std::weak_ptr<Exchange>(ex)](const asio::error_code& ec) {
    if (ec) return;
    if (auto e = weak.lock()) {
      e->timed_out = true;
      e->resolver.cancel();
      asio::error_code ignored;
      e->socket.close(ignored);
    }
  });
  auto timeout = [&]() {
    return upstreamError(ErrorCode::kTimeout, fmt::format("{}: no complete response within {} ms",
                                                          what, request.timeout.count()));
  };

  // ---- connect ----
  const std::string host = request.proxy ? request.proxy->host : url->host;
  const uint16_t port = request.proxy ? request.proxy->port : url->port;
  asio::error_code ec;
  auto endpoints = co_await ex->resolver.async_resolve(
      host, std::to_string(port), asio::redirect_error(asio::use_awaitable, ec));
  if (ex->timed_out) co_return timeout();
  if (ec) {
    co_return upstreamError(ErrorCode::kUnavailable,
                            fmt::format("{}: cannot resolve '{}': {}", what, host, ec.message()),
                            true);
  }
  ec = co_await net::connectOutbound(ex->socket, endpoints);
  if (ex->timed_out) co_return timeout();
  if (ec) {
    co_return upstreamError(
        ErrorCode::kUnavailable,
        fmt::format("{}: cannot connect to {}:{}: {}", what, host, port, ec.message()), true);
  }
  ex->socket.set_option(tcp::no_delay(true), ec);

  // ---- request ----
  RequestHead head;
  head.method = request.method;
  head.target = request.proxy ? url->toString() : url->target;
  head.headers = std::move(request.headers);
  if (!head.headers.has("Host")) head.headers.add("Host", url->authority());
  head.headers.remove("Content-Length");
  head.headers.remove("Transfer-Encoding");
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    head.headers.add("Content-Length", std::to_string(request.body.size()));
  }
  if (!head.headers.has("Connection")) head.headers.add("Connection", "close");
  std::string wire;
  serializeRequestHead(head, wire);
  std::array<asio::const_buffer, 2> out = {asio::buffer(wire), asio::buffer(request.body)};
  co_await asio::async_write(ex->socket, out, asio::redirect_error(asio::use_awaitable, ec));
  if (ex->timed_out) co_return timeout();
  if (ec) {
    co_return upstreamError(ErrorCode::kUnavailable,
                            fmt::format("{}: sending the request failed: {}", what, ec.message()));
  }

  // ---- response ----
  std::string buf;
  std::array<char, 16 * 1024> chunk;
  bool eof = false;
  auto readMore = [&]() -> asio::awaitable<bool> {
    size_t n = co_await ex->socket.async_read_some(asio::buffer(chunk),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) {
      eof = true;
      co_return false;
    }
    buf.append(chunk.data(), n);
    co_return true;
  };
  auto cutShort = [&]() {
    if (ex->timed_out) return timeout();
    return upstreamError(
        ErrorCode::kUnavailable,
        fmt::format("{}: connection closed before the response was complete{}", what,
                    ec && ec != asio::error::eof ? ": " + ec.message() : ""));
  };
  auto malformed = [&](const std::string& reason) {
    return upstreamError(ErrorCode::kInvalidArgument,
                         fmt::format("{}: malformed response: {}", what, reason));
  };

  const bool is_head = request.method == "HEAD";
  Response response;
  ResponseHeadParser parser;
  HeadResult hr;
  for (int interim = 0;; ++interim) {
    hr = parser.parse(buf, response.head, is_head);
    if (hr.status == ParseStatus::kIncomplete) {
      if (!co_await readMore()) co_return cutShort();
      continue;
    }
    if (hr.status == ParseStatus::kError) co_return malformed(hr.error.reason);
    buf.erase(0, hr.consumed);
    const int status = response.head.status;
    if (status >= 200 || status == 101) break;
    if (interim >= 16) co_return malformed("too many interim (1xx) responses");
  }

  auto tooBig = [&]() {
    return upstreamError(
        ErrorCode::kResourceExhausted,
        fmt::format("{}: response body exceeds {} bytes", what, request.max_response_bytes));
  };
  switch (hr.framing.kind) {
    case BodyKind::kNone:
      break;
    case BodyKind::kContentLength: {
      if (hr.framing.length > request.max_response_bytes) co_return tooBig();
      const size_t length = static_cast<size_t>(hr.framing.length);
      while (buf.size() < length) {
        if (!co_await readMore()) co_return cutShort();
      }
      response.body.assign(buf, 0, length);
      break;
    }
    case BodyKind::kChunked: {
      ChunkedDecoder decoder;
      for (;;) {
        ChunkResult cr = decoder.decode(buf);
        response.body.append(cr.data);
        buf.erase(0, cr.consumed);
        if (cr.status == ParseStatus::kError) co_return malformed(cr.error.reason);
        if (response.body.size() > request.max_response_bytes) co_return tooBig();
        if (cr.status == ParseStatus::kComplete) break;
        if (cr.consumed == 0 && !co_await readMore()) co_return cutShort();
      }
      break;
    }
    case BodyKind::kUntilClose:
      response.body = std::move(buf);
      buf.clear();
      while (co_await readMore()) {
        response.body.append(buf);
        buf.clear();
        if (response.body.size() > request.max_response_bytes) co_return tooBig();
      }
      if (ex->timed_out) co_return timeout();
      break;
  }
  ex->timer.cancel();
  ex->socket.close(ec);
  co_return response;
}

Result<Response> fetchBlocking(ClientRequest request) {
  asio::io_context io;
  Result<Response> out =
      makeError(ErrorCode::kInternal, ErrorSource::kInternal, "fetch did not complete");
  asio::co_spawn(io, fetch(std::move(request)),
                 [&out](std::exception_ptr e, Result<Response> result) {
                   if (!e) {
                     out = std::move(result);
                     return;
                   }
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     out = makeError(ErrorCode::kInternal, ErrorSource::kInternal,
                                     fmt::format("fetch failed: {}", ex.what()));
                   } catch (...) {
                     out = makeError(ErrorCode::kInternal, ErrorSource::kInternal, "fetch failed");
                   }
                 });
  io.run();
  return out;
}

}  // namespace sluice::http
