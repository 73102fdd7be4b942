#pragma once
// The sidecar's own outbound sockets carry a socket mark (SO_MARK) so the interception rules
// (`sluice init-netfilter --proxy-mark N`) let them through instead of redirecting them back to
// the sidecar. One process-wide setting, fixed at start-up before any socket is opened; every
// component that dials out (upstream connections, the registry client, the DNS forwarder) calls
// markOutboundSocket() on its socket before connecting or sending.

#include <cstdint>
#include <optional>

#include "core/result.h"

namespace sluice::net {

// Sets the mark; nullopt = do not mark (the default). Call once, before any worker starts.
void setOutboundSocketMark(std::optional<uint32_t> mark);
std::optional<uint32_t> outboundSocketMark();

// Applies the mark to `fd` when one is set (needs CAP_NET_ADMIN). Error kIo names errno.
Status markOutboundSocket(int fd);

}  // namespace sluice::net
