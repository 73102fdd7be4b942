#include "proxy/snapshot.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"

namespace sluice::proxy {

std::string clusterName(std::string_view host, std::string_view subset, uint32_t port) {
  return fmt::format("outbound|{}|{}|{}", port == 0 ? std::string() : std::to_string(port), subset,
                     host);
}

const MeshService* MeshSnapshot::findService(std::string_view authority) const {
  char buf[256];
  std::string heap;
  auto host = lowerInto(splitAuthority(authority).first, buf, sizeof buf, heap);
  auto it = service_by_host.find(host);
  return it == service_by_host.end() ? nullptr : &services[it->second];
}

const MeshService* MeshSnapshot::findByVip(std::string_view ip) const {
  if (service_by_vip.empty()) return nullptr;
  auto it = service_by_vip.find(ip);
  if (it != service_by_vip.end()) return &services[it->second];
  // Not canonical: a dual-stack listener's v4-mapped form, or v6 written another way.
  auto addr = net::IpAddress::parse(ip);
  if (!addr) return nullptr;
  if (addr->v6) {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, addr->bytes.begin())) {
      net::IpAddress v4;
      std::copy(addr->bytes.begin() + 12, addr->bytes.end(), v4.bytes.begin());
      addr = v4;
    }
  }
  it = service_by_vip.find(addr->toString());
  return it == service_by_vip.end() ? nullptr : &services[it->second];
}

std::map<std::string, std::string> MeshSnapshot::vipAssignments() const {
  std::map<std::string, std::string> out;
  for (const auto& s : services) {
    if (!s.vip.empty()) out.emplace(s.fqdn, s.vip);
  }
  return out;
}

bool TcpRoute::applies(const net::IpAddress& dialled, uint32_t port) const {
  if (matches.empty()) return true;
  for (const auto& m : matches) {
    if (m.port && *m.port != port) continue;
    if (!m.destination_subnets.empty()) {
      bool inside = false;
      for (const auto& c : m.destination_subnets) inside = inside || c.contains(dialled);
      if (!inside) continue;
    }
    return true;
  }
  return false;
}

const MeshSnapshot::InterceptionRule* MeshSnapshot::interceptionFor(uint32_t port) const {
  for (const auto& r : interception_rules) {
    if (r.stream == nullptr && (!r.port || *r.port == port)) return &r;
  }
  return nullptr;
}

const MeshSnapshot::InterceptionRule* MeshSnapshot::streamInterceptionFor(uint32_t port) const {
  for (const auto& r : interception_rules) {
    if (r.stream != nullptr && (!r.port || *r.port == port)) return &r;
  }
  return nullptr;
}

const MeshSnapshot::InterceptionRule* MeshSnapshot::grpcInterceptionFor(uint32_t port) const {
  for (const auto& r : interception_rules) {
    if (r.grpc_rewriter != nullptr && r.grpc_rewriter->grpcPort(r.port) == port) return &r;
  }
  return nullptr;
}

std::string_view MeshSnapshot::InterceptionRule::registry() const {
  if (rewriter) return rewriter->registry();
  if (stream) return stream->registry();
  return {};
}

namespace {

bool rulesCover(const std::vector<MeshSnapshot::ReverseDnsRule>& rules, const net::IpAddress& addr,
                uint16_t port) {
  for (const auto& rule : rules) {
    if (rule.port && *rule.port != port) continue;
    for (const auto& c : rule.pod_cidrs) {
      if (c.contains(addr)) return true;
    }
  }
  return false;
}

}  // namespace

bool MeshSnapshot::reverseDnsCovers(std::string_view ip, uint16_t port) const {
  if (reverse_dns_rules.empty()) return false;
  auto addr = net::IpAddress::parse(ip);
  return addr && rulesCover(reverse_dns_rules, *addr, port);
}

const MeshService* MeshSnapshot::findByAddress(std::string_view ip, uint16_t port) const {
  if (reverse_dns_rules.empty() || reverse_dns.empty()) return nullptr;
  auto addr = net::IpAddress::parse(ip);
  if (!addr || !rulesCover(reverse_dns_rules, *addr, port)) return nullptr;
  char buf[80];
  auto end = addr->v6 ? fmt::format_to_n(buf, sizeof buf, "[{}]:{}", ip, port)
                      : fmt::format_to_n(buf, sizeof buf, "{}:{}", ip, port);
  if (end.size > sizeof buf) return nullptr;
  auto it = reverse_dns.find(std::string_view(buf, end.size));
  return it == reverse_dns.end() ? nullptr : &services[it->second];
}

const GatewayListener* MeshSnapshot::findGatewayListener(uint32_t port) const {
  for (const auto& gl : gateway_listeners) {
    if (gl.port == port) return &gl;
  }
  return nullptr;
}

std::string Endpoint::address() const {
  if (ip.find(':') != std::string::npos) return fmt::format("[{}]:{}", ip, port);
  return fmt::format("{}:{}", ip, port);
}

}  // namespace sluice::proxy
