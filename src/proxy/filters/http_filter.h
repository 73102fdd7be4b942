#pragma once
// HTTP filters, in the Envoy spirit: small pieces of request-path behaviour, each in its own
// file beside the route / snapshot config it reads, run by the connection manager at fixed
// points of a request's life:
//
//   onRequestHead      the downstream request head, the route matched, before any cluster is
//                      picked: continue (optionally after a delay), or stop with a local reply
//                      (CORS preflight, fault abort).
//   onUpstreamRequest  the head about to be sent upstream (forwarding headers already set) and,
//                      when the body is replayable, the body: rewrite it (header operations,
//                      registry interception), copy it (mirroring). Cannot stop the request.
//   onResponseHead     the upstream response head (hop-by-hop fields removed): continue, stop
//                      with a local reply, or buffer the body (ask for onResponseBody).
//   onResponseBody     the whole response body, only for a filter whose onResponseHead asked
//                      for it; may rewrite it (the connection manager sends it with
//                      Content-Length).
//
// The chain (httpFilterChain) runs request hooks in order and response hooks in reverse order,
// as Envoy's decoder and encoder filters do.
//
// Contract: filters are stateless singletons (all per-request state is in FilterContext), called
// on the worker thread that owns the request, never throwing. A filter reads the request's
// route and snapshot through the context and must not keep pointers past the call.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "http/message.h"
#include "proxy/local_reply.h"
#include "proxy/route_table.h"
#include "proxy/snapshot.h"

namespace sluice::proxy {

class Worker;
struct ListenerContext;

// What a filter sees of its request. Owned by the connection manager; valid during a hook call.
struct FilterContext {
  Worker& worker;
  const std::shared_ptr<const MeshSnapshot>& snapshot;  // the one this request started with
  const ListenerContext& listener;
  uint32_t port = 0;   // destination port the request is routed for (RequestView::port)
  const Route& route;  // matched route (an empty one for passed-through requests)
  const MatchBlock* matched = nullptr;           // the route's match block that matched, if any
  const WeightedCluster* destination = nullptr;  // set from onUpstreamRequest on
  // The request head: as received in onRequestHead, the upstream head from onUpstreamRequest
  // on (rewritten in place by the connection manager and the filters).
  http::RequestHead& request;
  // onUpstreamRequest: the request body when it was read whole (replayable), else empty with
  // body_buffered false (it streams after the head and cannot be seen).
  std::string_view request_body;
  bool body_buffered = false;
};

enum class FilterStatus : uint8_t { kContinue, kStopWithLocalReply, kBufferBody };

struct FilterResult {
  FilterStatus status = FilterStatus::kContinue;
  // kStopWithLocalReply: the answer. kBufferBody: the answer when the body cannot be had whole
  // within `body_limit` (too large, incomplete, timed out).
  LocalReply reply;
  size_t body_limit = 0;               // kBufferBody
  std::chrono::milliseconds delay{0};  // onRequestHead kContinue: wait this long first

  static FilterResult proceed() { return {}; }
  static FilterResult proceedAfter(std::chrono::milliseconds delay) {
    FilterResult r;
    r.delay = delay;
    return r;
  }
  static FilterResult stop(LocalReply reply) {
    FilterResult r;
    r.status = FilterStatus::kStopWithLocalReply;
    r.reply = std::move(reply);
    return r;
  }
  static FilterResult bufferBody(size_t limit, LocalReply on_failure) {
    FilterResult r;
    r.status = FilterStatus::kBufferBody;
    r.body_limit = limit;
    r.reply = std::move(on_failure);
    return r;
  }
};

class HttpFilter {
 public:
  virtual ~HttpFilter() = default;
  virtual std::string_view name() const = 0;
  virtual FilterResult onRequestHead(FilterContext&) const { return FilterResult::proceed(); }
  virtual void onUpstreamRequest(FilterContext&) const {}
  virtual FilterResult onResponseHead(FilterContext&, http::ResponseHead&) const {
    return FilterResult::proceed();
  }
  virtual void onResponseBody(FilterContext&, http::ResponseHead&, std::string& /*body*/) const {}
};

// Every HTTP request's chain, in request order: cors, fault, registry_interception, header_ops,
// mirror.
std::span<const HttpFilter* const> httpFilterChain();

}  // namespace sluice::proxy
