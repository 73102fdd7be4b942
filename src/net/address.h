#pragma once
// Addresses as Sluice sees them: "host:port" pairs from flags and URLs, and IPv4/IPv6 CIDR blocks
// (pod CIDRs of the reverse-DNS method, exclusions of init-netfilter).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::net {

struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  std::string toString() const;  // brackets IPv6 literals
};

// Parses "host:port", "[v6]:port", or "host" when default_port is given (>0).
Result<HostPort> parseHostPort(std::string_view text, int default_port = -1);

// An IP address in network byte order; IPv4 is stored as v4-mapped-free 4 bytes.
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  static std::optional<IpAddress> parse(std::string_view text);
  std::string toString() const;
  bool operator==(const IpAddress&) const = default;
};

struct Cidr {
  IpAddress base;
  int prefix_len = 0;
  static Result<Cidr> parse(std::string_view text);  // "10.0.0.0/8", "::1/128", or a bare IP
  bool contains(const IpAddress& ip) const;
  std::string toString() const;
};

}  // namespace sluice::net
