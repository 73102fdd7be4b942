#pragma once
// The retry loop over upstream attempts (proxy/upstream_attempt.h), per the route's retry
// policy (proxy/route_table.h RetryPolicy): each attempt picks an endpoint with the cluster's
// load balancer (a retry avoids the previous host), runs, and its result decides:
//   response                a retriable status is dropped and retried, anything else is the
//                           exchange the caller streams back;
//   connect failure         retried (without backoff) when the policy allows, else 503 UF;
//   stale pooled connection retried once on a fresh connection, not counted as an attempt;
//   timeout / reset / malformed head
//                           retried with backoff when the policy allows and the route's
//                           overall deadline has not passed, else 504 UT / 503 UC / 502 UPE;
//   pool overflow           503 UO; no healthy endpoint: 503 UH (never retried).
// An outcome the policy would retry but the attempts have run out for also gets URX (Envoy's
// "UF,URX"; the response itself is the last attempt's).
// Only a replayable request (body read whole) is retried. Outlier detection sees every attempt.
//
// Worker thread only; the cluster state must be pinned by the caller for the whole loop.

#include <asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>

#include "proxy/local_reply.h"
#include "proxy/upstream_attempt.h"

namespace sluice::proxy {

// How the loop ended: a local reply, a downstream failure (`downstream_error` says what to
// answer; no response has started), or an upstream response whose head is in
// Downstream::response and whose body follows on `connection` (the endpoint stays leased until
// the exchange goes).
struct UpstreamExchange {
  std::optional<LocalReply> reply;
  bool downstream_failed = false;
  http::ParseError downstream_error{0, {}};
  EndpointLease lease;
  std::unique_ptr<UpstreamStream> connection;
  http::HeadResult head;
};

asio::awaitable<UpstreamExchange> runRetryLoop(
    RequestContext& rc, ClusterState& cluster, const RetryPolicy& retry,
    const WeightedCluster& destination, const AttemptRequest& request, SocketTimer& timer,
    std::optional<std::chrono::steady_clock::time_point> deadline);

}  // namespace sluice::proxy
