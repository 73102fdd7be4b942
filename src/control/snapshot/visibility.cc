#include "control/snapshot/visibility.h"

namespace sluice::control::snapshot {

namespace {

template <typename T>
bool anyInvisible(const std::vector<T>& objects, const std::string& proxy_ns) {
  for (const auto& o : objects) {
    if (!visibleTo(o.export_to, o.meta.ns, proxy_ns)) return true;
  }
  return false;
}

template <typename T>
void dropInvisible(std::vector<T>& objects, const std::string& proxy_ns) {
  std::erase_if(objects, [&](const T& o) { return !visibleTo(o.export_to, o.meta.ns, proxy_ns); });
}

}  // namespace

bool visibleTo(const std::vector<std::string>& export_to, const std::string& object_ns,
               const std::string& proxy_ns) {
  if (export_to.empty()) return true;
  for (const auto& e : export_to) {
    if (e == "*" || e == proxy_ns || (e == "." && object_ns == proxy_ns)) return true;
  }
  return false;
}

std::optional<SnapshotInputs> withoutInvisible(const SnapshotInputs& inputs) {
  const std::string& ns = inputs.proxyNamespace();
  const auto& c = inputs.config;
  if (!anyInvisible(c.virtual_services, ns) && !anyInvisible(c.destination_rules, ns) &&
      !anyInvisible(c.service_entries, ns)) {
    return std::nullopt;
  }
  SnapshotInputs visible = inputs;
  dropInvisible(visible.config.virtual_services, ns);
  dropInvisible(visible.config.destination_rules, ns);
  dropInvisible(visible.config.service_entries, ns);
  return visible;
}

}  // namespace sluice::control::snapshot
