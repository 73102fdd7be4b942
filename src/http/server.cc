#include "http/server.h"

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <exception>
#include <mutex>
#include <unordered_set>

#include "core/log.h"
#include "http/codec.h"

namespace sluice::http {

using asio::ip::tcp;

Response Response::text(int status, std::string body, std::string_view content_type) {
  Response r;
  r.head.status = status;
  r.head.reason = std::string(reasonPhrase(status));
  r.head.headers.add("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

Response Response::json(int status, std::string body) {
  return text(status, std::move(body), "application/json");
}

namespace {

constexpr size_t kReadChunk = 16 * 1024;
// After an error response we read and drop what the client still sends (bounded), so closing
// does not reset the connection and destroy the response in the client's receive buffer.
constexpr size_t kLingerBytes = 1024 * 1024;
constexpr auto kLingerTime = std::chrono::milliseconds(1000);

struct Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  bool idle = true;  // waiting for a new request with nothing buffered: stop() may close it
};

// Closes the socket when the timer fires; re-arming cancels the previous wait.
void armTimer(const std::shared_ptr<Conn>& conn, std::chrono::milliseconds after) {
  conn->timer.expires_after(after);
  conn->timer.async_wait([weak = std::weak_ptr<Conn>(conn)](const asio::error_code& ec) {
    if (ec) return;
    if (auto c = weak.lock()) {
      asio::error_code ignored;
      c->socket.close(ignored);
    }
  });
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io_context, Handler h, ServerOptions o)
      : io(io_context), handler(std::move(h)), options(o), acceptor(io_context) {}

  asio::io_context& io;
  Handler handler;
  ServerOptions options;
  tcp::acceptor acceptor;
  bool stopped = false;
  // Touched only on the io_context; the mutex covers a Server driven by several threads.
  std::mutex mu;
  std::unordered_set<std::shared_ptr<Conn>> conns;

  std::chrono::milliseconds idle() const {
    return std::chrono::milliseconds(options.idle_timeout_ms);
  }

  asio::awaitable<void> acceptLoop();
  asio::awaitable<void> serve(std::shared_ptr<Conn> conn);
  // Reads more bytes into buf; false on EOF, error or timeout.
  asio::awaitable<bool> readMore(const std::shared_ptr<Conn>& conn, std::string& buf);
  asio::awaitable<bool> writeAll(const std::shared_ptr<Conn>& conn, std::string_view head,
                                 std::string_view body);
  asio::awaitable<void> failAndClose(const std::shared_ptr<Conn>& conn, int status,
                                     std::string_view reason);
  void doStop();
};

asio::awaitable<void> Server::Impl::acceptLoop() {
  auto self = shared_from_this();
  for (;;) {
    asio::error_code ec;
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopped || !acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors and the like: back off instead of spinning.
      SLUICE_LOG_WARN("http server: accept failed: {}", ec.message());
      asio::steady_timer backoff(io, std::chrono::milliseconds(50));
      co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_shared<Conn>(std::move(socket));
    {
      std::lock_guard lock(mu);
      conns.insert(conn);
    }
    asio::co_spawn(io, serve(conn), [self, conn](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          SLUICE_LOG_WARN("http server: connection ended by exception: {}", ex.what());
        } catch (...) {
        }
      }
      asio::error_code ignored;
      conn->timer.cancel();
      conn->socket.close(ignored);
      std::lock_guard lock(self->mu);
      self->conns.erase(conn);
    });
  }
}

asio::awaitable<bool> Server::Impl::readMore(const std::shared_ptr<Conn>& conn, std::string& buf) {
  std::array<char, kReadChunk> chunk;
  asio::error_code ec;
  armTimer(conn, idle());
  size_t n = co_await conn->socket.async_read_some(asio::buffer(chunk),
                                                   asio::redirect_error(asio::use_awaitable, ec));
  conn->timer.cancel();
  if (ec || n == 0) co_return false;
  buf.append(chunk.data(), n);
  co_return true;
}

asio::awaitable<bool> Server::Impl::writeAll(const std::shared_ptr<Conn>& conn,
                                             std::string_view head, std::string_view body) {
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head.data(), head.size()),
                                               asio::buffer(body.data(), body.size())};
  asio::error_code ec;
  armTimer(conn, idle());
  co_await asio::async_write(conn->socket, buffers, asio::redirect_error(asio::use_awaitable, ec));
  conn->timer.cancel();
  co_return !ec;
}

asio::awaitable<void> Server::Impl::failAndClose(const std::shared_ptr<Conn>& conn, int status,
                                                 std::string_view reason) {
  Response r = Response::text(status, fmt::format("{}: {}\n", reasonPhrase(status), reason));
  r.head.headers.add("Content-Length", std::to_string(r.body.size()));
  r.head.headers.add("Connection", "close");
  std::string head;
  serializeResponseHead(r.head, head);
  if (!co_await writeAll(conn, head, r.body)) co_return;
  asio::error_code ec;
  conn->socket.shutdown(tcp::socket::shutdown_send, ec);
  armTimer(conn, kLingerTime);
  std::array<char, kReadChunk> sink;
  for (size_t drained = 0; drained < kLingerBytes;) {
    size_t n = co_await conn->socket.async_read_some(asio::buffer(sink),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) break;
    drained += n;
  }
  conn->timer.cancel();
}

asio::awaitable<void> Server::Impl::serve(std::shared_ptr<Conn> conn) {
  auto self = shared_from_this();
  net::HostPort peer;
  {
    asio::error_code ec;
    auto ep = conn->socket.remote_endpoint(ec);
    if (!ec) peer = net::HostPort{ep.address().to_string(), ep.port()};
  }
  Limits limits;
  limits.max_head_bytes = options.max_head_bytes;
  RequestHeadParser parser(limits);
  std::string buf;
  for (;;) {
    // ---- head ----
    RequestHead head;
    HeadResult hr;
    conn->idle = buf.empty();
    for (;;) {
      hr = parser.parse(buf, head);
      if (hr.status != ParseStatus::kIncomplete) break;
      if (stopped && buf.empty()) co_return;
      if (!co_await readMore(conn, buf)) co_return;
      conn->idle = false;
    }
    conn->idle = false;
    if (hr.status == ParseStatus::kError) {
      co_await failAndClose(conn, hr.error.status, hr.error.reason);
      co_return;
    }
    buf.erase(0, hr.consumed);

    // ---- body ----
    std::string body;
    const bool wants_body =
        hr.framing.kind == BodyKind::kContentLength || hr.framing.kind == BodyKind::kChunked;
    if (hr.framing.kind == BodyKind::kContentLength && hr.framing.length > options.max_body_bytes) {
      co_await failAndClose(conn, 413,
                            fmt::format("body of {} bytes exceeds the limit of {} bytes",
                                        hr.framing.length, options.max_body_bytes));
      co_return;
    }
    if (wants_body && hr.expect_continue && buf.empty()) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      if (!co_await writeAll(conn, kContinue, {})) co_return;
    }
    if (hr.framing.kind == BodyKind::kContentLength) {
      const size_t length = static_cast<size_t>(hr.framing.length);
      while (buf.size() < length) {
        if (!co_await readMore(conn, buf)) co_return;
      }
      body.assign(buf, 0, length);
      buf.erase(0, length);
    } else if (hr.framing.kind == BodyKind::kChunked) {
      ChunkedDecoder decoder(limits);
      for (;;) {
        ChunkResult cr = decoder.decode(buf);
        body.append(cr.data);
        buf.erase(0, cr.consumed);
        if (cr.status == ParseStatus::kError) {
          co_await failAndClose(conn, cr.error.status, cr.error.reason);
          co_return;
        }
        if (body.size() > options.max_body_bytes) {
          co_await failAndClose(
              conn, 413,
              fmt::format("chunked body exceeds the limit of {} bytes", options.max_body_bytes));
          co_return;
        }
        if (cr.status == ParseStatus::kComplete) break;
        if (cr.consumed == 0 && !co_await readMore(conn, buf)) co_return;
      }
    }

    // ---- handler (exceptions stop here) ----
    const bool is_head = head.method == "HEAD";
    const Version version = head.version;
    Response response;
    // A named Request, not a temporary inside the co_await expression: g++ 12 destroys such
    // temporaries twice.
    Request request{std::move(head), std::move(body), peer};
    try {
      response = co_await handler(std::move(request));
    } catch (const std::exception& e) {
      SLUICE_LOG_ERROR("http server: handler failed: {}", e.what());
      response = Response::text(500, "internal error\n");
    } catch (...) {
      SLUICE_LOG_ERROR("http server: handler failed with a non-standard exception");
      response = Response::text(500, "internal error\n");
    }

    // ---- response ----
    const bool keep = hr.keep_alive && !stopped;
    ResponseHead& out = response.head;
    out.version = Version::kHttp11;
    out.headers.remove("Content-Length");
    out.headers.remove("Transfer-Encoding");
    out.headers.remove("Connection");
    const bool no_body = responseHasNoBody(out.status);
    if (!no_body) out.headers.add("Content-Length", std::to_string(response.body.size()));
    if (!keep) {
      out.headers.add("Connection", "close");
    } else if (version == Version::kHttp10) {
      out.headers.add("Connection", "keep-alive");
    }
    std::string wire;
    serializeResponseHead(out, wire);
    std::string_view payload = (no_body || is_head) ? std::string_view() : response.body;
    if (!co_await writeAll(conn, wire, payload)) co_return;
    if (!keep) {
      asio::error_code ec;
      conn->socket.shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
  }
}

void Server::Impl::doStop() {
  stopped = true;
  asio::error_code ec;
  acceptor.close(ec);
  std::lock_guard lock(mu);
  for (const auto& conn : conns) {
    if (conn->idle) conn->socket.close(ec);
  }
}

Server::Server(asio::io_context& io, Handler handler, ServerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(handler), options)) {}

Server::~Server() { stop(); }

Result<net::HostPort> Server::listen(const net::HostPort& address) {
  auto fail = [&](const std::string& what, const asio::error_code& ec) {
    return makeError(ErrorCode::kUnavailable, ErrorSource::kInternal,
                     fmt::format("http server: {} {}: {}", what, address.toString(), ec.message()));
  };
  if (impl_->acceptor.is_open()) {
    return makeError(ErrorCode::kAlreadyExists, ErrorSource::kInternal,
                     "http server: listen() called twice");
  }
  asio::error_code ec;
  asio::ip::address ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    tcp::resolver resolver(impl_->io);
    auto results = resolver.resolve(address.host, std::to_string(address.port), ec);
    if (ec || results.empty()) return fail("cannot resolve", ec);
    ip = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(ip, address.port);
  tcp::acceptor& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("cannot open socket for", ec);
  acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) {
    acceptor.close();
    return fail("cannot bind", ec);
  }
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.close();
    return fail("cannot listen on", ec);
  }
  auto bound = acceptor.local_endpoint(ec);
  if (ec) return fail("cannot read the bound address of", ec);
  asio::co_spawn(impl_->io, impl_->acceptLoop(), asio::detached);
  return net::HostPort{bound.address().to_string(), bound.port()};
}

void Server::stop() {
  asio::dispatch(impl_->io, [impl = impl_] { impl->doStop(); });
}

}  // namespace sluice::http
