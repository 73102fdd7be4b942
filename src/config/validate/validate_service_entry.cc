// ServiceEntry (ports, addresses, resolution and endpoints) and WorkloadEntry.

#include <set>

#include "config/names.h"
#include "config/validate/rules.h"

namespace sluice::config::validation {

namespace {

bool isValidSeProtocol(const std::string& p) {
  static const std::set<std::string> kProtocols = {
      "HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "REDIS", "MYSQL", "TCP", "TLS", "UDP"};
  return kProtocols.count(p) > 0;
}

}  // namespace

void validateServiceEntry(ConfigSet& set, const ServiceEntry& se) {
  DiagnosticReporter r(set.diagnostics, se.meta);
  using Res = ServiceEntry::Resolution;
  if (se.hosts.empty()) r.error({}, "spec.hosts", "service entry must have at least one host");
  if (se.workload_selector && !se.endpoints.empty()) {
    r.error({}, "spec.endpoints",
            "only one of WorkloadSelector or Endpoints is allowed in Service Entry");
  }
  std::set<std::string> names;
  std::set<uint32_t> numbers;
  for (size_t i = 0; i < se.ports.size(); ++i) {
    const auto& p = se.ports[i];
    const std::string path = fmt::format("spec.ports[{}]", i);
    if (!isDns1123Label(p.name)) {
      r.error(p.pos, path + ".name", fmt::format("invalid port name: {}", p.name));
    } else if (!names.insert(p.name).second) {
      r.error(p.pos, path + ".name",
              fmt::format("service entry port name \"{}\" already defined", p.name));
    }
    if (p.number != 0 && !numbers.insert(p.number).second) {
      r.error(p.pos, path + ".number",
              fmt::format("service entry port {} already defined", p.number));
    }
    if (!p.protocol.empty() && !isValidSeProtocol(p.protocol)) {
      r.error(p.pos, path + ".protocol", fmt::format("unsupported protocol: {}", p.protocol));
    }
  }
  for (size_t i = 0; i < se.addresses.size(); ++i) {
    const auto& a = se.addresses[i];
    if (a.find('/') != std::string::npos && se.resolution != Res::kNone &&
        se.resolution != Res::kStatic) {
      r.error({}, fmt::format("spec.addresses[{}]", i),
              "CIDR addresses are allowed only for NONE/STATIC resolution types");
    }
  }
  const char* mode = se.resolution == Res::kDns ? "DNS" : "DNS_ROUND_ROBIN";
  switch (se.resolution) {
    case Res::kNone:
      if (!se.endpoints.empty()) {
        r.error({}, "spec.endpoints", "no endpoints should be provided for resolution type none");
      }
      break;
    case Res::kStatic:
      for (size_t i = 0; i < se.endpoints.size(); ++i) {
        const auto& e = se.endpoints[i];
        if (e.address.empty()) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i), "address is required");
        } else if (!e.address.starts_with("unix://") && !isIpAddress(e.address)) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i),
                  fmt::format("endpoint address \"{}\" is not a valid IP address", e.address));
        }
      }
      break;
    case Res::kDns:
    case Res::kDnsRoundRobin:
      if (se.endpoints.empty()) {
        for (size_t i = 0; i < se.hosts.size(); ++i) {
          if (se.hosts[i].find('*') != std::string::npos) {
            r.error({}, fmt::format("spec.hosts[{}]", i),
                    fmt::format("hosts must be FQDN if no endpoints are provided for resolution "
                                "mode {}",
                                mode));
          }
        }
      }
      if (se.resolution == Res::kDnsRoundRobin && se.endpoints.size() > 1) {
        r.error({}, "spec.endpoints",
                fmt::format("there must only be 0 or 1 endpoint for resolution mode {}", mode));
      }
      for (size_t i = 0; i < se.endpoints.size(); ++i) {
        const auto& e = se.endpoints[i];
        if (e.address.empty()) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i), "address is required");
        } else if (!isIpAddress(e.address) && checkHost(e.address, false)) {
          r.error(e.pos, fmt::format("spec.endpoints[{}].address", i),
                  fmt::format("endpoint address \"{}\" is not a valid IP address or host name",
                              e.address));
        }
      }
      break;
  }
  for (size_t i = 0; i < se.endpoints.size(); ++i) {
    const auto& e = se.endpoints[i];
    for (auto& [name, number] : e.ports) {
      if (!names.count(name)) {
        r.error(e.pos, fmt::format("spec.endpoints[{}].ports.{}", i, name),
                fmt::format("endpoint port {} is not defined by the service entry", name));
      }
    }
    checkLabels(r, e.labels, e.pos, fmt::format("spec.endpoints[{}].labels", i));
  }
  checkExportTo(r, se.export_to, true);
}

void validateWorkloadEntry(ConfigSet& set, const WorkloadEntry& we) {
  DiagnosticReporter r(set.diagnostics, we.meta);
  const auto& a = we.spec.address;
  if (!a.empty() && !a.starts_with("unix://") && !isIpAddress(a) && checkHost(a, false)) {
    r.error(we.spec.pos, "spec.address",
            fmt::format("endpoint address \"{}\" is not a valid IP address", a));
  }
  checkLabels(r, we.spec.labels, we.spec.pos, "spec.labels");
}

}  // namespace sluice::config::validation
