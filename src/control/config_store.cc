#include "control/config_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "config/diagnostic_reporter.h"
#include "config/envoy_filter.h"

namespace sluice::control {

namespace {

// Calls fn(kind, a-list, b-list...) for every resource kind of the ConfigSets, so each rule
// below is written once for all of them.
template <typename Fn, typename... Sets>
void forEachKind(Fn&& fn, Sets&... sets) {
  fn("VirtualService", sets.virtual_services...);
  fn("DestinationRule", sets.destination_rules...);
  fn("Gateway", sets.gateways...);
  fn("ServiceEntry", sets.service_entries...);
  fn("EnvoyFilter", sets.envoy_filters...);
  fn("Sidecar", sets.sidecars...);
  fn("WorkloadEntry", sets.workload_entries...);
}

std::string resourceKey(std::string_view kind, const config::Meta& m) {
  return fmt::format("{}/{}/{}", kind, m.ns, m.name);
}

// A document: the resource kind as decoded and the position of its document.
std::string documentKey(std::string_view kind, const config::Position& pos) {
  return fmt::format("{}@{}", kind, pos.toString());
}

std::string where(const config::Meta& m) { return m.pos.line > 0 ? m.pos.toString() : "?"; }

template <typename T>
const T* findByKey(const std::vector<T>& list, std::string_view kind, const std::string& key) {
  for (const auto& r : list) {
    if (resourceKey(kind, r.meta) == key) return &r;
  }
  return nullptr;
}

bool isBlocking(const config::Diagnostic& d) {
  // Analyzer findings (IST codes) never reject a resource here; references are resolve()'s job.
  return d.severity == config::Severity::kError && !d.code.starts_with("IST");
}

// (key, digest) of every resource: equal signatures mean the same accepted config.
std::vector<std::pair<std::string, uint64_t>> signature(const config::ConfigSet& set,
                                                        bool& unknown) {
  std::vector<std::pair<std::string, uint64_t>> out;
  forEachKind(
      [&](std::string_view kind, const auto& list) {
        for (const auto& r : list) {
          if (r.meta.digest == 0) unknown = true;
          out.emplace_back(resourceKey(kind, r.meta), r.meta.digest);
        }
      },
      set);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ConfigStore::Update ConfigStore::update(const config::ConfigSet& loaded) {
  Update u;
  std::set<std::string> rejected_docs;
  std::set<std::string> broken_files;
  const bool all_broken = !loaded.io_errors.empty();
  for (const auto& e : loaded.io_errors) u.errors.push_back(e);
  for (const auto& d : loaded.diagnostics) {
    if (!isBlocking(d)) continue;
    u.errors.push_back(d.format());
    if (!d.kind.empty() && d.resource_pos.line > 0) {
      rejected_docs.insert(documentKey(d.kind, d.resource_pos));
    } else {
      broken_files.insert(d.pos.file);
    }
  }

  config::ConfigSet next;
  std::set<std::string> taken;
  std::set<std::string> matched_docs;
  // Every resource of the load: accepted, or rejected with its last good version kept.
  forEachKind(
      [&](std::string_view kind, auto& into, const auto& fresh, const auto& previous) {
        for (const auto& r : fresh) {
          const std::string key = resourceKey(kind, r.meta);
          const std::string doc = documentKey(r.meta.kind, r.meta.pos);
          if (rejected_docs.count(doc) == 0) {
            if (taken.insert(key).second) into.push_back(r);
            continue;
          }
          matched_docs.insert(doc);
          const auto* last_good = findByKey(previous, kind, key);
          if (taken.count(key) != 0) {
            u.rejections.push_back(fmt::format("{} at {} rejected (an earlier definition applies)",
                                               key, where(r.meta)));
          } else if (last_good != nullptr) {
            taken.insert(key);
            into.push_back(*last_good);
            u.rejections.push_back(
                fmt::format("{} at {} rejected; its last good version (read from {}) keeps serving",
                            key, where(r.meta), where(last_good->meta)));
          } else {
            u.rejections.push_back(fmt::format(
                "{} at {} rejected; it is new, so nothing of it applies", key, where(r.meta)));
          }
        }
      },
      next, loaded, accepted_);
  // Problems about a document no resource came out of (its envelope is broken): its file is
  // broken like one with a YAML syntax error.
  for (const auto& d : loaded.diagnostics) {
    if (isBlocking(d) && !d.kind.empty() && d.resource_pos.line > 0 &&
        matched_docs.count(documentKey(d.kind, d.resource_pos)) == 0) {
      broken_files.insert(d.resource_pos.file);
    }
  }
  for (const auto& file : broken_files) {
    u.rejections.push_back(fmt::format(
        "{}: a document that cannot be read is rejected; the resources last read from this file "
        "and missing from it now keep serving",
        file));
  }
  // Resources of broken files that the load no longer shows may be the broken document.
  forEachKind(
      [&](std::string_view kind, auto& into, const auto& previous) {
        for (const auto& r : previous) {
          const std::string key = resourceKey(kind, r.meta);
          if (taken.count(key) != 0) continue;
          if (all_broken || broken_files.count(r.meta.pos.file) != 0) {
            taken.insert(key);
            into.push_back(r);
          }
        }
      },
      next, accepted_);

  next.files_read = loaded.files_read;
  config::recogniseEnvoyFilters(next);  // the derived settings of exactly what is accepted
  next.diagnostics.clear();

  bool unknown = false;
  u.changed = signature(accepted_, unknown) != signature(next, unknown) || unknown;
  accepted_ = std::move(next);
  return u;
}

ConfigStore::Resolved ConfigStore::resolve(
    const config::HostKnown& host_known,
    const std::function<bool(const config::VirtualService&)>& in_scope) {
  Resolved out;
  out.config = accepted_;
  out.config.virtual_services.clear();
  std::map<std::string, config::VirtualService> applied;
  held_ = 0;
  for (const auto& vs : accepted_.virtual_services) {
    const std::string key = resourceKey("VirtualService", vs.meta);
    if (in_scope && !in_scope(vs)) {
      out.config.virtual_services.push_back(vs);
      continue;
    }
    std::vector<config::Diagnostic> findings;
    config::checkVirtualServiceReferences(accepted_, vs, findings, host_known);
    auto last = applied_vs_.find(key);
    const bool already_applied = last != applied_vs_.end() && vs.meta.digest != 0 &&
                                 last->second.meta.digest == vs.meta.digest;
    if (already_applied || !config::hasUnresolvedReference(findings)) {
      applied.emplace(key, vs);
      out.config.virtual_services.push_back(vs);
      continue;
    }
    ++held_;
    out.differs = true;
    const std::string outcome =
        last != applied_vs_.end()
            ? fmt::format(
                  "held back: its last good version (read from {}) keeps serving until "
                  "the reference resolves",
                  where(last->second.meta))
            : "held back: not applied until the reference resolves";
    for (const auto& f : findings) {
      if (f.severity == config::Severity::kError && f.code == "IST0101") {
        out.held_back.push_back(fmt::format("{}; {}", config::formatDiagnosticLine(f), outcome));
      }
    }
    if (last != applied_vs_.end()) {
      applied.emplace(key, last->second);
      out.config.virtual_services.push_back(last->second);
    }
  }
  applied_vs_ = std::move(applied);
  return out;
}

}  // namespace sluice::control
