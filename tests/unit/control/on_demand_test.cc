// MeshController::loadOnDemand (--load-services=on-demand, no Sidecar resource): the registry
// interest starts empty and grows by the hosts the sidecar is asked for, the config keeps only
// what those hosts use, a host no registry has is dropped again, an external name costs no
// registry read, and the reverse-DNS EnvoyFilter (method 1) keeps the whole mesh.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "control/mesh_controller.h"

namespace sluice::control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class RecordingSink : public SnapshotSink {
 public:
  void publish(std::shared_ptr<const proxy::MeshSnapshot> s) override { published.push_back(s); }
  void setConfigErrors(std::vector<std::string>) override {}
  void setRegistryStatus(std::vector<registry::SourceStatus>) override {}
  std::vector<std::shared_ptr<const proxy::MeshSnapshot>> published;
};

// A registry the test fills; the watcher reports what its interest wants of it on every
// refreshNow (as the polling watchers do), synchronously.
class RegistryWatcher : public registry::Watcher {
 public:
  void start(OnChange on_change) override {
    on_change_ = std::move(on_change);
    report();
  }
  void stop() override { on_change_ = nullptr; }
  registry::SourceStatus status() const override { return {"registry://", true, "", 0}; }
  void setInterest(registry::Interest interest) override { this->interest = std::move(interest); }
  void refreshNow(OnRefreshed done) override {
    ++refreshes;
    report();
    if (done) done();
  }
  void report() {
    std::vector<registry::Service> out;
    for (const auto& [name, s] : registry) {
      if (interest.wants(name)) out.push_back(s);
    }
    if (on_change_) on_change_(out);
  }

  std::map<std::string, registry::Service> registry;
  registry::Interest interest;
  int refreshes = 0;

 private:
  OnChange on_change_;
};

registry::Service service(const std::string& name, const std::string& ip) {
  registry::Instance instance;
  instance.ip = ip;
  instance.port = 8080;
  return registry::Service{name, "", "", {instance}};
}

constexpr const char* kFrontRoutesToBack = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: front, namespace: default}
spec:
  hosts: [front]
  http:
  - route:
    - destination: {host: back}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: unused, namespace: default}
spec:
  hosts: [unused]
  http:
  - route:
    - destination: {host: unused}
)";

// In a file of its own: loading `front` must follow its route to `back` to find it.
constexpr const char* kBackRule = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: back, namespace: default}
spec:
  host: back
  subsets: [{name: v1, labels: {version: v1}}]
)";

class OnDemandTest : public ::testing::Test {
 protected:
  OnDemandTest() {
    std::string pattern = (fs::temp_directory_path() / "sluice-ondemand-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  ~OnDemandTest() override {
    if (controller_) controller_->stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir_) / name, std::ios::trunc) << text;
  }
  void startController(bool on_demand = true) {
    ControllerOptions opts;
    opts.config_dir = dir_;
    opts.registry_urls = {"registry://"};
    opts.watch.debounce = 20ms;
    opts.load_on_demand = on_demand;
    ControllerDeps deps = ControllerDeps::production();
    deps.load_config = [this, load = deps.load_config](const std::vector<std::string>& paths) {
      loads_.push_back(paths);
      return load(paths);
    };
    deps.make_watcher = [this](const std::string&) -> Result<std::unique_ptr<registry::Watcher>> {
      auto w = std::make_unique<RegistryWatcher>();
      w->registry = registry_;
      watcher_ = w.get();
      return std::unique_ptr<registry::Watcher>(std::move(w));
    };
    controller_ = std::make_unique<MeshController>(io_, opts, deps);
    auto initial = controller_->initialize();
    ASSERT_TRUE(initial) << initial.error().describe();
    ASSERT_TRUE(controller_->start(&sink_));
    ASSERT_NE(watcher_, nullptr);
  }
  // Runs loadOnDemand(host) to its `done`.
  bool load(const std::string& host) {
    bool done = false;
    controller_->loadOnDemand(host, [&] { done = true; });
    auto deadline = std::chrono::steady_clock::now() + 5s;
    io_.restart();
    while (!done && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
    // What the load scheduled after `done` (dropping an absent host again) runs too.
    io_.restart();
    io_.poll();
    return done;
  }
  const proxy::MeshSnapshot& latest() { return *sink_.published.back(); }

  std::string dir_;
  std::vector<std::vector<std::string>> loads_;  // the paths of every config load
  asio::io_context io_;
  std::map<std::string, registry::Service> registry_ = {
      {"front", service("front", "10.0.0.1")},
      {"back", service("back", "10.0.0.2")},
      {"service-provider", service("service-provider", "10.0.0.3")},
      {"unused", service("unused", "10.0.0.4")}};
  RegistryWatcher* watcher_ = nullptr;
  std::unique_ptr<MeshController> controller_;
  RecordingSink sink_;
};

TEST_F(OnDemandTest, InterestWithoutASidecarStartsEmptyAndGrowsByTheHostsUsed) {
  write("mesh.yaml", kFrontRoutesToBack);
  write("back-dr.yaml", kBackRule);
  startController();
  EXPECT_FALSE(watcher_->interest.all);
  EXPECT_TRUE(watcher_->interest.names.empty());
  EXPECT_TRUE(controller_->configStore().accepted().virtual_services.empty())
      << "no host used yet: no VirtualService kept";

  ASSERT_TRUE(load("service-provider"));
  EXPECT_EQ(watcher_->interest.names, (std::set<std::string>{"service-provider"}));
  EXPECT_NE(latest().findService("service-provider"), nullptr);
  EXPECT_EQ(latest().findService("front"), nullptr);
  EXPECT_TRUE(latest().loads_on_demand);
  EXPECT_EQ(latest().loaded_on_demand,
            (std::vector<std::string>{"service-provider.default.svc.cluster.local"}));

  // A VirtualService host: the files naming it (and what it routes to) are read again, not the
  // whole directory, and what it routes to comes with it.
  loads_.clear();
  ASSERT_TRUE(load("front.default.svc.cluster.local"));
  ASSERT_FALSE(loads_.empty());
  for (const auto& paths : loads_) {
    EXPECT_EQ(std::find(paths.begin(), paths.end(), dir_), paths.end()) << "the whole directory";
  }
  EXPECT_EQ(watcher_->interest.names, (std::set<std::string>{"back", "front", "service-provider"}));
  ASSERT_EQ(controller_->configStore().accepted().virtual_services.size(), 1u);
  EXPECT_EQ(controller_->configStore().accepted().virtual_services[0].meta.name, "front");
  ASSERT_EQ(controller_->configStore().accepted().destination_rules.size(), 1u);
  EXPECT_NE(latest().mesh_routes.findVirtualHost("front"), nullptr);
  EXPECT_NE(latest().findService("back"), nullptr);
  EXPECT_EQ(latest().findService("unused"), nullptr);
  // Loaded names stay loaded: asking again reads nothing.
  int refreshes = watcher_->refreshes;
  ASSERT_TRUE(load("service-provider"));
  EXPECT_EQ(watcher_->refreshes, refreshes);
}

TEST_F(OnDemandTest, AHostNoRegistryHasIsDroppedAgainAndAnExternalNameReadsNothing) {
  startController();
  int refreshes = watcher_->refreshes;
  ASSERT_TRUE(load("not-registered"));
  EXPECT_EQ(watcher_->refreshes, refreshes + 1) << "the registry was asked once";
  EXPECT_TRUE(watcher_->interest.names.empty()) << "an absent name does not stay wanted";
  EXPECT_TRUE(latest().loaded_on_demand.empty());

  refreshes = watcher_->refreshes;
  ASSERT_TRUE(load("www.example.com"));
  ASSERT_TRUE(load("10.1.2.3"));
  EXPECT_EQ(watcher_->refreshes, refreshes) << "names outside the mesh's domain never ask";
  EXPECT_TRUE(watcher_->interest.names.empty());

  // Registered since: the next ask (after the proxy's negative cache expired) loads it.
  watcher_->registry["not-registered"] = service("not-registered", "10.0.0.9");
  ASSERT_TRUE(load("not-registered.default"));
  EXPECT_NE(latest().findService("not-registered"), nullptr);
}

TEST_F(OnDemandTest, TheReverseDnsEnvoyFilterKeepsTheWholeMesh) {
  write("rdns.yaml", R"(apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: any-spring-cloud-support, namespace: istio-system}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_OUTBOUND
      listener:
        portNumber: 8080
        filterChain:
          filter:
            name: "envoy.filters.network.http_connection_manager"
            subFilter: {name: "envoy.filters.http.router"}
    patch:
      operation: INSERT_BEFORE
      value:
        name: com.aliyun.reverse_dns
        typed_config:
          "@type": "type.googleapis.com/udpa.type.v1.TypedStruct"
          type_url: type.googleapis.com/envoy.config.filter.reverse_dns.v3alpha.CommonConfig
          value:
            pod_cidrs: ["10.0.0.0/8"]
)");
  write("mesh.yaml", kFrontRoutesToBack);
  startController();
  EXPECT_TRUE(watcher_->interest.all) << "every pod address must be known to reverse DNS";
  EXPECT_EQ(controller_->configStore().accepted().virtual_services.size(), 2u);
  ASSERT_TRUE(load("service-provider"));
  EXPECT_FALSE(latest().loads_on_demand);
  EXPECT_NE(latest().findService("unused"), nullptr);
}

TEST_F(OnDemandTest, WithoutTheFlagNothingIsLoadedOnDemand) {
  write("mesh.yaml", kFrontRoutesToBack);
  startController(/*on_demand=*/false);
  EXPECT_TRUE(watcher_->interest.all);
  int refreshes = watcher_->refreshes;
  ASSERT_TRUE(load("service-provider"));
  EXPECT_EQ(watcher_->refreshes, refreshes);
}

}  // namespace
}  // namespace sluice::control
