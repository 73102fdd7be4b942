#include "net/address.h"

#include <arpa/inet.h>

#include <cstring>

#include "core/strings.h"

namespace sluice::net {

std::string HostPort::toString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parseHostPort(std::string_view text, int default_port) {
  HostPort out;
  std::string_view port_text;
  if (text.starts_with('[')) {
    auto close = text.find(']');
    if (close == std::string_view::npos) return invalidArgument("'{}': unterminated '['", text);
    out.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return invalidArgument("'{}': expected ':' after ']'", text);
      port_text = rest.substr(1);
    }
  } else {
    auto colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') == colon) {
      out.host = std::string(text.substr(0, colon));
      port_text = text.substr(colon + 1);
    } else {
      out.host = std::string(text);
    }
  }
  if (out.host.empty()) return invalidArgument("'{}': empty host", text);
  // Bytes no host name or IP literal has: what would make the printed form mean something else.
  for (unsigned char c : out.host) {
    if (c <= 0x20 || c == 0x7f ||
        std::string_view("[]/?#@\\").find(static_cast<char>(c)) != std::string_view::npos) {
      return invalidArgument("'{}': invalid character in host", text);
    }
  }
  if (port_text.empty()) {
    if (default_port < 0) return invalidArgument("'{}': missing port (expected host:port)", text);
    out.port = static_cast<uint16_t>(default_port);
    return out;
  }
  auto port = parseUint(port_text, 65535);
  if (!port) return invalidArgument("'{}': port must be a number in 0..65535", text);
  out.port = static_cast<uint16_t>(*port);
  return out;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) return ip;
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    ip.v6 = true;
    return ip;
  }
  return std::nullopt;
}

std::string IpAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<Cidr> Cidr::parse(std::string_view text) {
  Cidr cidr;
  auto slash = text.find('/');
  auto ip = IpAddress::parse(text.substr(0, slash));
  if (!ip) return invalidArgument("'{}' is not an IP address or CIDR block", text);
  cidr.base = *ip;
  int max_len = ip->v6 ? 128 : 32;
  if (slash == std::string_view::npos) {
    cidr.prefix_len = max_len;
  } else {
    auto len = parseUint(text.substr(slash + 1), static_cast<uint64_t>(max_len));
    if (!len) return invalidArgument("'{}': prefix length must be 0..{}", text, max_len);
    cidr.prefix_len = static_cast<int>(*len);
  }
  return cidr;
}

bool Cidr::contains(const IpAddress& ip) const {
  if (ip.v6 != base.v6) return false;
  int full = prefix_len / 8;
  if (std::memcmp(ip.bytes.data(), base.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[static_cast<size_t>(full)] & mask) ==
         (base.bytes[static_cast<size_t>(full)] & mask);
}

std::string Cidr::toString() const { return base.toString() + "/" + std::to_string(prefix_len); }

}  // namespace sluice::net
