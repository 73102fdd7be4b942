// MeshController with its real dependencies (config::loadPaths, control::buildSnapshot, the
// registry factory): real Istio YAML in a temp dir, a syntax error keeps the old snapshot and is
// reported with file:line, the fix applies.
#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "control/mesh_controller.h"
#include "control/registry_factory.h"

namespace sluice::control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kServiceEntry = R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: echo
  namespace: default
spec:
  hosts: [echo.mesh.local]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {http: 18001}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {http: 18002}, labels: {version: v2}}
)";

constexpr const char* kDestinationRule = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: echo
  namespace: default
spec:
  host: echo.mesh.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

std::string virtualService(const std::string& subset) {
  return R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: echo
  namespace: default
spec:
  hosts: [echo.mesh.local]
  http:
  - route:
    - destination: {host: echo.mesh.local, subset: )" +
         subset + "}\n";
}

class RecordingSink : public SnapshotSink {
 public:
  void publish(std::shared_ptr<const proxy::MeshSnapshot> s) override { published.push_back(s); }
  void setConfigErrors(std::vector<std::string> e) override { errors = std::move(e); }
  void setRegistryStatus(std::vector<registry::SourceStatus>) override {}
  std::vector<std::shared_ptr<const proxy::MeshSnapshot>> published;
  std::vector<std::string> errors;
};

class ProductionDeps : public ::testing::Test {
 protected:
  ProductionDeps() {
    std::string pattern = (fs::temp_directory_path() / "sluice-ctlprod-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  ~ProductionDeps() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    fs::path tmp = fs::path(dir_) / ("." + name + ".tmp");
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << text;
    }
    fs::rename(tmp, fs::path(dir_) / name);
  }
  template <typename Pred>
  bool runUntil(Pred pred, std::chrono::milliseconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!pred() && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
    return pred();
  }
  // The snapshot as /config_dump shows it (routes name their clusters Envoy-style).
  static std::string dump(const proxy::MeshSnapshot& snap) { return snap.toJson().dump(); }

  std::string dir_;
  asio::io_context io_;
};

TEST_F(ProductionDeps, SyntaxErrorKeepsLastGoodSnapshotAndFixApplies) {
  write("se.yaml", kServiceEntry);
  write("dr.yaml", kDestinationRule);
  write("vs.yaml", virtualService("v1"));
  ControllerOptions opts;
  opts.config_dir = dir_;
  opts.watch.debounce = 20ms;
  MeshController c(io_, opts, ControllerDeps::production());
  std::vector<bool> reloads;
  c.setOnReload([&](bool applied) { reloads.push_back(applied); });
  auto initial = c.initialize();
  ASSERT_TRUE(initial) << initial.error().describe();
  ASSERT_NE((*initial)->findService("echo.mesh.local"), nullptr);
  EXPECT_TRUE(c.configErrors().empty());
  RecordingSink sink;
  ASSERT_TRUE(c.start(&sink));

  // Line 8 opens a flow sequence that never closes.
  write("vs.yaml",
        "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n"
        "  name: echo\n  namespace: default\nspec:\n  hosts: [echo.mesh.local]\n"
        "  http: [{route: [{destination: {host: echo.mesh.local}}]\n");
  ASSERT_TRUE(runUntil([&] { return !reloads.empty(); }));
  EXPECT_FALSE(reloads[0]);
  EXPECT_TRUE(sink.published.empty());
  ASSERT_FALSE(sink.errors.empty());
  EXPECT_NE(sink.errors[0].find("vs.yaml:"), std::string::npos) << sink.errors[0];

  write("vs.yaml", virtualService("v2"));
  ASSERT_TRUE(runUntil([&] { return reloads.size() >= 2 && reloads.back(); }));
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_FALSE(sink.published.empty());
  EXPECT_EQ(sink.published.back()->version, 2u);
  EXPECT_NE(sink.published.back()->findService("echo.mesh.local"), nullptr);
  EXPECT_NE(dump(*sink.published.back()).find("|v2|echo.mesh.local"), std::string::npos);
}

TEST_F(ProductionDeps, VirtualServiceToAMissingSubsetIsHeldBackUntilTheDestinationRuleArrives) {
  write("se.yaml", kServiceEntry);
  write("vs.yaml", virtualService("v1"));
  ControllerOptions opts;
  opts.config_dir = dir_;
  opts.watch.debounce = 20ms;
  MeshController c(io_, opts, ControllerDeps::production());
  std::vector<bool> reloads;
  c.setOnReload([&](bool applied) { reloads.push_back(applied); });
  auto initial = c.initialize();
  ASSERT_TRUE(initial) << initial.error().describe();
  ASSERT_EQ((*initial)->config_held_back.size(), 1u) << dump(**initial);
  EXPECT_NE((*initial)->config_held_back[0].find("error[IST0101]"), std::string::npos);
  EXPECT_EQ(dump(**initial).find("|v1|echo.mesh.local"), std::string::npos)
      << "a held-back VirtualService has no routes";
  EXPECT_EQ(c.configStore().heldBack(), 1u);
  RecordingSink sink;
  ASSERT_TRUE(c.start(&sink));

  write("dr.yaml", kDestinationRule);
  ASSERT_TRUE(runUntil([&] { return !sink.published.empty(); }));
  const auto& snap = *sink.published.back();
  EXPECT_TRUE(snap.config_held_back.empty()) << dump(snap);
  EXPECT_NE(dump(snap).find("|v1|echo.mesh.local"), std::string::npos) << dump(snap);
  EXPECT_EQ(c.configStore().heldBack(), 0u);
}

// A watcher the test feeds by hand.
class ManualWatcher : public registry::Watcher {
 public:
  void start(OnChange on_change) override { on_change_ = std::move(on_change); }
  void stop() override { on_change_ = nullptr; }
  registry::SourceStatus status() const override { return {}; }
  void setInterest(registry::Interest interest) override { this->interest = std::move(interest); }
  registry::Interest interest;
  void emit(const std::vector<registry::Service>& services) {
    if (on_change_) on_change_(services);
  }

 private:
  OnChange on_change_;
};

TEST_F(ProductionDeps, AHostTheRegistryLearnsLaterReleasesTheVirtualService) {
  write("vs.yaml", R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: provider, namespace: default}
spec:
  hosts: [service-provider]
  http:
  - route:
    - destination: {host: service-provider}
)");
  ControllerOptions opts;
  opts.config_dir = dir_;
  opts.registry_urls = {"manual://"};
  opts.watch.debounce = 20ms;
  ControllerDeps deps = ControllerDeps::production();
  ManualWatcher* watcher = nullptr;
  deps.make_watcher = [&](const std::string&) -> Result<std::unique_ptr<registry::Watcher>> {
    auto w = std::make_unique<ManualWatcher>();
    watcher = w.get();
    return std::unique_ptr<registry::Watcher>(std::move(w));
  };
  MeshController c(io_, opts, deps);
  auto initial = c.initialize();
  ASSERT_TRUE(initial) << initial.error().describe();
  ASSERT_EQ((*initial)->config_held_back.size(), 1u) << dump(**initial);
  EXPECT_NE((*initial)->config_held_back[0].find("Referenced host not found"), std::string::npos)
      << (*initial)->config_held_back[0];
  RecordingSink sink;
  ASSERT_TRUE(c.start(&sink));
  ASSERT_NE(watcher, nullptr);

  registry::Service provider;
  provider.name = "service-provider";
  registry::Instance instance;
  instance.ip = "10.0.0.1";
  instance.port = 8080;
  provider.instances.push_back(instance);
  watcher->emit({provider});
  ASSERT_TRUE(runUntil([&] { return !sink.published.empty(); }));
  EXPECT_TRUE(sink.published.back()->config_held_back.empty()) << dump(*sink.published.back());
  EXPECT_EQ(c.configStore().heldBack(), 0u);
}

// A Sidecar naming one registry service: the watcher is asked for it alone (before it starts), the
// VirtualServices of other hosts are neither built nor held back, and a reload widening the
// Sidecar asks for everything.
TEST_F(ProductionDeps, ASidecarLimitsWhatTheWatchersAreAskedFor) {
  write("sidecar.yaml", R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./service-provider.default.svc.cluster.local"]}]
)");
  write("vs.yaml", R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: other, namespace: default}
spec:
  hosts: [other]
  http:
  - route:
    - destination: {host: other}
)");
  ControllerOptions opts;
  opts.config_dir = dir_;
  opts.registry_urls = {"manual://"};
  opts.watch.debounce = 20ms;
  ControllerDeps deps = ControllerDeps::production();
  ManualWatcher* watcher = nullptr;
  deps.make_watcher = [&](const std::string&) -> Result<std::unique_ptr<registry::Watcher>> {
    auto w = std::make_unique<ManualWatcher>();
    watcher = w.get();
    return std::unique_ptr<registry::Watcher>(std::move(w));
  };
  MeshController c(io_, opts, deps);
  auto initial = c.initialize();
  ASSERT_TRUE(initial) << initial.error().describe();
  ASSERT_NE(watcher, nullptr);
  EXPECT_FALSE(watcher->interest.all);
  EXPECT_EQ(watcher->interest.names, (std::set<std::string>{"service-provider"}));
  EXPECT_TRUE((*initial)->config_held_back.empty()) << dump(**initial);
  // Not even kept: the sidecar holds only what its Sidecar can use.
  EXPECT_TRUE(c.configStore().accepted().virtual_services.empty());
  RecordingSink sink;
  std::vector<bool> reloads;
  c.setOnReload([&](bool applied) { reloads.push_back(applied); });
  ASSERT_TRUE(c.start(&sink));

  registry::Instance instance;
  instance.ip = "10.0.0.1";
  instance.port = 8080;
  registry::Service provider{"service-provider", "", "", {instance}};
  registry::Service other{"other", "", "", {instance}};
  watcher->emit({other, provider});  // a list read before the interest: the rest is dropped
  ASSERT_TRUE(runUntil([&] { return !sink.published.empty(); }));
  EXPECT_NE(sink.published.back()->findService("service-provider"), nullptr);
  EXPECT_EQ(sink.published.back()->findService("other"), nullptr);

  write("sidecar.yaml", R"(apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress: [{hosts: ["./*"]}]
)");
  ASSERT_TRUE(runUntil([&] { return !reloads.empty(); }));
  EXPECT_TRUE(watcher->interest.all);
  EXPECT_EQ(c.configStore().accepted().virtual_services.size(), 1u);
}

TEST(RegistryFactory, SchemeIsParsedCaseInsensitively) {
  auto s = registryScheme("NACOS://127.0.0.1:8848");
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, "nacos");
  EXPECT_FALSE(registryScheme("127.0.0.1:8848"));
}

TEST(RegistryFactory, UnknownSchemeNamesUrlAndSupportedSchemes) {
  auto w = makeRegistryWatcher("mdns://127.0.0.1:5353");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(w.error().message.find("mdns://127.0.0.1:5353"), std::string::npos);
  EXPECT_NE(w.error().message.find("nacos://"), std::string::npos);
}

TEST(RegistryFactory, EurekaUrlMakesAWatcherWithoutConnecting) {
  auto w = makeRegistryWatcher("eureka://127.0.0.1:1/eureka");
  ASSERT_TRUE(w) << w.error().describe();
  EXPECT_NE(*w, nullptr);
}

TEST(RegistryFactory, NacosUrlMakesAWatcherWithoutConnecting) {
  auto w = makeRegistryWatcher("nacos://127.0.0.1:1?namespace=public&group=DEFAULT_GROUP");
  ASSERT_TRUE(w) << w.error().describe();
  EXPECT_NE(*w, nullptr);
}

}  // namespace
}  // namespace sluice::control
