#pragma once
// Which port a gateway listens on for each Gateway server port. Normally server port N listens on
// N + ProxyOptions::port_offset. With ProxyOptions::ephemeral_gateway_ports (`sluice gateway
// --ephemeral-ports`, for tests that must not guess a free port) the first worker to open server
// port N binds port 0 and the kernel's choice is recorded; the other workers join that port
// (SO_REUSEPORT) and the readiness line lists it.
//
// Threads: any. One mutex, taken only while listeners change (a snapshot with other Gateway
// ports), never per request.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "core/result.h"

namespace sluice::proxy {

class GatewayPorts {
 public:
  GatewayPorts(int port_offset, bool ephemeral) : offset_(port_offset), ephemeral_(ephemeral) {}

  // The port server port `server_port` is listened on: N + offset, or (ephemeral) the recorded
  // port, 0 before the first worker opened it. nullopt when N + offset is outside 1..65535.
  std::optional<uint16_t> port(uint32_t server_port) const;

  // Opens server port `server_port` with `bind(port)` (returns the port it bound), under the lock
  // so two workers never both pick an ephemeral port; records the first ephemeral choice.
  Result<uint16_t> open(uint32_t server_port,
                        const std::function<Result<uint16_t>(uint16_t)>& bind);

 private:
  std::optional<uint16_t> portLocked(uint32_t server_port) const;

  const int offset_;
  const bool ephemeral_;
  mutable std::mutex mu_;
  std::map<uint32_t, uint16_t> chosen_;  // ephemeral: server port -> bound port
};

}  // namespace sluice::proxy
