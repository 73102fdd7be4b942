#pragma once
// Traffic interception rules for a pod's network namespace (what istio-init does): outbound TCP
// is redirected to the sidecar's transparent port, optionally inbound TCP to its inbound port and
// DNS to its DNS port. The sidecar's own traffic is excluded by uid and/or socket mark, so it can
// reach the real destinations.
//
// The rules live in chains of our own (SLUICE_*) in the nat table, reached by one jump from each
// built-in chain; applying twice gives the same rules (idempotent), removing deletes exactly what
// applying added.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/address.h"

namespace sluice::net {

struct InterceptionSpec {
  uint16_t outbound_port = 15001;        // the sidecar's transparent outbound listener
  std::optional<uint16_t> inbound_port;  // unset: inbound traffic is not intercepted
  std::optional<uint16_t> dns_port;      // unset: DNS is not redirected
  std::optional<uint32_t> proxy_uid;     // traffic of this uid bypasses interception
  std::optional<uint32_t> proxy_mark;    // traffic with this socket mark bypasses it
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<Cidr> exclude_outbound_cidrs;
  std::vector<Cidr> include_outbound_cidrs;  // empty: every destination (but exclusions)
};

// Checks that the spec makes sense: ports non-zero, at least one bypass (uid or mark) so the
// sidecar does not loop into itself, IPv4 CIDRs only (the rules are for iptables, not ip6tables).
Status validate(const InterceptionSpec& spec);

// The iptables-restore input (nat table) that installs the rules. Deterministic.
std::string renderRestoreScript(const InterceptionSpec& spec);

// The iptables commands (argv) that remove the jumps and chains; each may fail harmlessly when
// the rule is already gone.
std::vector<std::vector<std::string>> removalCommands();

// Applies (remove, then install with iptables-restore --noflush) or removes the rules in the
// current network namespace. Errors carry the iptables output.
Status applyInterception(const InterceptionSpec& spec);
Status removeInterception();

}  // namespace sluice::net
