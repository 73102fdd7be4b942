#include "proxy/access_log.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <asio/post.hpp>
#include <chrono>
#include <cstdio>

#include "proxy/request_context.h"

namespace sluice::proxy {

namespace {

std::string_view headerOr(const http::Headers& h, std::string_view name, std::string_view def) {
  auto v = h.get(name);
  return v ? *v : def;
}

// Envoy's %PROTOCOL%: what the client spoke (an HTTP/2 stream's head is kept as HTTP/1.1's
// RequestHead, so the outcome says).
std::string_view protocol(const http::RequestHead& head, const RequestOutcome& o) {
  if (o.http2) return "HTTP/2";
  return head.version == http::Version::kHttp10 ? "HTTP/1.0" : "HTTP/1.1";
}

}  // namespace

void AccessLog::record(const http::RequestHead& head, std::string_view target,
                       const RequestOutcome& o, double ms) {
  auto now = std::chrono::system_clock::now();
  fmt::format_to(
      std::back_inserter(pending_),
      "[{:%Y-%m-%dT%H:%M:%S}Z] \"{} {} {}\" {} {} {} {} {:.0f} \"{}\" \"{}\" "
      "\"{}\" \"{}\" \"{}\" {}\n",
      std::chrono::floor<std::chrono::seconds>(now), head.method, target, protocol(head, o),
      o.status, o.flags.toString(), o.bytes_received, o.bytes_sent, ms,
      headerOr(head.headers, "x-forwarded-for", "-"), headerOr(head.headers, "user-agent", "-"),
      headerOr(head.headers, "x-request-id", "-"), head.authority,
      o.upstream_host.empty() ? "-" : o.upstream_host, o.route_name.empty() ? "-" : o.route_name);
  if (scheduled_) return;
  scheduled_ = true;
  asio::post(io_, [this] { flush(); });
}

void AccessLog::flush() {
  scheduled_ = false;
  if (pending_.empty()) return;
  std::fwrite(pending_.data(), 1, pending_.size(), stdout);
  std::fflush(stdout);
  pending_.clear();
}

}  // namespace sluice::proxy
