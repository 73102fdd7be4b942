#pragma once
// ConfigStore: per-resource acceptance of loaded config and "last good, per reference".
//
// - update(): each resource (each YAML document) of a fresh load is accepted or rejected on its
//   own. A resource with a blocking error (syntax, schema, field values; not the analyzer's IST
//   findings) is rejected and its last accepted version, if any, stays; every valid resource
//   replaces its previous version; a resource gone from the files is removed. A document that
//   cannot even be attributed to a resource (YAML syntax, no kind) makes its file "broken": the
//   resources last accepted from that file that the load no longer shows are kept, since they may
//   be the broken document (an unreadable path keeps everything).
// - resolve(): a VirtualService whose accepted version references a subset, gateway or host that
//   does not exist (IST0101) is held back: its last applied version keeps serving, or, when it
//   has none, it is left out. It applies by itself on the first resolve() after the reference
//   exists (a DestinationRule written later, a registry learning the host), so apply order does
//   not matter. A VirtualService whose applied version is the accepted one keeps serving even
//   when a reference goes away later (Istio's behaviour: requests get 503 naming the subset).
//
// Resources are identified by kind, namespace and name. Not thread-safe: the MeshController's
// io_context thread owns it.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/references.h"

namespace sluice::control {

class ConfigStore {
 public:
  struct Update {
    bool changed = false;             // the accepted resources differ from before
    std::vector<std::string> errors;  // blocking problems of this load, "file:line:col: ..."
    // One line per rejected resource or document: what keeps serving instead.
    std::vector<std::string> rejections;
  };
  // Takes a fresh load (config::loadPaths) in.
  Update update(const config::ConfigSet& loaded);

  // The latest accepted version of every resource (derived EnvoyFilter settings recomputed, no
  // diagnostics).
  const config::ConfigSet& accepted() const { return accepted_; }

  struct Resolved {
    config::ConfigSet config;            // what to build the snapshot from
    std::vector<std::string> held_back;  // one line per reason a VirtualService is held back
    bool differs = false;                // config is not accepted() as it is
  };
  // `host_known` tells whether a destination host is a service now (registries, ServiceEntries).
  // VirtualServices `in_scope` rejects (outside this sidecar's Sidecar egress hosts: the snapshot
  // leaves them out anyway) are passed through unchecked; null: every one is checked.
  Resolved resolve(const config::HostKnown& host_known,
                   const std::function<bool(const config::VirtualService&)>& in_scope = nullptr);

  // VirtualServices held back by the last resolve().
  size_t heldBack() const { return held_; }

 private:
  config::ConfigSet accepted_;
  // VirtualService key -> the version serving (accepted earlier, references resolved then).
  std::map<std::string, config::VirtualService> applied_vs_;
  size_t held_ = 0;
};

}  // namespace sluice::control
