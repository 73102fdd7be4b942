#pragma once
// Shared by the snapshot assembly tests: the seed's registry services (provider v1/v2, consumer),
// a snapshot built from YAML, and routing a request through the mesh route table.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "config/loader.h"
#include "control/snapshot/build_snapshot.h"
#include "proxy/load_balancer.h"

namespace sluice::control {

inline std::string readSeed(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/examples/seed/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline registry::Service provider() {
  registry::Service s;
  s.name = "service-provider";
  s.group = "DEFAULT_GROUP";
  registry::Instance v1;
  v1.ip = "10.0.128.11";
  v1.port = 8070;
  v1.metadata = {{"label", "v1"}};
  registry::Instance v2 = v1;
  v2.ip = "10.0.128.12";
  v2.metadata = {{"label", "v2"}};
  s.instances = {v1, v2};
  return s;
}

inline registry::Service consumer() {
  registry::Service s;
  s.name = "consumer";
  registry::Instance i;
  i.ip = "10.0.128.13";
  i.port = 8080;
  s.instances = {i};
  return s;
}

inline std::shared_ptr<const proxy::MeshSnapshot> build(const std::string& yaml,
                                                        bool expect_clean = true) {
  SnapshotInputs in;
  in.config = config::loadString(yaml, "test.yaml");
  if (expect_clean) {
    for (const auto& d : in.config.diagnostics) ADD_FAILURE() << d.format();
  }
  in.registry_services = {provider(), consumer()};
  in.version = 7;
  return buildSnapshot(in);
}

// Routes a request through the mesh table and picks `n` endpoints with fresh per-worker state.
inline std::vector<std::string> pickEndpoints(const proxy::MeshSnapshot& snap,
                                              const std::string& authority, const std::string& path,
                                              int n) {
  std::vector<std::string> out;
  std::map<int, std::unique_ptr<proxy::ClusterState>> states;
  http::Headers headers;
  proxy::RequestView rv;
  rv.method = "GET";
  rv.authority = authority;
  rv.path = path;
  rv.headers = &headers;
  for (int i = 0; i < n; ++i) {
    auto m = snap.mesh_routes.route(rv);
    if (m.route == nullptr) {
      out.push_back("404");
      continue;
    }
    const proxy::WeightedCluster* wc = m.route->pickCluster(0);
    if (wc->cluster < 0) {
      out.push_back("503:" + wc->missing);
      continue;
    }
    auto& st = states[wc->cluster];
    if (!st) {
      st = std::make_unique<proxy::ClusterState>(1);
      st->update(snap.clusters[wc->cluster]);
    }
    auto* e = st->pick({}, proxy::Clock::now());
    out.push_back(e == nullptr ? "503" : e->endpoint.labels["label"]);
  }
  return out;
}

}  // namespace sluice::control
