#include "config/references.h"

#include <fmt/format.h>

#include <string>

#include "config/diagnostic_reporter.h"
#include "config/names.h"
#include "core/strings.h"

namespace sluice::config {

namespace {

constexpr std::string_view kUnresolved = "IST0101";

// Gateway reference as written in a VirtualService -> "namespace/name".
std::string gatewayKey(const std::string& ref, const std::string& vs_ns) {
  auto slash = ref.find('/');
  if (slash != std::string::npos) {
    auto ns = ref.substr(0, slash);
    return (ns == "." ? vs_ns : ns) + "/" + ref.substr(slash + 1);
  }
  auto dot = ref.find('.');
  if (dot != std::string::npos) {
    // Legacy "name.namespace.svc.cluster.local".
    auto parts = split(ref, '.');
    return std::string(parts[1]) + "/" + std::string(parts[0]);
  }
  return vs_ns + "/" + ref;
}

bool subsetDefined(const ConfigSet& set, const Destination& d) {
  for (const auto& dr : set.destination_rules) {
    const bool host_match =
        dr.host_fqdn == d.host_fqdn ||
        (dr.host_fqdn.starts_with("*") &&
         (dr.host_fqdn == "*" || d.host_fqdn.ends_with(std::string_view(dr.host_fqdn).substr(1))));
    if (!host_match) continue;
    for (const auto& s : dr.subsets) {
      if (s.name == d.subset) return true;
    }
  }
  return false;
}

const Gateway* findGateway(const ConfigSet& set, const std::string& key) {
  for (const auto& gw : set.gateways) {
    if (gw.meta.ns + "/" + gw.meta.name == key) return &gw;
  }
  return nullptr;
}

// Does a server host entry ([ns/]dnsName) of gateway `gw` admit `host` of a VirtualService in
// namespace `vs_ns`?
bool serverAdmits(const Gateway& gw, std::string_view entry, const std::string& host,
                  const std::string& vs_ns) {
  std::string_view dns = entry;
  auto slash = entry.find('/');
  if (slash != std::string_view::npos) {
    auto ns = entry.substr(0, slash);
    dns = entry.substr(slash + 1);
    if (ns == "." && vs_ns != gw.meta.ns) return false;
    if (ns != "*" && ns != "." && ns != vs_ns) return false;
  }
  return hostsOverlap(dns, host);
}

}  // namespace

void checkVirtualServiceReferences(const ConfigSet& set, const VirtualService& vs,
                                   std::vector<Diagnostic>& out, const HostKnown& host_known) {
  DiagnosticReporter r(out, vs.meta);
  auto checkDestination = [&](const Destination& d, const std::string& path) {
    if (d.host.empty()) return;
    if (host_known && !host_known(d)) {
      r.error(d.pos, path + ".host",
              fmt::format("Referenced host not found: \"{}\" (no registry service or "
                          "ServiceEntry has it)",
                          d.host),
              std::string(kUnresolved));
      return;
    }
    if (!d.subset.empty() && !subsetDefined(set, d)) {
      r.error(d.subset_pos.line > 0 ? d.subset_pos : d.pos, path + ".subset",
              fmt::format("Referenced host+subset in destinationrule not found: \"{}+{}\"", d.host,
                          d.subset),
              std::string(kUnresolved));
    }
  };
  auto checkGateway = [&](const std::string& ref, const std::string& path) {
    if (ref == "mesh" || ref.empty()) return;
    const std::string key = gatewayKey(ref, vs.meta.ns);
    const Gateway* gw = findGateway(set, key);
    if (gw == nullptr) {
      r.error({}, path, fmt::format("Referenced gateway not found: \"{}\"", ref),
              std::string(kUnresolved));
      return;
    }
    for (size_t h = 0; h < vs.hosts.size(); ++h) {
      bool found = false;
      for (const auto& server : gw->servers) {
        for (const auto& entry : server.hosts) {
          if (serverAdmits(*gw, entry, vs.hosts[h], vs.meta.ns)) found = true;
        }
      }
      if (!found) {
        r.warn({}, fmt::format("spec.hosts[{}]", h),
               fmt::format("one or more host [{}] defined in VirtualService {}/{} not found in "
                           "Gateway {}",
                           vs.hosts[h], vs.meta.ns, vs.meta.name, key),
               "IST0132");
      }
    }
  };
  for (size_t i = 0; i < vs.gateways.size(); ++i) {
    checkGateway(vs.gateways[i], fmt::format("spec.gateways[{}]", i));
  }
  for (size_t i = 0; i < vs.http.size(); ++i) {
    const auto& h = vs.http[i];
    for (size_t k = 0; k < h.route.size(); ++k) {
      checkDestination(h.route[k].destination,
                       fmt::format("spec.http[{}].route[{}].destination", i, k));
    }
    if (h.mirror) checkDestination(*h.mirror, fmt::format("spec.http[{}].mirror", i));
    for (size_t k = 0; k < h.mirrors.size(); ++k) {
      checkDestination(h.mirrors[k].destination,
                       fmt::format("spec.http[{}].mirrors[{}].destination", i, k));
    }
    for (size_t k = 0; k < h.match.size(); ++k) {
      for (size_t g = 0; g < h.match[k].gateways.size(); ++g) {
        checkGateway(h.match[k].gateways[g],
                     fmt::format("spec.http[{}].match[{}].gateways[{}]", i, k, g));
      }
    }
  }
  for (size_t i = 0; i < vs.tcp.size(); ++i) {
    for (size_t k = 0; k < vs.tcp[i].route.size(); ++k) {
      checkDestination(vs.tcp[i].route[k].destination,
                       fmt::format("spec.tcp[{}].route[{}].destination", i, k));
    }
  }
  for (size_t i = 0; i < vs.tls.size(); ++i) {
    for (size_t k = 0; k < vs.tls[i].route.size(); ++k) {
      checkDestination(vs.tls[i].route[k].destination,
                       fmt::format("spec.tls[{}].route[{}].destination", i, k));
    }
  }
}

bool hasUnresolvedReference(const std::vector<Diagnostic>& findings) {
  for (const auto& d : findings) {
    if (d.severity == Severity::kError && d.code == kUnresolved) return true;
  }
  return false;
}

}  // namespace sluice::config
