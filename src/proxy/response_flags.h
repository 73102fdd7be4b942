#pragma once
// The data plane's error vocabulary: Envoy's response flags, as they appear in the access log's
// RESPONSE_FLAGS field and the response_flags metric label. A request carries a set of them
// (ResponseFlags): usually one, the one that explains its outcome, plus URX when retries ran out
// (Envoy's "UF,URX"); none prints "-". Pure data, any thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::proxy {

enum class ResponseFlag : uint8_t {
  kNone,
  kNoRoute,                          // NR: no route, no Gateway server, unknown service host
  kNoClusterFound,                   // NC: the destination host/subset has no cluster
  kNoHealthyUpstream,                // UH: the cluster has no available endpoint
  kUpstreamConnectionFailure,        // UF: connecting to the endpoint failed (after any retries)
  kUpstreamOverflow,                 // UO: connection-pool limits (maxConnections + pending)
  kUpstreamRequestTimeout,           // UT: route timeout or perTryTimeout
  kUpstreamConnectionTermination,    // UC: the upstream closed or reset before a response head
  kUpstreamProtocolError,            // UPE: malformed or unacceptable upstream response
  kUpstreamRetryLimitExceeded,       // URX: the outcome was retriable but the retries ran out
  kDownstreamConnectionTermination,  // DC: the client closed before its request or response ended
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

// A set of flags, printed comma-separated as Envoy does (in the enumeration's order here).
class ResponseFlags {
 public:
  ResponseFlags() = default;
  ResponseFlags(ResponseFlag flag) { add(flag); }  // NOLINT: a single flag is a set of one

  void add(ResponseFlag flag) {
    if (flag != ResponseFlag::kNone) bits_ |= bit(flag);
  }
  bool has(ResponseFlag flag) const { return (bits_ & bit(flag)) != 0; }
  bool empty() const { return bits_ == 0; }
  uint32_t bits() const { return bits_; }
  bool operator==(const ResponseFlags&) const = default;

  std::string toString() const {
    if (bits_ == 0) return "-";
    std::string out;
    for (uint32_t i = 1; i <= static_cast<uint32_t>(ResponseFlag::kDelayInjected); ++i) {
      if ((bits_ & (1u << i)) == 0) continue;
      if (!out.empty()) out.push_back(',');
      out += responseFlagName(static_cast<ResponseFlag>(i));
    }
    return out;
  }

 private:
  static constexpr uint32_t bit(ResponseFlag flag) { return 1u << static_cast<uint32_t>(flag); }
  uint32_t bits_ = 0;
};

}  // namespace sluice::proxy
