// MeshController::refreshRegistries: every watcher is asked to re-read, and `done` comes only after
// the snapshot carrying what the re-read found went to the sink (what a sidecar request waiting
// on an unknown pod address relies on).
#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "control/mesh_controller.h"
#include "testutil/fake_watcher.h"

namespace sluice::control {
namespace {

using namespace std::chrono_literals;
using testutil::FakeWatcher;

class Sink : public SnapshotSink {
 public:
  void publish(std::shared_ptr<const proxy::MeshSnapshot> s) override {
    published.push_back(std::move(s));
  }
  void setConfigErrors(std::vector<std::string>) override {}
  void setRegistryStatus(std::vector<registry::SourceStatus>) override {}
  std::vector<std::shared_ptr<const proxy::MeshSnapshot>> published;
};

std::shared_ptr<const proxy::MeshSnapshot> buildNames(const SnapshotInputs& in) {
  auto snap = std::make_shared<proxy::MeshSnapshot>();
  snap->version = in.version;
  for (const auto& s : in.registry_services) {
    proxy::MeshService ms;
    ms.name = s.name;
    snap->services.push_back(ms);
  }
  return snap;
}

class RefreshTest : public ::testing::Test {
 protected:
  RefreshTest() {
    ControllerDeps deps;
    deps.load_config = [](const std::vector<std::string>&) { return config::ConfigSet{}; };
    deps.build_snapshot = buildNames;
    deps.make_watcher = [this](const std::string&) -> Result<std::unique_ptr<registry::Watcher>> {
      auto w = std::make_unique<FakeWatcher>();
      watchers_.push_back(w.get());
      return std::unique_ptr<registry::Watcher>(std::move(w));
    };
    ControllerOptions options;
    options.registry_urls = {"fake://a", "fake://b"};
    controller_ = std::make_unique<MeshController>(io_, options, deps);
  }
  ~RefreshTest() override { controller_->stop(); }

  bool runUntil(const std::function<bool()>& pred, std::chrono::milliseconds limit = 3s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    io_.restart();
    while (!pred() && std::chrono::steady_clock::now() < deadline) io_.run_one_until(deadline);
    return pred();
  }

  asio::io_context io_;
  std::vector<FakeWatcher*> watchers_;
  std::unique_ptr<MeshController> controller_;
  Sink sink_;
};

TEST_F(RefreshTest, DoneComesAfterTheSnapshotWithTheNewInstanceWasPublished) {
  ASSERT_TRUE(controller_->initialize());
  ASSERT_TRUE(controller_->start(&sink_));
  ASSERT_EQ(watchers_.size(), 2u);
  registry::Service fresh;
  fresh.name = "brand-new";
  registry::Instance instance;
  instance.ip = "10.0.0.9";
  instance.port = 8070;
  fresh.instances.push_back(instance);
  watchers_[1]->setNextRefresh({fresh});

  bool done = false;
  size_t published_at_done = 0;
  controller_->refreshRegistries([&] {
    done = true;
    published_at_done = sink_.published.size();
  });
  ASSERT_TRUE(runUntil([&] { return done; }));
  EXPECT_EQ(watchers_[0]->refreshes, 1);
  EXPECT_EQ(watchers_[1]->refreshes, 1);
  ASSERT_GE(published_at_done, 1u);
  const auto& last = *sink_.published[published_at_done - 1];
  ASSERT_EQ(last.services.size(), 1u);
  EXPECT_EQ(last.services[0].name, "brand-new");
}

TEST_F(RefreshTest, NothingNewStillAnswersAndAStoppedControllerAnswersAtOnce) {
  ASSERT_TRUE(controller_->initialize());
  ASSERT_TRUE(controller_->start(&sink_));
  bool done = false;
  controller_->refreshRegistries([&] { done = true; });
  ASSERT_TRUE(runUntil([&] { return done; }));
  EXPECT_TRUE(sink_.published.empty());

  controller_->stop();
  bool after_stop = false;
  controller_->refreshRegistries([&] { after_stop = true; });
  ASSERT_TRUE(runUntil([&] { return after_stop; }));
  EXPECT_EQ(watchers_[0]->refreshes, 1);  // not asked again once stopped
}

}  // namespace
}  // namespace sluice::control
