// ServiceEntry and WorkloadEntry (which share the workload endpoint shape).

#include "config/decode/decoder.h"
#include "config/names.h"

namespace sluice::config::decode {

namespace {

constexpr Field<WorkloadEndpoint> kWorkloadEndpointFields[] = {
    {"address", [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.address = d.strOr(v); }},
    {"ports",
     [](Decoder& d, const At& v, WorkloadEndpoint& e) {
       if (v.node.IsNull()) return;
       if (!v.node.IsMap()) {
         d.error(v, fmt::format("expected an object of port numbers, got {}",
                                Decoder::nodeTypeName(v.node)));
         return;
       }
       for (auto it = v.node.begin(); it != v.node.end(); ++it) {
         if (!it->first.IsScalar()) continue;
         const std::string& name = it->first.Scalar();
         auto x = d.port(At{it->second, Decoder::child(v.path, name)});
         if (x) e.ports[name] = *x;
       }
     }},
    {"labels", [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.labels = d.stringMap(v); }},
    {"network", [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.network = d.strOr(v); }},
    {"locality", [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.locality = d.strOr(v); }},
    {"weight", [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.weight = d.u32(v); }},
    {"serviceAccount",
     [](Decoder& d, const At& v, WorkloadEndpoint& e) { e.service_account = d.strOr(v); }},
};

constexpr Field<ServicePort> kServicePortFields[] = {
    {"number", [](Decoder& d, const At& v, ServicePort& p) { p.number = d.port(v).value_or(0); },
     "port number is required", RequiredAt::kField},
    {"protocol",
     [](Decoder& d, const At& v, ServicePort& p) {
       p.protocol = d.strOr(v);
       for (auto& c : p.protocol) c = static_cast<char>(std::toupper(c));
     }},
    {"name", [](Decoder& d, const At& v, ServicePort& p) { p.name = d.strOr(v); }},
    {"targetPort", [](Decoder& d, const At& v, ServicePort& p) { p.target_port = d.port(v); }},
};

constexpr Field<std::optional<StringMap>> kSelectorFields[] = {
    {"labels",
     [](Decoder& d, const At& v, std::optional<StringMap>& labels) { labels = d.stringMap(v); }},
};

constexpr Field<ServiceEntry> kServiceEntryFields[] = {
    {"hosts",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       d.list(v, [&](const At& item) {
         auto s = d.str(item);
         if (!s) return;
         if (*s == "*") {
           d.error(item, "invalid host *");
         } else if (auto problem = checkHost(*s)) {
           d.error(item, *problem);
         }
         se.hosts.push_back(*s);
       });
     }},
    {"addresses",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       d.list(v, [&](const At& item) {
         auto s = d.str(item);
         if (!s) return;
         if (!net::Cidr::parse(*s)) {
           d.error(item, fmt::format("invalid address {} (expected an IP or CIDR)", *s));
           return;
         }
         se.addresses.push_back(*s);
       });
     }},
    {"ports",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       d.list(v, [&](const At& item) {
         ServicePort p;
         p.pos = d.pos(item.node);
         d.object(item, kServicePortFields, p);
         se.ports.push_back(std::move(p));
       });
     }},
    {"location",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       auto s = d.strOr(v);
       if (s == "MESH_INTERNAL") {
         se.location = ServiceEntry::Location::kMeshInternal;
       } else if (s == "MESH_EXTERNAL" || s.empty()) {
         se.location = ServiceEntry::Location::kMeshExternal;
       } else {
         d.error(v, fmt::format("invalid location \"{}\" (MESH_EXTERNAL, MESH_INTERNAL)", s));
       }
     }},
    {"resolution",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       auto s = d.strOr(v);
       if (s == "NONE" || s.empty()) {
         se.resolution = ServiceEntry::Resolution::kNone;
       } else if (s == "STATIC") {
         se.resolution = ServiceEntry::Resolution::kStatic;
       } else if (s == "DNS") {
         se.resolution = ServiceEntry::Resolution::kDns;
       } else if (s == "DNS_ROUND_ROBIN") {
         se.resolution = ServiceEntry::Resolution::kDnsRoundRobin;
       } else {
         d.error(v,
                 fmt::format("invalid resolution \"{}\" (NONE, STATIC, DNS, DNS_ROUND_ROBIN)", s));
       }
     }},
    {"endpoints",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       d.list(v, [&](const At& item) { se.endpoints.push_back(workloadEndpoint(d, item)); });
     }},
    {"workloadSelector",
     [](Decoder& d, const At& v, ServiceEntry& se) {
       d.object(v, kSelectorFields, se.workload_selector);
     }},
    {"exportTo", [](Decoder& d, const At& v, ServiceEntry& se) { se.export_to = d.stringList(v); }},
    {"subjectAltNames",
     [](Decoder& d, const At& v, ServiceEntry& se) { se.subject_alt_names = d.stringList(v); }},
};

}  // namespace

WorkloadEndpoint workloadEndpoint(Decoder& d, const At& n) {
  WorkloadEndpoint e;
  e.pos = d.pos(n.node);
  d.object(n, kWorkloadEndpointFields, e);
  return e;
}

void decodeServiceEntry(Decoder& d, const YAML::Node& spec) {
  ServiceEntry se;
  se.meta = d.meta();
  d.object(At{spec, "spec"}, kServiceEntryFields, se);
  d.out().service_entries.push_back(std::move(se));
}

void decodeWorkloadEntry(Decoder& d, const YAML::Node& spec) {
  WorkloadEntry we;
  we.meta = d.meta();
  we.spec = workloadEndpoint(d, At{spec, "spec"});
  if (we.spec.address.empty()) d.error(spec, "spec.address", "address is required");
  d.out().workload_entries.push_back(std::move(we));
}

}  // namespace sluice::config::decode
