// Snapshot assembly: services and their host forms, ServiceEntry addresses.
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, HostFormsReachARegistryService) {
  auto snap = build("");
  for (const char* host :
       {"service-provider", "service-provider:8070", "service-provider.default",
        "service-provider.default.svc", "SERVICE-PROVIDER.default.svc.cluster.local:8070"}) {
    const MeshService* s = snap->findService(host);
    ASSERT_NE(s, nullptr) << host;
    EXPECT_EQ(s->fqdn, "service-provider.default.svc.cluster.local");
  }
  EXPECT_EQ(snap->findService("service-provider.other"), nullptr);
  EXPECT_EQ(snap->findService("consumer")->endpoints.size(), 1u);
}

TEST(Snapshot, ServiceEntrySingleAddressesAreMatchedRangesAreReported) {
  auto snap = build(R"(
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  addresses: [240.241.0.10, 10.96.0.0/16]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
)");
  const MeshService* svc = snap->findByVip("240.241.0.10");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->fqdn, "ext.example.com");
  EXPECT_EQ(snap->findByVip("10.96.0.0"), nullptr);
  bool reported = false;
  for (const auto& d : snap->diagnostics) {
    reported =
        reported || d.find("address range 10.96.0.0/16 is not enforced") != std::string::npos;
  }
  EXPECT_TRUE(reported) << "a CIDR in addresses must be reported, not silently ignored";
}

}  // namespace
}  // namespace sluice::control
