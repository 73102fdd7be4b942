// The Kubernetes envelope of every resource: apiVersion, kind, metadata, `kind: List`, and the
// table of kinds Sluice decodes.

#include <set>

#include "config/decode/decoder.h"
#include "config/names.h"
#include "core/strings.h"

namespace sluice::config::decode {

namespace {

struct Kind {
  std::string_view name;
  void (*decode)(Decoder&, const YAML::Node& spec);
  // Kinds decoded field by field check "parsed but not enforced" per field; the others (whose
  // spec is mostly kept as written) are checked as a whole here.
  bool unenforced_per_field;
};

constexpr Kind kKinds[] = {
    {"VirtualService", decodeVirtualService, true},
    {"DestinationRule", decodeDestinationRule, true},
    {"Gateway", decodeGateway, true},
    {"ServiceEntry", decodeServiceEntry, true},
    {"EnvoyFilter", decodeEnvoyFilter, false},
    {"Sidecar", decodeSidecar, false},
    {"WorkloadEntry", decodeWorkloadEntry, false},
};

const Kind* findKind(std::string_view name) {
  for (const auto& k : kKinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

constexpr Field<Meta> kMetaFields[] = {
    {"name",
     [](Decoder& d, const At& v, Meta& m) {
       m.name = d.strOr(v);
       if (!m.name.empty() && !isDns1123Subdomain(m.name)) {
         d.error(v, fmt::format("invalid name \"{}\": must be a lower-case DNS-1123 subdomain",
                                m.name));
       }
     }},
    {"namespace",
     [](Decoder& d, const At& v, Meta& m) {
       auto ns = d.strOr(v);
       if (ns.empty()) return;
       if (!isDns1123Label(ns) || toLower(ns) != ns) {
         d.error(v,
                 fmt::format("invalid namespace \"{}\": must be a lower-case DNS-1123 label", ns));
       }
       m.ns = ns;
     }},
    {"labels", [](Decoder& d, const At& v, Meta& m) { m.labels = d.stringMap(v); }},
    {"annotations", [](Decoder& d, const At& v, Meta& m) { m.annotations = d.stringMap(v); }},
    // Kubernetes bookkeeping: accepted as written.
    {"uid", ignoreAny<Meta>},
    {"resourceVersion", ignoreAny<Meta>},
    {"generation", ignoreAny<Meta>},
    {"creationTimestamp", ignoreAny<Meta>},
    {"deletionTimestamp", ignoreAny<Meta>},
    {"managedFields", ignoreAny<Meta>},
    {"generateName", ignoreAny<Meta>},
    {"finalizers", ignoreAny<Meta>},
    {"ownerReferences", ignoreAny<Meta>},
    {"selfLink", ignoreAny<Meta>},
    {"deletionGracePeriodSeconds", ignoreAny<Meta>},
};

}  // namespace

void Decoder::decodeMeta(const YAML::Node& n) { object(At{n, "metadata"}, kMetaFields, meta_); }

void Decoder::decodeDocument(const YAML::Node& doc, int list_depth) {
  meta_ = Meta{};
  meta_.pos = pos(doc);
  meta_.digest = digest_;
  if (!doc.IsDefined() || doc.IsNull()) return;  // empty document
  if (!doc.IsMap()) {
    error(doc, "",
          fmt::format("expected a Kubernetes resource (an object with apiVersion and kind), got {}",
                      nodeTypeName(doc)));
    return;
  }
  std::string api_version;
  std::string kind;
  if (get(doc, "apiVersion").IsScalar()) api_version = get(doc, "apiVersion").Scalar();
  if (get(doc, "kind").IsScalar()) kind = get(doc, "kind").Scalar();
  if (kind.empty()) {
    error(doc, "kind", "kind is required");
    return;
  }
  if (api_version.empty()) {
    // Name the resource as far as it can be read, so the error says which one is rejected.
    meta_.kind = kind;
    const YAML::Node md = get(doc, "metadata");
    if (get(md, "name").IsScalar()) meta_.name = get(md, "name").Scalar();
    if (get(md, "namespace").IsScalar()) meta_.ns = get(md, "namespace").Scalar();
    error(doc, "apiVersion", "apiVersion is required");
    return;
  }
  if (kind == "List" && api_version == "v1") {
    if (list_depth > 0) {
      error(doc, "items", "nested List is not supported");
      return;
    }
    uint64_t item_index = 0;
    list(At{get(doc, "items"), "items"}, [&](const At& item) {
      // Items share this document's budgets, so a List cannot multiply them.
      Decoder inner(out_, file_, line_offset_,
                    digest_ == 0 ? 0 : digest_ ^ (++item_index * 0x9E3779B97F4A7C15ull));
      inner.budget_ = budget_;
      inner.reported_ = reported_;
      inner.decodeDocument(item.node, list_depth + 1);
      budget_ = inner.budget_;
      reported_ = inner.reported_;
    });
    return;
  }
  meta_.api_version = api_version;
  meta_.kind = kind;
  static const std::set<std::string> kVersions = {
      "networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"};
  const Kind* decoder = findKind(kind);
  if (!kVersions.count(api_version) || decoder == nullptr) {
    const YAML::Node md = get(doc, "metadata");
    if (get(md, "name").IsScalar()) meta_.name = get(md, "name").Scalar();
    if (get(md, "namespace").IsScalar()) meta_.ns = get(md, "namespace").Scalar();
    warn(doc, "",
         fmt::format("unsupported apiVersion/kind \"{}\" \"{}\": skipped (Sluice reads "
                     "networking.istio.io v1alpha3/v1beta1/v1 VirtualService, "
                     "DestinationRule, Gateway, ServiceEntry, EnvoyFilter, Sidecar, "
                     "WorkloadEntry)",
                     api_version, kind));
    return;
  }
  const YAML::Node metadata = get(doc, "metadata");
  if (!metadata.IsDefined() || metadata.IsNull()) {
    error(doc, "metadata", "metadata is required");
  } else {
    decodeMeta(metadata);
  }
  if (meta_.name.empty() && metadata.IsMap()) {
    error(metadata, "metadata.name", "metadata.name is required");
  }
  // Unknown top-level fields.
  YAML::Node spec;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string key = it->first.Scalar();
    if (key == "spec") {
      spec = it->second;
    } else if (key != "apiVersion" && key != "kind" && key != "metadata" && key != "status") {
      error(it->first, key, fmt::format("unknown field \"{}\"", key));
    }
  }
  if (!spec.IsDefined() || spec.IsNull()) {
    error(doc, "spec", "spec is required");
    spec = YAML::Node(YAML::NodeType::Map);
  }
  if (!decoder->unenforced_per_field) checkUnenforced(spec, spec, "spec");
  decoder->decode(*this, spec);
}

}  // namespace sluice::config::decode
