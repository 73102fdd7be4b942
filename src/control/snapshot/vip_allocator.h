#pragma once
// Virtual IPs (VIPs) for mesh services: the addresses the sidecar's DNS proxy answers for mesh
// host names, and that the transparent listener maps back to the service (findByVip).
//
// Applications cache DNS answers (and connection pools keep dialled addresses), so a service must
// keep its VIP across snapshots even when other services come and go. Two mechanisms give that:
// - the preferred slot of a name is a hash of the name into the range's host addresses, so the
//   same name lands on the same address in a fresh process too;
// - the previous snapshot's assignments are honoured first, so a service that was pushed off its
//   hash slot by a collision keeps the address it was given, whatever appears later.
// Collisions are resolved by linear probing, names processed in sorted order so the result does
// not depend on the input order.
//
// Pure functions, no state; called off the request path while a snapshot is built.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/address.h"

namespace sluice::control {

// The usable addresses of an IPv4 range: the network and broadcast addresses are skipped for
// prefixes up to /30; /31 and /32 use every address. 0 for an IPv6 range (not supported).
uint64_t vipHostCount(const net::Cidr& range);

// Assigns an address of `range` (IPv4) to each of `names` (duplicates collapse to one).
// `previous`: name -> address of the last allocation; kept when still inside the range, usable
// and not taken by an earlier-sorted previous holder. `reserved`: addresses never handed out
// (e.g. addresses a ServiceEntry declares). Names that find no free address (range full) are
// absent from the result. An IPv6 range yields an empty result.
std::map<std::string, net::IpAddress> allocateVips(
    const net::Cidr& range, const std::vector<std::string>& names,
    const std::map<std::string, net::IpAddress>& previous = {},
    const std::vector<net::IpAddress>& reserved = {});

}  // namespace sluice::control
