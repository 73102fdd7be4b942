// Snapshot assembly: gateway listeners.
#include <gtest/gtest.h>

#include "snapshot_fixtures.h"

namespace sluice::control {
namespace {

using namespace sluice::proxy;

TEST(Snapshot, GatewayListenerRoutesAnyHostToConsumer) {
  auto snap = build(readSeed("test-gateway.yaml") + "\n---\n" + readSeed("consumer.yaml"));
  const GatewayListener* gl = snap->findGatewayListener(80);
  ASSERT_NE(gl, nullptr);
  http::Headers h;
  RequestView rv;
  rv.method = "GET";
  rv.authority = "whatever.example:80";
  rv.path = "/echo/world";
  rv.headers = &h;
  auto m = gl->routes.route(rv);
  ASSERT_NE(m.route, nullptr);
  ASSERT_EQ(m.route->clusters.size(), 1u);
  const auto& wc = m.route->clusters[0];
  ASSERT_GE(wc.cluster, 0) << wc.missing;
  EXPECT_EQ(snap->clusters[wc.cluster].endpoints.at(0).address(), "10.0.128.13:8080");
  // The gateway-only VirtualService does not touch sidecar routing of consumer.
  EXPECT_FALSE(snap->mesh_routes.findVirtualHost("consumer")->from_virtual_service);
}

}  // namespace
}  // namespace sluice::control
