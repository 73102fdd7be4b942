#pragma once
// The data plane's error vocabulary: Envoy's response flags, as they appear in the access log's
// RESPONSE_FLAGS field. One per request (the one that explains its outcome); kNone prints "-".
// Pure data, any thread.

#include <cstdint>
#include <string_view>

namespace sluice::proxy {

enum class ResponseFlag : uint8_t {
  kNone,
  kNoRoute,                        // NR: no route, no Gateway server, unknown service host
  kNoClusterFound,                 // NC: the destination host/subset has no cluster
  kNoHealthyUpstream,              // UH: the cluster has no available endpoint
  kUpstreamConnectionFailure,      // UF: connecting to the endpoint failed (after any retries)
  kUpstreamOverflow,               // UO: connection-pool limits (maxConnections + pending)
  kUpstreamRequestTimeout,         // UT: route timeout or perTryTimeout
  kUpstreamConnectionTermination,  // UC: the upstream closed or reset before a response head
  kUpstreamProtocolError,          // UPE: malformed or unacceptable upstream response
  kUpstreamRetryLimitExceeded,     // URX: not emitted yet (Sluice reports the last attempt's flag)
  kDownstreamConnectionTermination,  // DC: not emitted yet (a downstream close mid-body is DPE)
  kDownstreamProtocolError,          // DPE: malformed downstream request or body
  kFaultInjected,                    // FI: fault abort
  kDelayInjected,                    // DI: fault delay
};

constexpr std::string_view responseFlagName(ResponseFlag flag) {
  switch (flag) {
    case ResponseFlag::kNone:
      return "-";
    case ResponseFlag::kNoRoute:
      return "NR";
    case ResponseFlag::kNoClusterFound:
      return "NC";
    case ResponseFlag::kNoHealthyUpstream:
      return "UH";
    case ResponseFlag::kUpstreamConnectionFailure:
      return "UF";
    case ResponseFlag::kUpstreamOverflow:
      return "UO";
    case ResponseFlag::kUpstreamRequestTimeout:
      return "UT";
    case ResponseFlag::kUpstreamConnectionTermination:
      return "UC";
    case ResponseFlag::kUpstreamProtocolError:
      return "UPE";
    case ResponseFlag::kUpstreamRetryLimitExceeded:
      return "URX";
    case ResponseFlag::kDownstreamConnectionTermination:
      return "DC";
    case ResponseFlag::kDownstreamProtocolError:
      return "DPE";
    case ResponseFlag::kFaultInjected:
      return "FI";
    case ResponseFlag::kDelayInjected:
      return "DI";
  }
  return "-";
}

}  // namespace sluice::proxy
