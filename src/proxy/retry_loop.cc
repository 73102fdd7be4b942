#include "proxy/retry_loop.h"

#include <algorithm>
#include <asio/steady_timer.hpp>

#include "proxy/grpc.h"

namespace sluice::proxy {

using asio::awaitable;
using std::chrono::steady_clock;
using Kind = AttemptResult::Kind;

namespace {

// Exponential backoff between retries: a random wait in [0, base * 2^(n-1)], capped at 10x base
// (Envoy's scheme; Istio's default base is 25ms).
awaitable<void> backoff(Worker& w, const RetryPolicy& retry, uint32_t attempt) {
  auto base = retry.backoff_base.count() > 0 ? retry.backoff_base : std::chrono::milliseconds(25);
  int64_t cap = base.count() * 10;
  int64_t window = std::min<int64_t>(cap, base.count() << std::min<uint32_t>(attempt - 1, 10));
  int64_t wait = static_cast<int64_t>(w.rng()() % static_cast<uint64_t>(window + 1));
  if (wait <= 0) co_return;
  asio::steady_timer t(w.io());
  t.expires_after(std::chrono::milliseconds(wait));
  asio::error_code ec;
  co_await t.async_wait(withEc(ec));
}

// The per-attempt deadline: the route's and perTryTimeout's, whichever comes first.
std::optional<steady_clock::time_point> attemptDeadline(
    const RetryPolicy& retry, std::optional<steady_clock::time_point> deadline) {
  if (retry.per_try_timeout.count() <= 0) return deadline;
  auto t = steady_clock::now() + retry.per_try_timeout;
  return !deadline || t < *deadline ? t : *deadline;
}

LocalReply failureReply(const AttemptResult& r) {
  switch (r.kind) {
    case Kind::kTimeout:
      return LocalReply::upstreamTimeout();
    case Kind::kProtocolError:
      return LocalReply::malformedResponse(r.head.error.reason);
    default:
      return LocalReply::upstreamReset();
  }
}

}  // namespace

awaitable<UpstreamExchange> runRetryLoop(RequestContext& rc, ClusterState& cs,
                                         const RetryPolicy& retry, const WeightedCluster& dest,
                                         const AttemptRequest& req, SocketTimer& timer,
                                         std::optional<steady_clock::time_point> deadline) {
  UpstreamExchange out;
  const uint32_t max_attempts = 1 + retry.num_retries;
  EndpointState* previous = nullptr;
  bool stale_retry_used = false;
  for (uint32_t attempt = 1; attempt <= max_attempts; ++attempt) {
    rc.outcome.attempts = attempt;
    PickContext pc;
    pc.avoid = previous;
    pc.hash = requestHash(cs.lb(), rc.head, rc.d.peer_ip);
    EndpointState* ep = cs.pick(pc, steady_clock::now());
    if (ep == nullptr) {
      out.reply = LocalReply::noHealthyUpstream(dest.host, dest.subset);
      co_return out;
    }
    rc.outcome.upstream_host = ep->address;
    EndpointLease lease(cs, *ep);
    AttemptResult r =
        co_await runAttempt(rc, cs, *ep, req, attempt, timer, attemptDeadline(retry, deadline));
    bool can_retry = attempt < max_attempts && req.replayable;
    // Envoy's URX: the policy would retry this outcome, but the attempts are used up.
    auto noteIfExhausted = [&](bool policy_retries) {
      if (policy_retries && req.replayable && retry.num_retries > 0 && attempt == max_attempts) {
        rc.outcome.flags.add(ResponseFlag::kUpstreamRetryLimitExceeded);
      }
    };
    switch (r.kind) {
      case Kind::kResponse: {
        int status = rc.x.response.status;
        bool retriable = retry.shouldRetry(RetryPolicy::Outcome::kStatus, status) ||
                         retry.shouldRetryGrpc(grpc::statusOf(rc.x.response.headers));
        if (can_retry && retriable) {
          timer.disarm();
          cs.recordResult(*ep, status, false, steady_clock::now());
          rc.w.upstreamPool().release(cs, *ep, std::move(r.connection), false);
          previous = ep;
          co_await backoff(rc.w, retry, attempt);
          continue;
        }
        noteIfExhausted(retriable);
        out.lease = std::move(lease);
        out.connection = std::move(r.connection);
        out.head = std::move(r.head);
        co_return out;
      }
      case Kind::kOverflow:
        out.reply = LocalReply::poolOverflow(dest.host, dest.subset);
        co_return out;
      case Kind::kDownstreamError:
        out.downstream_failed = true;
        out.downstream_error = std::move(r.downstream_error);
        co_return out;
      case Kind::kConnectFailure:
        cs.recordResult(*ep, 503, true, steady_clock::now());
        previous = ep;
        if (can_retry && retry.shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0)) continue;
        noteIfExhausted(retry.shouldRetry(RetryPolicy::Outcome::kConnectFailure, 0));
        out.reply = LocalReply::connectFailure(ep->address, dest.host, dest.subset);
        co_return out;
      case Kind::kStaleConnection:
        if (req.replayable && !stale_retry_used) {
          stale_retry_used = true;
          --attempt;
          continue;
        }
        break;
      case Kind::kTimeout:
      case Kind::kReset:
      case Kind::kProtocolError:
        break;
    }
    // Timeout, reset or malformed head (or a stale connection already retried once).
    bool timed_out = r.kind == Kind::kTimeout;
    int local = timed_out ? 504 : r.kind == Kind::kProtocolError ? 502 : 503;
    cs.recordResult(*ep, local, true, steady_clock::now());
    previous = ep;
    bool overall_timeout = timed_out && deadline && steady_clock::now() >= *deadline;
    auto outcome = timed_out ? RetryPolicy::Outcome::kStatus : RetryPolicy::Outcome::kReset;
    if (!overall_timeout && can_retry && retry.shouldRetry(outcome, local)) {
      co_await backoff(rc.w, retry, attempt);
      continue;
    }
    noteIfExhausted(!overall_timeout && retry.shouldRetry(outcome, local));
    out.reply = failureReply(r);
    co_return out;
  }
  out.reply = LocalReply::upstreamReset();  // not reached: the last attempt always returns
  co_return out;
}

}  // namespace sluice::proxy
