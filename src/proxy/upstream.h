#pragma once
// One keep-alive connection to an upstream endpoint, owned by one worker. Idle connections wait
// in their EndpointState's `idle` list (per cluster, per endpoint, per worker: Envoy's pools are
// per cluster and host too); a request takes one, uses it, and gives it back if the response left
// it reusable.

#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "proxy/byte_stream.h"

namespace sluice::proxy {

struct UpstreamConnection {
  explicit UpstreamConnection(ByteStream s) : socket(std::move(s)) {}
  ByteStream socket;      // TCP, or an HTTP/2 stream's local end (proxy/h2_upstream.h)
  uint32_t requests = 0;  // requests sent on it (maxRequestsPerConnection)
  std::chrono::steady_clock::time_point idle_since{};
};

}  // namespace sluice::proxy
