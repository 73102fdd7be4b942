#include "control/snapshot/vip_allocator.h"

#include <algorithm>
#include <unordered_set>

namespace sluice::control {
namespace {

uint32_t toU32(const net::IpAddress& ip) {
  return (uint32_t{ip.bytes[0]} << 24) | (uint32_t{ip.bytes[1]} << 16) |
         (uint32_t{ip.bytes[2]} << 8) | uint32_t{ip.bytes[3]};
}

net::IpAddress fromU32(uint32_t v) {
  net::IpAddress ip;
  ip.bytes[0] = static_cast<uint8_t>(v >> 24);
  ip.bytes[1] = static_cast<uint8_t>(v >> 16);
  ip.bytes[2] = static_cast<uint8_t>(v >> 8);
  ip.bytes[3] = static_cast<uint8_t>(v);
  return ip;
}

// FNV-1a: tiny, and unlike std::hash its values are fixed across builds and library versions,
// which is what keeps a name's VIP the same after a restart or an upgrade.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

struct Range {
  uint32_t first = 0;  // first usable address
  uint64_t count = 0;  // usable addresses
  bool usable(uint32_t a) const { return a >= first && uint64_t{a - first} < count; }
};

Range usableRange(const net::Cidr& range) {
  Range r;
  if (range.base.v6 || range.prefix_len < 0 || range.prefix_len > 32) return r;
  uint64_t size = uint64_t{1} << (32 - range.prefix_len);
  uint32_t mask = range.prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - range.prefix_len);
  uint32_t network = toU32(range.base) & mask;
  if (range.prefix_len <= 30) {
    r.first = network + 1;
    r.count = size - 2;
  } else {
    r.first = network;
    r.count = size;
  }
  return r;
}

}  // namespace

uint64_t vipHostCount(const net::Cidr& range) { return usableRange(range).count; }

std::map<std::string, net::IpAddress> allocateVips(
    const net::Cidr& range, const std::vector<std::string>& names,
    const std::map<std::string, net::IpAddress>& previous,
    const std::vector<net::IpAddress>& reserved) {
  std::map<std::string, net::IpAddress> out;
  Range r = usableRange(range);
  if (r.count == 0) return out;

  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());

  std::unordered_set<uint32_t> taken;
  for (const auto& ip : reserved) {
    if (!ip.v6 && r.usable(toU32(ip))) taken.insert(toU32(ip));
  }

  // Pass 1: earlier assignments stay where they are.
  std::vector<const std::string*> pending;
  for (const auto& name : sorted) {
    auto prev = previous.find(name);
    if (prev != previous.end() && !prev->second.v6) {
      uint32_t a = toU32(prev->second);
      if (r.usable(a) && taken.insert(a).second) {
        out.emplace(name, prev->second);
        continue;
      }
    }
    pending.push_back(&name);
  }

  // Pass 2: the others at their hash slot, or the next free address after it. The size check
  // before probing guarantees the probe finds a free address within `count` steps.
  for (const std::string* name : pending) {
    if (taken.size() >= r.count) break;
    uint64_t slot = fnv1a(*name) % r.count;
    for (uint64_t i = 0; i < r.count; ++i) {
      uint32_t a = r.first + static_cast<uint32_t>((slot + i) % r.count);
      if (taken.insert(a).second) {
        out.emplace(*name, fromU32(a));
        break;
      }
    }
  }
  return out;
}

}  // namespace sluice::control
