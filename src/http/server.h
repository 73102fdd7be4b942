#pragma once
// A small HTTP/1.1 server for the control-side endpoints: the embedded registry, the admin
// endpoint, the demo apps. Requests and responses are carried whole (bodies capped by
// ServerOptions::max_body_bytes). The proxy's data path does NOT use this class: it streams.
//
// Threading: one Server runs on the io_context given to it; handlers run on that context. The
// io_context must outlive the Server. listen() may be called before the context runs; stop() may
// be called from any thread (it is dispatched onto the context).
// Keep-alive, pipelining (answered in order) and strict parsing come from the codec (codec.h): a
// malformed request gets its status (400, or 414/431/501/505) with a short text/plain body naming
// the problem, and the connection is closed. A body above max_body_bytes gets 413 and a close.
// "Expect: 100-continue" is answered with "100 Continue" before the body is read. Responses carry
// Content-Length (set by the server: handlers need not set it) and "Connection: close" when the
// connection will close. A handler that throws produces a 500; the connection stays usable.
// Connections idle (or stalled mid-request) for idle_timeout_ms are closed.

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "http/message.h"
#include "net/address.h"

namespace sluice::http {

struct Request {
  RequestHead head;
  std::string body;
  net::HostPort peer;  // the client's address
};

struct Response {
  ResponseHead head;
  std::string body;

  static Response text(int status, std::string body,
                       std::string_view content_type = "text/plain; charset=utf-8");
  static Response json(int status, std::string body);
};

using Handler = std::function<asio::awaitable<Response>(Request)>;

struct ServerOptions {
  size_t max_body_bytes = 16 * 1024 * 1024;
  size_t max_head_bytes = 64 * 1024;
  int idle_timeout_ms = 60'000;
};

class Server {
 public:
  Server(asio::io_context& io, Handler handler, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; the bound address is returned.
  Result<net::HostPort> listen(const net::HostPort& address);
  // Stops accepting and closes idle connections; in-flight requests finish.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::http
