// Sidecar: workload selector, egress listeners and the outbound traffic policy mode; the whole
// spec is also kept as JSON.

#include <fmt/format.h>

#include "config/decode/decoder.h"
#include "config/names.h"

namespace sluice::config::decode {

namespace {

constexpr Field<Sidecar::Egress> kEgressPortFields[] = {
    {"number", [](Decoder& d, const At& v, Sidecar::Egress& e) { e.port = d.port(v); }},
    {"protocol", ignoreString<Sidecar::Egress>},
    {"name", ignoreString<Sidecar::Egress>},
    {"targetPort", ignoreString<Sidecar::Egress>},
};

constexpr Field<Sidecar::Egress> kEgressFields[] = {
    {"port",
     [](Decoder& d, const At& v, Sidecar::Egress& e) { d.object(v, kEgressPortFields, e); }},
    {"bind", ignoreString<Sidecar::Egress>},
    {"captureMode", ignoreString<Sidecar::Egress>},
    {"hosts",
     [](Decoder& d, const At& v, Sidecar::Egress& e) {
       e.hosts = d.stringList(v);
       // Istio's validation: every host is namespace/dnsName, the namespace `*`, `.`, `~` or a
       // namespace name.
       for (const auto& h : e.hosts) {
         auto slash = h.find('/');
         if (slash == std::string::npos) {
           d.error(v, fmt::format("host '{}' must be of form namespace/dnsName", h));
           continue;
         }
         std::string ns = h.substr(0, slash);
         if (ns != "*" && ns != "." && ns != "~" && !isDns1123Label(ns)) {
           d.error(v, fmt::format("invalid namespace value \"{}\" in sidecar", ns));
         }
         if (slash + 1 == h.size()) {
           d.error(v, fmt::format("host '{}' has no dnsName after the '/'", h));
         }
       }
     }},
};

constexpr Field<Sidecar> kOutboundTrafficPolicyFields[] = {
    {"mode",
     [](Decoder& d, const At& v, Sidecar& sc) { sc.outbound_traffic_policy_mode = d.strOr(v); }},
    {"egressProxy", ignoreAny<Sidecar>},
};

constexpr Field<Sidecar> kSelectorFields[] = {
    {"labels", [](Decoder& d, const At& v, Sidecar& sc) { sc.workload_selector = d.stringMap(v); }},
};

constexpr Field<Sidecar> kSidecarFields[] = {
    {"workloadSelector",
     [](Decoder& d, const At& v, Sidecar& sc) { d.object(v, kSelectorFields, sc); }},
    // Kept in Sidecar::spec only.
    {"ingress", ignoreAny<Sidecar>},
    {"egress",
     [](Decoder& d, const At& v, Sidecar& sc) {
       d.list(v, [&](const At& item) {
         Sidecar::Egress e;
         e.pos = d.pos(item.node);
         d.object(item, kEgressFields, e);
         if (e.hosts.empty()) {
           d.error(item, "sidecar: egress listener must contain at least one host");
         }
         sc.egress.push_back(std::move(e));
       });
     }},
    {"outboundTrafficPolicy",
     [](Decoder& d, const At& v, Sidecar& sc) { d.object(v, kOutboundTrafficPolicyFields, sc); }},
    {"inboundConnectionPool", ignoreAny<Sidecar>},
};

}  // namespace

void decodeSidecar(Decoder& d, const YAML::Node& spec) {
  Sidecar sc;
  sc.meta = d.meta();
  d.object(At{spec, "spec"}, kSidecarFields, sc);
  sc.spec = d.json(spec);
  d.out().sidecars.push_back(std::move(sc));
}

}  // namespace sluice::config::decode
