#pragma once
// Internal to src/control/snapshot: the state one buildSnapshot() call shares between the files
// that each assemble one part of the snapshot. Every step appends to `snap` and reports problems
// through diag(); the order of the steps is build_snapshot.cc's.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "control/snapshot/inputs.h"
#include "proxy/snapshot.h"

namespace sluice::control::snapshot {

// "file:line: " of a resource, or "" when it did not come from a file.
std::string where(const config::Position& pos);
std::string vsName(const config::VirtualService& vs);
std::chrono::milliseconds toMs(const config::Duration& d);
// Does host pattern `pattern` (maybe "*" or "*.x.com") cover `host` (maybe itself a wildcard)?
bool hostCovers(std::string_view pattern, std::string_view host);
// Istio's symmetric host overlap.
bool hostsOverlap(std::string_view a, std::string_view b);
bool labelsSuperset(const std::map<std::string, std::string>& have,
                    const std::map<std::string, std::string>& want);
// Which sidecar/gateway contexts a VirtualService applies to: "mesh" and/or "ns/name".
std::vector<std::string> normalizeGateways(const std::vector<std::string>& gateways,
                                           const std::string& vs_ns);
bool contains(const std::vector<std::string>& v, std::string_view s);

class Builder {
 public:
  explicit Builder(const SnapshotInputs& in);
  std::shared_ptr<const proxy::MeshSnapshot> build();

 private:
  void diag(std::string message) { snap_->diagnostics.push_back(std::move(message)); }

  // services_and_vips.cc
  void addRegistryServices();
  void addServiceEntries();
  void assignVips();
  void addHostForms(int idx, const std::string& fqdn);
  std::string clusterDomain() const;
  std::string registryFqdn(const std::string& name) const;
  int serviceIndex(const std::string& host) const;
  std::vector<proxy::Endpoint> serviceEntryEndpoints(const config::ServiceEntry& se,
                                                     const std::string& host, uint32_t port);

  // clusters.cc
  struct MergedRule {
    std::string name;
    const config::TrafficPolicy* policy = nullptr;
    std::map<std::string, const config::Subset*> subsets;
  };
  void indexDestinationRules();
  const MergedRule* ruleFor(const std::string& fqdn) const;
  // Finds or creates the cluster for (host, subset, port); -1 with `missing` set when the host
  // or subset is unknown.
  int clusterFor(const std::string& host_in, const std::string& subset, uint32_t port,
                 std::string& missing);

  // http_routes.cc
  void buildMeshRoutes();
  std::vector<proxy::Route> compileRoutes(const config::VirtualService& vs,
                                          const std::string& context);
  std::optional<proxy::Route> compileRoute(const config::VirtualService& vs, size_t index,
                                           const config::HTTPRoute& hr, const std::string& context);
  proxy::WeightedCluster compileDestination(const config::Destination& d, const std::string& ctx,
                                            const config::Position& pos);
  proxy::Route defaultRoute(int service_index);
  // Every host form that reaches `host`'s service (sorted), or just `host` when no service has
  // it. Call once the services and service_by_host are final.
  std::vector<std::string> domainsFor(const std::string& host);
  // A match's sourceLabels / sourceNamespace select the client workload: this proxy's own.
  bool fromThisWorkload(const std::map<std::string, std::string>& source_labels,
                        const std::string& source_namespace) const;

  // gateways.cc
  void buildGatewayListeners();

  // tcp_routes.cc
  void buildTcpRoutes();

  // interception.cc
  void buildReverseDns();
  void buildInterceptionRules();
  bool insidePodCidrs(const std::string& text) const;

  // unenforced.cc
  void noteUnenforced();

  const SnapshotInputs& in_;
  std::shared_ptr<proxy::MeshSnapshot> snap_;
  std::map<std::string, MergedRule> dr_by_host_;
  std::map<int, const config::ServiceEntry*> service_entry_of_;
  std::vector<int> default_cluster_;
  // Service FQDN -> its host forms, sorted (service_by_host inverted), made on the first
  // domainsFor(): scanning every host form per service was quadratic (minutes for 10,000).
  std::optional<std::map<std::string, std::vector<std::string>>> host_forms_;
  std::map<int, std::string> wildcard_vs_;
  std::set<std::string> unenforced_;
};

}  // namespace sluice::control::snapshot
