#pragma once
// A small HTTP/1.1 client for control-side work: registry clients, the demo consumer, tests.
// One request per call over a fresh or pooled connection; bodies are carried whole.
// Not the proxy's upstream path (that one streams and pools per worker).

#include <asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "core/result.h"
#include "http/message.h"
#include "http/server.h"
#include "net/address.h"

namespace sluice::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // "http://host:port/path?query"
  Headers headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};
  // When set, the request is sent to this proxy in absolute-form, like a JVM with
  // http.proxyHost/http.proxyPort or a process with http_proxy.
  std::optional<net::HostPort> proxy;
  // Cap on the response body; a larger body fails with kResourceExhausted.
  size_t max_response_bytes = 64 * 1024 * 1024;
};

// Runs on the calling coroutine's executor. Errors: kInvalidArgument (bad URL, or an https URL:
// plain HTTP only), kUnavailable (resolve/connect failure: retryable; reset or EOF before the
// response was complete: not retryable since the request may have been processed), kTimeout (the
// whole exchange took longer than `timeout`), kInvalidArgument with source kUpstream for a
// malformed response, kResourceExhausted for a body above max_response_bytes.
//
// The request carries a Host header (from the URL unless given), Content-Length when there is a
// body (or the method is POST/PUT/PATCH) and "Connection: close" unless the caller set Connection:
// one connection per call, no reuse. Interim 1xx responses are skipped. The response body is
// decoded (Content-Length, chunked, or read until close); for HEAD requests it is empty.
asio::awaitable<Result<Response>> fetch(ClientRequest request);

// Blocking convenience for CLI code and tests: runs fetch() on a private io_context.
Result<Response> fetchBlocking(ClientRequest request);

}  // namespace sluice::http
