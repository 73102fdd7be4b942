// Snapshot assembly: exportTo.
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, ExportToHidesObjectsFromOtherNamespaces) {
  const std::string yaml = R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: team-api, namespace: team}
spec:
  hosts: [api.team.example]
  exportTo: ["."]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shared-api, namespace: team}
spec:
  hosts: [api.shared.example]
  exportTo: ["*"]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: partner-api, namespace: team}
spec:
  hosts: [api.partner.example]
  exportTo: [partner]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.3}]
)";
  auto hostsSeenFrom = [&](const std::string& ns) {
    SnapshotInputs in;
    in.config = config::loadString(yaml, "test.yaml");
    for (const auto& d : in.config.diagnostics) ADD_FAILURE() << d.format();
    in.workload_namespace = ns;
    auto snap = buildSnapshot(in);
    EXPECT_TRUE(snap->unenforced.empty());
    std::vector<std::string> out;
    for (const char* h : {"api.team.example", "api.shared.example", "api.partner.example"}) {
      if (snap->findService(h) != nullptr) out.push_back(h);
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(hostsSeenFrom("team"), (V{"api.team.example", "api.shared.example"}));
  EXPECT_EQ(hostsSeenFrom("partner"), (V{"api.shared.example", "api.partner.example"}));
  EXPECT_EQ(hostsSeenFrom("default"), (V{"api.shared.example"}));
}

}  // namespace
}  // namespace sluice::control
