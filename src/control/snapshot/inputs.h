#pragma once
// What a MeshSnapshot is built from: the accepted Istio config, the services of every registry and
// this proxy's own identity. Assembled by MeshController on the main thread; read-only while
// buildSnapshot() runs.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "net/address.h"
#include "registry/registry.h"

namespace sluice::control {

// A registry instance that left recently. Applications cache instance lists (Spring's load
// balancer cache, a Nacos client's poll interval), so for a while they still dial the old
// address; reverse DNS keeps mapping it to its service so the VirtualService sends the request to
// a live endpoint instead of a dead one.
struct RetiredInstance {
  std::string service;  // registry service name
  std::string ip;
  uint16_t port = 0;
};

struct SnapshotInputs {
  config::ConfigSet config;
  std::vector<registry::Service> registry_services;
  std::vector<RetiredInstance> retired_instances;  // never override a current instance
  uint64_t version = 0;
  std::string default_namespace = "default";
  std::string domain_suffix = "svc.cluster.local";
  // This proxy's own workload (the pod's labels and namespace): what `sourceLabels` and
  // `sourceNamespace` in VirtualService matches select on. Namespace "" = default_namespace.
  std::map<std::string, std::string> workload_labels;
  std::string workload_namespace;
  std::vector<std::string> registry_status;  // one line per registry source, for /clusters
  // VirtualServices held back (control/config_store.h), for /config_dump.
  std::vector<std::string> held_back;
  // Virtual IPs (the DNS proxy's answers for registry services): an IPv4 range; unset = no VIPs.
  std::optional<net::Cidr> vip_range;
  // FQDN -> VIP of the previous snapshot (MeshSnapshot::vipAssignments()), so a service keeps its
  // VIP when others appear or leave (applications cache DNS answers). Empty on the first build.
  std::map<std::string, std::string> previous_vips;
  // A gateway's snapshot (Sidecar resources do not apply to gateways).
  bool gateway = false;
  // Istio's mesh root namespace: its Sidecar without a selector is the default of every
  // namespace that has none.
  std::string root_namespace = "istio-system";
  // Services loaded on first use (--load-services=on-demand) when no Sidecar selects this
  // sidecar: the hosts (FQDNs, lower-cased) it was asked for and found so far, which then act as
  // the egress hosts of an implicit Sidecar (sidecar_scope.h). nullopt: the whole mesh.
  std::optional<std::set<std::string>> on_demand_hosts;

  // The namespace exportTo and sourceNamespace are decided for.
  const std::string& proxyNamespace() const {
    return workload_namespace.empty() ? default_namespace : workload_namespace;
  }
};

}  // namespace sluice::control
