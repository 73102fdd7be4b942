#pragma once
// The access log (--access-log): one Envoy-like line per request on stdout,
//   [start] "METHOD PATH PROTO" CODE FLAGS RX TX DURATION "XFF" "UA" "REQUEST-ID" "AUTHORITY"
//   "UPSTREAM" ROUTE
// Kept off the request's critical section: record() only formats into the worker's pending
// buffer; the write to stdout happens in a job posted to the worker's io_context, batching every
// line recorded meanwhile, after the connection coroutine moved on. What is pending when the
// worker goes is written by the destructor.
//
// Threads: one AccessLog per worker, used on its thread only.

#include <asio/io_context.hpp>
#include <string>
#include <string_view>

#include "http/message.h"

namespace sluice::proxy {

struct RequestOutcome;  // proxy/request_context.h

class AccessLog {
 public:
  // `io` must outlive every job this log posts (the worker destroys its io_context first).
  explicit AccessLog(asio::io_context& io) : io_(io) {}
  ~AccessLog() { flush(); }
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // `target` is the request target as received (before any rewrite).
  void record(const http::RequestHead& head, std::string_view target, const RequestOutcome& outcome,
              double duration_ms);
  void flush();

 private:
  asio::io_context& io_;
  std::string pending_;
  bool scheduled_ = false;
};

}  // namespace sluice::proxy
