#include "proxy/local_reply.h"

#include <fmt/format.h>

namespace sluice::proxy {

namespace {

LocalReply make(int status, ResponseFlag flag, std::string body, bool retryable = false) {
  LocalReply r;
  r.status = status;
  r.flag = flag;
  r.body = std::move(body);
  r.retryable = retryable;
  return r;
}

// " subset v1", or "" for the whole service.
std::string subsetNote(std::string_view subset) {
  return subset.empty() ? std::string() : fmt::format(" subset {}", subset);
}

}  // namespace

LocalReply LocalReply::missingHost() {
  return make(400, ResponseFlag::kDownstreamProtocolError, "missing Host header\n");
}

LocalReply LocalReply::unsupportedTarget(std::string_view target) {
  return make(400, ResponseFlag::kDownstreamProtocolError,
              fmt::format("unsupported request target '{}'\n", target));
}

LocalReply LocalReply::malformedRequestBody(int status, std::string_view reason) {
  return make(status, ResponseFlag::kDownstreamProtocolError,
              fmt::format("malformed request body: {}\n", reason));
}

LocalReply LocalReply::incompleteRequestBody(uint64_t received, std::optional<uint64_t> declared) {
  return make(
      400, ResponseFlag::kDownstreamConnectionTermination,
      declared
          ? fmt::format("request body ended after {} of its {} bytes\n", received, *declared)
          : fmt::format("request body ended after {} bytes, before its last chunk\n", received));
}

LocalReply LocalReply::noGatewayServer(uint32_t port) {
  return make(404, ResponseFlag::kNoRoute, fmt::format("no Gateway server on port {}\n", port));
}

LocalReply LocalReply::unknownService(std::string_view authority) {
  return make(502, ResponseFlag::kNoRoute,
              fmt::format("unknown service '{}': not a mesh service host, not a known instance "
                          "address, and not an ip:port to pass through\n",
                          authority));
}

LocalReply LocalReply::noVirtualHost(std::string_view authority) {
  return make(404, ResponseFlag::kNoRoute, fmt::format("no route for host '{}'\n", authority));
}

LocalReply LocalReply::noRoute(std::string_view authority, std::string_view path) {
  return make(404, ResponseFlag::kNoRoute,
              fmt::format("route not found for {}{}\n", authority, path));
}

LocalReply LocalReply::noDestination() {
  return make(404, ResponseFlag::kNoRoute, "route has no destination\n");
}

LocalReply LocalReply::redirect(int status, std::string location) {
  LocalReply r = make(status, ResponseFlag::kNone, "");
  r.headers.add("location", std::move(location));
  return r;
}

LocalReply LocalReply::direct(int status, std::string body) {
  return make(status, ResponseFlag::kNone, std::move(body));
}

LocalReply LocalReply::faultAbort(int status) {
  return make(status, ResponseFlag::kFaultInjected, "fault filter abort\n");
}

LocalReply LocalReply::noCluster(std::string_view host, std::string_view subset,
                                 std::string_view why) {
  return make(503, ResponseFlag::kNoClusterFound,
              fmt::format("no cluster for {}{}: {}\n", host, subsetNote(subset), why));
}

LocalReply LocalReply::clusterGone() {
  return make(503, ResponseFlag::kNoClusterFound,
              "cluster went away during a configuration update\n");
}

LocalReply LocalReply::originalDestinationNotIp(std::string_view host, std::string_view name) {
  return make(
      502, ResponseFlag::kNoRoute,
      fmt::format("ServiceEntry {} has resolution NONE and '{}' is not an IP\n", host, name));
}

LocalReply LocalReply::noHealthyUpstream(std::string_view host, std::string_view subset) {
  return make(503, ResponseFlag::kNoHealthyUpstream,
              fmt::format("no healthy upstream for {}{}\n", host, subsetNote(subset)));
}

LocalReply LocalReply::poolOverflow(std::string_view host, std::string_view subset) {
  return make(
      503, ResponseFlag::kUpstreamOverflow,
      fmt::format("upstream connection pool overflow for {}{}\n", host, subsetNote(subset)));
}

LocalReply LocalReply::connectFailure(std::string_view address, std::string_view host,
                                      std::string_view subset) {
  return make(
      503, ResponseFlag::kUpstreamConnectionFailure,
      fmt::format("upstream connect error to {} ({}{})\n", address, host, subsetNote(subset)),
      true);
}

LocalReply LocalReply::upstreamTimeout() {
  return make(504, ResponseFlag::kUpstreamRequestTimeout, "upstream request timeout\n", true);
}

LocalReply LocalReply::upstreamReset() {
  return make(503, ResponseFlag::kUpstreamConnectionTermination,
              "upstream connect error or disconnect/reset before headers\n", true);
}

LocalReply LocalReply::malformedResponse(std::string_view reason) {
  return make(502, ResponseFlag::kUpstreamProtocolError,
              fmt::format("upstream sent a malformed response: {}\n", reason), true);
}

LocalReply LocalReply::unrequestedUpgrade() {
  return make(502, ResponseFlag::kUpstreamProtocolError,
              "upstream switched protocols without an upgrade request\n");
}

}  // namespace sluice::proxy
