#pragma once
// One keep-alive connection to an upstream endpoint, owned by one worker. Idle connections wait
// in their EndpointState's `idle` list (per cluster, per endpoint, per worker: Envoy's pools are
// per cluster and host too); a request takes one, uses it, and gives it back if the response left
// it reusable.

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>

namespace sluice::proxy {

struct UpstreamConnection {
  explicit UpstreamConnection(asio::ip::tcp::socket s) : socket(std::move(s)) {}
  asio::ip::tcp::socket socket;
  uint32_t requests = 0;  // requests sent on it (maxRequestsPerConnection)
  std::chrono::steady_clock::time_point idle_since{};
};

}  // namespace sluice::proxy
