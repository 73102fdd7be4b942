#include "proxy/gateway_ports.h"

#include <fmt/format.h>

namespace sluice::proxy {

std::optional<uint16_t> GatewayPorts::port(uint32_t server_port) const {
  std::lock_guard lock(mu_);
  return portLocked(server_port);
}

std::optional<uint16_t> GatewayPorts::portLocked(uint32_t server_port) const {
  if (ephemeral_) {
    if (server_port == 0 || server_port > 65535) return std::nullopt;
    auto it = chosen_.find(server_port);
    return it == chosen_.end() ? uint16_t{0} : it->second;
  }
  int port = static_cast<int>(server_port) + offset_;
  if (port <= 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

Result<uint16_t> GatewayPorts::open(uint32_t server_port,
                                    const std::function<Result<uint16_t>(uint16_t)>& bind) {
  std::lock_guard lock(mu_);
  auto want = portLocked(server_port);
  if (!want) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                     fmt::format("gateway port {} + offset {} is out of range; not served",
                                 server_port, offset_));
  }
  auto bound = bind(*want);
  if (bound && ephemeral_ && *want == 0) chosen_.emplace(server_port, *bound);
  return bound;
}

}  // namespace sluice::proxy
