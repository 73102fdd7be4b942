// Services and their host forms (registry services, ServiceEntries) and virtual IPs.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "control/snapshot/builder.h"
#include "control/snapshot/vip_allocator.h"
#include "core/strings.h"
#include "registry/registry.h"

namespace sluice::control::snapshot {

using proxy::Endpoint;
using proxy::MeshService;

void Builder::addHostForms(int idx, const std::string& fqdn) {
  auto add = [&](std::string host) { snap_->service_by_host.emplace(std::move(host), idx); };
  add(fqdn);
  // name.ns.svc.<cluster domain>: also name, name.ns, name.ns.svc (same-namespace view).
  std::string marker = ".svc." + clusterDomain();
  auto pos = fqdn.find(marker);
  if (pos != std::string::npos && pos + marker.size() == fqdn.size()) {
    std::string name_ns = fqdn.substr(0, pos);  // name.ns
    add(name_ns);
    add(name_ns + ".svc");
    auto dot = name_ns.find('.');
    if (dot != std::string::npos && name_ns.substr(dot + 1) == in_.default_namespace) {
      add(name_ns.substr(0, dot));
    }
  }
}

std::string Builder::clusterDomain() const {
  // domain_suffix is "svc.cluster.local": the cluster domain is what follows "svc.".
  std::string_view s = in_.domain_suffix;
  if (s.starts_with("svc.")) s.remove_prefix(4);
  return std::string(s);
}

std::string Builder::registryFqdn(const std::string& name) const {
  return toLower(name) + "." + in_.default_namespace + "." + in_.domain_suffix;
}

int Builder::serviceIndex(const std::string& host) const {
  auto it = snap_->service_by_host.find(toLower(host));
  return it == snap_->service_by_host.end() ? -1 : it->second;
}

void Builder::addRegistryServices() {
  for (const auto& rs : in_.registry_services) {
    std::string fqdn = registryFqdn(rs.name);
    int idx = serviceIndex(fqdn);
    if (idx < 0) {
      MeshService svc;
      svc.fqdn = fqdn;
      svc.name = rs.name;
      svc.ns = in_.default_namespace;
      svc.origin = MeshService::Origin::kRegistry;
      // The scope is the adapter's (its defaults filled in there): nothing registry-specific here.
      std::string scope = registry::describeScope(rs);
      svc.source = scope.empty() ? fmt::format("registry service {}", rs.name)
                                 : fmt::format("registry service {} ({})", rs.name, scope);
      snap_->services.push_back(std::move(svc));
      idx = static_cast<int>(snap_->services.size() - 1);
      addHostForms(idx, fqdn);
    } else {
      std::string scope = registry::describeScope(rs);
      snap_->services[idx].source += "; also " + (scope.empty() ? "another registry" : scope);
    }
    auto& svc = snap_->services[idx];
    for (const auto& inst : rs.instances) {
      if (!inst.enabled) continue;
      Endpoint ep;
      ep.ip = inst.ip;
      ep.port = inst.port;
      ep.labels = inst.metadata;
      // Registry weights are doubles (Nacos 1.0 default); keep two decimals of precision.
      double w = std::max(0.0, inst.weight);
      ep.weight = static_cast<uint32_t>(std::lround(w * 100));
      ep.healthy = inst.healthy && ep.weight > 0;
      if (ep.weight == 0) ep.weight = 1;
      svc.endpoints.push_back(std::move(ep));
    }
  }
}

void Builder::addServiceEntries() {
  for (const auto& se : in_.config.service_entries) {
    std::string name = se.meta.ns + "/" + se.meta.name;
    for (const auto& host_raw : se.hosts) {
      std::string host = toLower(host_raw);
      if (host.starts_with("*")) {
        diag(
            fmt::format("{}ServiceEntry {}: wildcard host '{}' is not served (no endpoints to "
                        "route to)",
                        where(se.meta.pos), name, host_raw));
        continue;
      }
      int idx = serviceIndex(host);
      if (idx >= 0) {
        diag(fmt::format("{}ServiceEntry {}: host '{}' is already defined by {}; ignored",
                         where(se.meta.pos), name, host, snap_->services[idx].source));
        continue;
      }
      MeshService svc;
      svc.fqdn = host;
      svc.name = host;
      svc.ns = se.meta.ns;
      svc.origin = MeshService::Origin::kServiceEntry;
      svc.source = "ServiceEntry " + name;
      for (const auto& p : se.ports) svc.ports.push_back(p.number);
      svc.endpoints = serviceEntryEndpoints(se, host, se.ports.empty() ? 0 : se.ports[0].number);
      snap_->services.push_back(std::move(svc));
      idx = static_cast<int>(snap_->services.size() - 1);
      addHostForms(idx, host);
      service_entry_of_[idx] = &se;
    }
  }
}

std::vector<Endpoint> Builder::serviceEntryEndpoints(const config::ServiceEntry& se,
                                                     const std::string& host, uint32_t port) {
  const config::ServicePort* sp = nullptr;
  for (const auto& p : se.ports) {
    if (p.number == port) sp = &p;
  }
  auto endpointPort = [&](const config::WorkloadEndpoint& we) -> uint32_t {
    if (sp != nullptr) {
      auto it = we.ports.find(sp->name);
      if (it != we.ports.end()) return it->second;
      if (sp->target_port) return *sp->target_port;
      return sp->number;
    }
    return port;
  };
  std::vector<Endpoint> out;
  auto addEndpoint = [&](const config::WorkloadEndpoint& we) {
    Endpoint ep;
    ep.ip = we.address;
    ep.port = static_cast<uint16_t>(endpointPort(we));
    ep.labels = we.labels;
    ep.weight = we.weight.value_or(1);
    if (ep.weight == 0) ep.weight = 1;
    out.push_back(std::move(ep));
  };
  for (const auto& we : se.endpoints) addEndpoint(we);
  if (se.workload_selector) {
    for (const auto& wle : in_.config.workload_entries) {
      if (wle.meta.ns == se.meta.ns && labelsSuperset(wle.spec.labels, *se.workload_selector)) {
        addEndpoint(wle.spec);
      }
    }
  }
  if (out.empty() && se.resolution == config::ServiceEntry::Resolution::kDns) {
    // DNS without endpoints: the host name itself is resolved when connecting.
    Endpoint ep;
    ep.ip = host;
    ep.port = static_cast<uint16_t>(sp != nullptr && sp->target_port ? *sp->target_port : port);
    out.push_back(std::move(ep));
  }
  return out;
}

// ServiceEntry single addresses first (they are answered by DNS and reserved in the VIP
// range), then a VIP for every registry service.
void Builder::assignVips() {
  std::vector<net::IpAddress> reserved;
  for (const auto& [idx, se] : service_entry_of_) {
    auto& svc = snap_->services[idx];
    for (const auto& text : se->addresses) {
      auto cidr = net::Cidr::parse(text);
      if (!cidr) continue;
      if (cidr->prefix_len != (cidr->base.v6 ? 128 : 32)) {
        diag(
            fmt::format("{}ServiceEntry {}/{}: address range {} is not enforced (only single "
                        "addresses are answered by DNS and matched as a destination)",
                        where(se->meta.pos), se->meta.ns, se->meta.name, text));
        continue;
      }
      std::string ip = cidr->base.toString();
      auto [it, inserted] = snap_->service_by_vip.emplace(ip, idx);
      if (!inserted && it->second != idx) {
        diag(
            fmt::format("{}ServiceEntry {}/{}: address {} of host '{}' is already the address "
                        "of '{}'; connections to it go to '{}'",
                        where(se->meta.pos), se->meta.ns, se->meta.name, ip, svc.fqdn,
                        snap_->services[it->second].fqdn, snap_->services[it->second].fqdn));
      }
      if (std::find(svc.addresses.begin(), svc.addresses.end(), ip) == svc.addresses.end()) {
        svc.addresses.push_back(ip);
      }
      reserved.push_back(cidr->base);
    }
  }
  if (!in_.vip_range) return;
  if (in_.vip_range->base.v6) {
    diag(fmt::format("VIP range {} is not an IPv4 range; no service gets a VIP",
                     in_.vip_range->toString()));
    return;
  }
  std::vector<std::string> names;
  for (const auto& svc : snap_->services) {
    if (svc.origin == MeshService::Origin::kRegistry) names.push_back(svc.fqdn);
  }
  std::map<std::string, net::IpAddress> previous;
  for (const auto& [fqdn, text] : in_.previous_vips) {
    if (auto ip = net::IpAddress::parse(text)) previous.emplace(fqdn, *ip);
  }
  auto vips = allocateVips(*in_.vip_range, names, previous, reserved);
  for (size_t i = 0; i < snap_->services.size(); ++i) {
    auto& svc = snap_->services[i];
    if (svc.origin != MeshService::Origin::kRegistry) continue;
    auto it = vips.find(svc.fqdn);
    if (it == vips.end()) {
      diag(fmt::format("VIP range {} is full: service '{}' gets no VIP (DNS forwards its name)",
                       in_.vip_range->toString(), svc.fqdn));
      continue;
    }
    svc.vip = it->second.toString();
    snap_->service_by_vip.emplace(svc.vip, static_cast<int>(i));
  }
}

}  // namespace sluice::control::snapshot
