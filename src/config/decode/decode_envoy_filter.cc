// EnvoyFilter: the envelope and the patches, kept as JSON. What a patch means (reverse DNS, the
// Nacos-subscribe Lua filter) is decided later by the recognisers in config/envoy_filter.h.

#include "config/decode/decoder.h"

namespace sluice::config::decode {

namespace {

constexpr Field<EnvoyFilterPatch> kPatchFields[] = {
    {"applyTo", [](Decoder& d, const At& v, EnvoyFilterPatch& p) { p.apply_to = d.strOr(v); }},
    {"match", [](Decoder& d, const At& v, EnvoyFilterPatch& p) { p.match = d.json(v.node); }},
    {"patch", [](Decoder& d, const At& v, EnvoyFilterPatch& p) { p.patch = d.json(v.node); }},
};

constexpr Field<EnvoyFilter> kSelectorFields[] = {
    {"labels",
     [](Decoder& d, const At& v, EnvoyFilter& ef) { ef.workload_selector = d.stringMap(v); }},
};

constexpr Field<EnvoyFilter> kEnvoyFilterFields[] = {
    {"workloadSelector",
     [](Decoder& d, const At& v, EnvoyFilter& ef) { d.object(v, kSelectorFields, ef); }},
    {"targetRefs", [](Decoder& d, const At& v, EnvoyFilter&) { d.list(v, [](const At&) {}); }},
    {"configPatches",
     [](Decoder& d, const At& v, EnvoyFilter& ef) {
       d.list(v, [&](const At& item) {
         EnvoyFilterPatch p;
         p.pos = d.pos(item.node);
         d.object(item, kPatchFields, p);
         ef.config_patches.push_back(std::move(p));
       });
     }},
    {"priority",
     [](Decoder& d, const At& v, EnvoyFilter& ef) { ef.priority = d.i32(v).value_or(0); }},
};

}  // namespace

void decodeEnvoyFilter(Decoder& d, const YAML::Node& spec) {
  EnvoyFilter ef;
  ef.meta = d.meta();
  d.object(At{spec, "spec"}, kEnvoyFilterFields, ef);
  ef.spec = d.json(spec);
  d.out().envoy_filters.push_back(std::move(ef));
}

}  // namespace sluice::config::decode
