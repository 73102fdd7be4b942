#include "proxy/upstream_request.h"

#include <fmt/format.h>

#include "http/codec.h"
#include "http/h2/upgrade.h"

namespace sluice::proxy {

namespace {

std::string requestId(Worker& w) {
  uint64_t a = w.rng()();
  uint64_t b = w.rng()();
  // UUID v4 layout, as Envoy generates.
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

}  // namespace

std::string prepareUpstreamHead(RequestContext& rc, const Route& route, const MatchBlock* matched) {
  http::RequestHead& up = rc.head;
  if (rc.w.options().access_log) rc.original_target = up.target;
  if (!route.rewrite.empty()) {
    std::string rewritten = rewritePath(route.rewrite, matched, up.path);
    if (rewritten.empty()) rewritten = "/";
    up.target = std::move(rewritten);
  } else if (up.target != up.path) {
    up.target.assign(up.path);  // absolute-form becomes origin-form; assign() reuses capacity
  }
  // Upgrade (WebSocket and the like): after a 101 the two connections are relayed as bytes.
  // Only for bodiless HTTP/1.1 requests, as RFC 9110 §7.8 and every WebSocket client have it.
  // h2c is the proxy's own business (the connection manager took it or declined it): never
  // passed on, and neither is HTTP2-Settings.
  http::h2::removeH2cUpgrade(up.headers);
  std::string upgrade;
  if (up.version == http::Version::kHttp11 && rc.parsed.framing.kind == http::BodyKind::kNone &&
      http::connectionHas(up.headers, "upgrade")) {
    upgrade = std::string(up.headers.get("upgrade").value_or(""));
  }
  up.version = http::Version::kHttp11;
  http::removeHopByHop(up.headers);
  if (!upgrade.empty()) {
    up.headers.set("connection", "upgrade");
    up.headers.set("upgrade", upgrade);
  }
  up.headers.remove("expect");
  up.headers.remove("x-envoy-attempt-count");
  if (!route.rewrite.authority.empty()) {
    up.headers.set("host", route.rewrite.authority);
  } else if (up.headers.count("host") != 1 || *up.headers.get("host") != up.authority) {
    up.headers.set("host", up.authority);  // absolute-form: Host follows the target
  }
  if (auto xff = up.headers.get("x-forwarded-for")) {
    up.headers.set("x-forwarded-for", std::string(*xff) + ", " + rc.d.peer_ip);
  } else {
    up.headers.add("x-forwarded-for", rc.d.peer_ip);
  }
  if (!up.headers.has("x-forwarded-proto")) up.headers.add("x-forwarded-proto", "http");
  if (!up.headers.has("x-request-id")) up.headers.add("x-request-id", requestId(rc.w));
  return upgrade;
}

}  // namespace sluice::proxy
