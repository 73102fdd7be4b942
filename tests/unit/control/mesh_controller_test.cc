// The reload logic of MeshController, driven through a real config directory (real inotify and
// debounce) with a fake loader/builder/registry so the test pins down the controller's contract:
// bad changes keep the old config, good changes apply, every publish bumps the version,
// registry changes are merged and published. No sleeps: the io_context runs until the expected
// callback, bounded by a deadline.
#include "control/mesh_controller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "testutil/fake_watcher.h"
#include "testutil/temp_dir.h"

namespace sluice::control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testutil::FakeWatcher;
using testutil::TempDir;

// Fake loader: every *.yaml file is one VirtualService named by its first line; a file whose
// text contains "!!broken" yields an error at file:2:1 and no resource, as a YAML syntax error
// would.
config::ConfigSet fakeLoad(const std::vector<std::string>& paths) {
  config::ConfigSet set;
  for (const auto& dir : paths) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      set.io_errors.push_back(dir + ": not a directory");
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".yaml") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string text = ss.str();
      ++set.files_read;
      if (text.find("!!broken") != std::string::npos) {
        config::Diagnostic d;
        d.pos.file = f.string();
        d.pos.line = 2;
        d.pos.column = 1;
        d.message = "syntax error";
        set.diagnostics.push_back(d);
        continue;
      }
      if (text.find("!!dangling-subset") != std::string::npos) {
        config::Diagnostic d;
        d.pos.file = f.string();
        d.pos.line = 3;
        d.message = "Referenced host+subset in destinationrule not found";
        d.code = "IST0101";
        set.diagnostics.push_back(d);
      }
      config::VirtualService vs;
      vs.meta.kind = "VirtualService";
      vs.meta.name = text.substr(0, text.find('\n'));
      vs.meta.pos = config::Position{f.string(), 1, 1};
      vs.meta.digest = std::hash<std::string>{}(text) | 1;
      set.virtual_services.push_back(vs);
    }
  }
  return set;
}

// Fake builder: records what went in, in fields a test can read back.
std::shared_ptr<const proxy::MeshSnapshot> fakeBuild(const SnapshotInputs& in) {
  auto snap = std::make_shared<proxy::MeshSnapshot>();
  snap->version = in.version;
  for (const auto& vs : in.config.virtual_services) snap->diagnostics.push_back(vs.meta.name);
  for (const auto& s : in.registry_services) {
    proxy::MeshService ms;
    ms.name = s.name;
    ms.endpoints.resize(s.instances.size());
    snap->services.push_back(ms);
  }
  snap->registry_status = in.registry_status;
  return snap;
}

class RecordingSink : public SnapshotSink {
 public:
  void publish(std::shared_ptr<const proxy::MeshSnapshot> s) override {
    published.push_back(std::move(s));
  }
  void setConfigErrors(std::vector<std::string> e) override {
    errors = std::move(e);
    ++error_updates;
  }
  void setRegistryStatus(std::vector<registry::SourceStatus> s) override {
    status = std::move(s);
    ++status_updates;
  }
  std::vector<std::shared_ptr<const proxy::MeshSnapshot>> published;
  std::vector<std::string> errors;
  int error_updates = 0;
  std::vector<registry::SourceStatus> status;
  int status_updates = 0;
};

registry::Service service(const std::string& name, int instances) {
  registry::Service s;
  s.name = name;
  for (int i = 0; i < instances; ++i) {
    registry::Instance inst;
    inst.ip = "10.0.0." + std::to_string(i + 1);
    inst.port = 8080;
    s.instances.push_back(inst);
  }
  return s;
}

class ControllerTest : public ::testing::Test {
 protected:
  // Runs the io_context until `pred` holds; false if `limit` passed first.
  template <typename Pred>
  bool runUntil(Pred pred, std::chrono::milliseconds limit = 3s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!pred() && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
    return pred();
  }

  ControllerDeps deps() {
    ControllerDeps d;
    d.load_config = fakeLoad;
    d.build_snapshot = fakeBuild;
    d.make_watcher = [this](const std::string& url) -> Result<std::unique_ptr<registry::Watcher>> {
      if (url.rfind("fake://", 0) != 0) {
        return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                         "unknown registry scheme in " + url);
      }
      auto w = std::make_unique<FakeWatcher>();
      watchers_.push_back(w.get());
      return std::unique_ptr<registry::Watcher>(std::move(w));
    };
    return d;
  }

  std::unique_ptr<MeshController> make(std::vector<std::string> registries = {}) {
    ControllerOptions opts;
    opts.config_dir = dir_.path();
    opts.registry_urls = std::move(registries);
    opts.watch.debounce = 20ms;
    opts.registry_status_interval = 20ms;
    auto c = std::make_unique<MeshController>(io_, opts, deps());
    c->setOnReload([this](bool applied) { reloads_.push_back(applied); });
    return c;
  }

  asio::io_context io_;
  TempDir dir_;
  RecordingSink sink_;
  std::vector<FakeWatcher*> watchers_;
  std::vector<bool> reloads_;
};

TEST_F(ControllerTest, InitialGoodConfigIsVersionOne) {
  dir_.write("a.yaml", "route-a\n");
  auto c = make();
  auto snap = c->initialize();
  ASSERT_TRUE(snap) << snap.error().describe();
  EXPECT_EQ((*snap)->version, 1u);
  EXPECT_EQ((*snap)->diagnostics, std::vector<std::string>{"route-a"});
  EXPECT_TRUE(c->configErrors().empty());
}

TEST_F(ControllerTest, MissingConfigDirIsNotFound) {
  ControllerOptions opts;
  opts.config_dir = dir_.path().string() + "/nope";
  MeshController c(io_, opts, deps());
  auto snap = c.initialize();
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().code, ErrorCode::kNotFound);
  EXPECT_NE(snap.error().message.find("/nope"), std::string::npos);
}

TEST_F(ControllerTest, GoodChangeAppliesWithNextVersion) {
  dir_.write("a.yaml", "route-a\n");
  auto c = make();
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  dir_.write("b.yaml", "route-b\n");
  ASSERT_TRUE(runUntil([&] { return !sink_.published.empty(); }));
  EXPECT_EQ(reloads_, std::vector<bool>{true});
  EXPECT_EQ(sink_.published.back()->version, 2u);
  EXPECT_EQ(sink_.published.back()->diagnostics, (std::vector<std::string>{"route-a", "route-b"}));
}

TEST_F(ControllerTest, BadChangeKeepsOldConfigAndReportsFileLine) {
  dir_.write("a.yaml", "route-a\n");
  auto c = make();
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  dir_.write("a.yaml", "route-a2\n!!broken\n");
  ASSERT_TRUE(runUntil([&] { return !reloads_.empty(); }));
  EXPECT_EQ(reloads_, std::vector<bool>{false});
  EXPECT_TRUE(sink_.published.empty()) << "a bad config must not be published";
  EXPECT_EQ(c->version(), 1u);
  ASSERT_EQ(sink_.errors.size(), 1u);
  EXPECT_NE(sink_.errors[0].find("a.yaml:2:1"), std::string::npos) << sink_.errors[0];
  EXPECT_EQ(c->reloadsRejected(), 1u);

  // Fixing the file applies it and clears the errors.
  dir_.write("a.yaml", "route-a3\n");
  ASSERT_TRUE(runUntil([&] { return reloads_.size() == 2; }));
  EXPECT_TRUE(reloads_[1]);
  EXPECT_TRUE(sink_.errors.empty());
  ASSERT_EQ(sink_.published.size(), 1u);
  EXPECT_EQ(sink_.published[0]->version, 2u);
  EXPECT_EQ(sink_.published[0]->diagnostics, std::vector<std::string>{"route-a3"});
}

TEST_F(ControllerTest, AnalyzerFindingsDoNotBlockAReload) {
  dir_.write("a.yaml", "route-a\n");
  auto c = make();
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  dir_.write("a.yaml", "route-a2\n!!dangling-subset\n");
  ASSERT_TRUE(runUntil([&] { return !reloads_.empty(); }));
  EXPECT_EQ(reloads_, std::vector<bool>{true});
  ASSERT_EQ(sink_.published.size(), 1u);
  EXPECT_EQ(sink_.published[0]->diagnostics, std::vector<std::string>{"route-a2"});
  EXPECT_TRUE(sink_.errors.empty());
}

TEST_F(ControllerTest, ABadFileDoesNotBlockTheOtherFiles) {
  dir_.write("a.yaml", "route-a\n");
  dir_.write("b.yaml", "route-b\n!!broken\n");
  auto c = make();
  auto snap = c->initialize();
  ASSERT_TRUE(snap);
  EXPECT_EQ((*snap)->diagnostics, std::vector<std::string>{"route-a"});
  ASSERT_EQ(c->configErrors().size(), 1u);
  ASSERT_TRUE(c->start(&sink_));

  // A good file written while the bad one stays applies.
  dir_.write("c.yaml", "route-c\n");
  ASSERT_TRUE(runUntil([&] { return !sink_.published.empty(); }));
  EXPECT_EQ(reloads_, std::vector<bool>{true});
  EXPECT_EQ(sink_.published.back()->diagnostics, (std::vector<std::string>{"route-a", "route-c"}));
  ASSERT_EQ(sink_.errors.size(), 1u);
  EXPECT_NE(sink_.errors[0].find("b.yaml:2:1"), std::string::npos) << sink_.errors[0];
  EXPECT_EQ(c->reloadsRejected(), 1u);
}

TEST_F(ControllerTest, InitialBadConfigServesEmptyConfigAndReportsErrors) {
  dir_.write("a.yaml", "x\n!!broken\n");
  auto c = make();
  auto snap = c->initialize();
  ASSERT_TRUE(snap);
  EXPECT_TRUE((*snap)->diagnostics.empty());
  ASSERT_EQ(c->configErrors().size(), 1u);
  ASSERT_TRUE(c->start(&sink_));
  ASSERT_EQ(sink_.errors.size(), 1u);
  EXPECT_NE(sink_.errors[0].find("a.yaml:2"), std::string::npos);
}

TEST_F(ControllerTest, DeletedFileIsAReloadToo) {
  dir_.write("a.yaml", "route-a\n");
  dir_.write("b.yaml", "route-b\n");
  auto c = make();
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  fs::remove(fs::path(dir_.path()) / "b.yaml");
  ASSERT_TRUE(runUntil([&] { return !sink_.published.empty(); }));
  EXPECT_EQ(sink_.published.back()->diagnostics, std::vector<std::string>{"route-a"});
}

TEST_F(ControllerTest, RegistryChangesAreMergedAndPublished) {
  auto c = make({"fake://one", "fake://two"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  ASSERT_EQ(watchers_.size(), 2u);
  watchers_[0]->emitFromThread({service("provider", 2)});
  ASSERT_TRUE(runUntil([&] { return sink_.published.size() == 1; }));
  watchers_[1]->emitFromThread({service("consumer", 1)});
  ASSERT_TRUE(runUntil([&] { return sink_.published.size() == 2; }));
  const auto& snap = *sink_.published.back();
  EXPECT_EQ(snap.version, 3u);
  ASSERT_EQ(snap.services.size(), 2u);
  EXPECT_EQ(snap.services[0].name, "provider");
  EXPECT_EQ(snap.services[0].endpoints.size(), 2u);
  EXPECT_EQ(snap.services[1].name, "consumer");

  // The same list again changes nothing, so nothing is published.
  watchers_[0]->emitFromThread({service("provider", 2)});
  io_.restart();
  io_.run_for(50ms);
  EXPECT_EQ(sink_.published.size(), 2u);
  watchers_[1]->emitFromThread({service("consumer", 2)});
  ASSERT_TRUE(runUntil([&] { return sink_.published.size() == 3; }));
  EXPECT_EQ(sink_.published.back()->version, 4u);
  EXPECT_EQ(sink_.published.back()->services[1].endpoints.size(), 2u);
}

TEST_F(ControllerTest, ChangesArrivingTogetherAreCoalesced) {
  auto c = make({"fake://one"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  for (int i = 1; i <= 5; ++i) watchers_[0]->emitFromThread({service("provider", i)});
  ASSERT_TRUE(runUntil([&] { return !sink_.published.empty(); }));
  io_.restart();
  io_.poll();
  // Five posted changes; one or two publishes, and the last one carries the final list.
  EXPECT_LE(sink_.published.size(), 2u);
  EXPECT_EQ(sink_.published.back()->services.at(0).endpoints.size(), 5u);
}

TEST_F(ControllerTest, RegistryStatusIsPushedWhenItChanges) {
  auto c = make({"fake://one"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  int before = sink_.status_updates;
  registry::SourceStatus st;
  st.source = "fake://one";
  st.reachable = false;
  st.last_error = "connect 127.0.0.1:1: refused";
  watchers_[0]->setStatus(st);
  ASSERT_TRUE(runUntil([&] { return sink_.status_updates > before; }));
  ASSERT_EQ(sink_.status.size(), 1u);
  EXPECT_FALSE(sink_.status[0].reachable);
  EXPECT_EQ(sink_.status[0].last_error, "connect 127.0.0.1:1: refused");
}

TEST_F(ControllerTest, UnknownRegistrySchemeFailsInitialize) {
  auto c = make({"zk://127.0.0.1:2181"});
  auto snap = c->initialize();
  ASSERT_FALSE(snap);
  EXPECT_EQ(snap.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(snap.error().message.find("zk://127.0.0.1:2181"), std::string::npos);
}

TEST_F(ControllerTest, RegistriesSyncedFiresAfterFirstList) {
  auto c = make({"fake://one"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  bool synced = false;
  c->whenRegistriesSynced(10s, [&] { synced = true; });
  io_.restart();
  io_.poll();
  EXPECT_FALSE(synced);
  watchers_[0]->emitFromThread({service("provider", 1)});
  ASSERT_TRUE(runUntil([&] { return synced; }));
  EXPECT_FALSE(sink_.published.empty());
}

TEST_F(ControllerTest, RegistriesSyncedGivesUpAfterMaxWait) {
  auto c = make({"fake://one"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  bool synced = false;
  c->whenRegistriesSynced(50ms, [&] { synced = true; });
  EXPECT_TRUE(runUntil([&] { return synced; }, 2s));
}

TEST_F(ControllerTest, NothingIsPublishedAfterStop) {
  auto c = make({"fake://one"});
  ASSERT_TRUE(c->initialize());
  ASSERT_TRUE(c->start(&sink_));
  c->stop();
  dir_.write("a.yaml", "route-a\n");
  watchers_[0]->emitFromThread({service("provider", 1)});
  io_.restart();
  io_.run_for(100ms);
  EXPECT_TRUE(sink_.published.empty());
}

}  // namespace
}  // namespace sluice::control
