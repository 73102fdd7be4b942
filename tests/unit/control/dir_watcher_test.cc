#include "control/dir_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "testutil/temp_dir.h"

namespace sluice::control {
namespace {

using testutil::TempDir;

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void writeFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// Runs the io_context until `count` notifications arrived or `limit` passed.
// Returns the notifications seen; never sleeps as synchronisation, only runs handlers.
class Harness {
 public:
  explicit Harness(const std::string& dir, DirWatcherOptions opts = {})
      : watcher_(io_, dir, opts, [this] { ++seen_; }) {}

  Status start() { return watcher_.start(); }

  int waitFor(int count, std::chrono::milliseconds limit = 3s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (seen_ < count && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_until(deadline);
    }
    return seen_;
  }

  // Lets any pending timers fire for `quiet`, to check that nothing else is delivered.
  int settle(std::chrono::milliseconds quiet) {
    io_.restart();
    io_.run_for(quiet);
    return seen_;
  }

  DirWatcher& watcher() { return watcher_; }

 private:
  asio::io_context io_;
  int seen_ = 0;
  DirWatcher watcher_;
};

TEST(DirWatcher, MissingDirectoryIsNotFound) {
  asio::io_context io;
  DirWatcher w(io, "/nonexistent/sluice/config", {}, [] {});
  auto st = w.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  EXPECT_NE(st.error().message.find("/nonexistent/sluice/config"), std::string::npos);
}

TEST(DirWatcher, NewFileIsReported) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.start());
  writeFile(fs::path(dir.path()) / "vs.yaml", "kind: VirtualService\n");
  EXPECT_EQ(h.waitFor(1), 1);
}

TEST(DirWatcher, BurstOfWritesIsDebouncedIntoOneNotification) {
  TempDir dir;
  Harness h(dir.path(), {.debounce = 50ms, .max_delay = 2s});
  ASSERT_TRUE(h.start());
  for (int i = 0; i < 20; ++i) {
    writeFile(fs::path(dir.path()) / ("f" + std::to_string(i % 3) + ".yaml"), "a: 1\n");
  }
  EXPECT_EQ(h.waitFor(1), 1);
  EXPECT_EQ(h.settle(200ms), 1);
}

TEST(DirWatcher, EditorRenameIntoPlaceIsReported) {
  TempDir dir;
  fs::path target = fs::path(dir.path()) / "dr.yaml";
  writeFile(target, "old\n");
  Harness h(dir.path());
  ASSERT_TRUE(h.start());
  // Written outside the directory, then moved in: only IN_MOVED_TO is seen for the target.
  TempDir other;
  fs::path tmp = fs::path(other.path()) / "dr.yaml.tmp";
  writeFile(tmp, "new\n");
  fs::rename(tmp, target);
  EXPECT_EQ(h.waitFor(1), 1);
}

TEST(DirWatcher, DeleteIsReported) {
  TempDir dir;
  fs::path target = fs::path(dir.path()) / "se.yaml";
  writeFile(target, "x\n");
  Harness h(dir.path());
  ASSERT_TRUE(h.start());
  fs::remove(target);
  EXPECT_EQ(h.waitFor(1), 1);
}

TEST(DirWatcher, FilesInNewSubdirectoriesAreWatched) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.start());
  fs::create_directory(fs::path(dir.path()) / "team-a");
  ASSERT_EQ(h.waitFor(1), 1);
  writeFile(fs::path(dir.path()) / "team-a" / "vs.yaml", "x\n");
  EXPECT_EQ(h.waitFor(2), 2);
}

TEST(DirWatcher, ConfigMapStyleSymlinkSwapIsReported) {
  TempDir dir;
  fs::path root(dir.path());
  fs::create_directory(root / "..v1");
  writeFile(root / "..v1" / "vs.yaml", "v1\n");
  fs::create_directory_symlink("..v1", root / "..data");
  fs::create_symlink("..data/vs.yaml", root / "vs.yaml");
  Harness h(dir.path(), {.debounce = 50ms, .max_delay = 2s});
  ASSERT_TRUE(h.start());
  // The kubelet's atomic update: new timestamped dir, new symlink, rename over ..data.
  fs::create_directory(root / "..v2");
  writeFile(root / "..v2" / "vs.yaml", "v2\n");
  fs::create_directory_symlink("..v2", root / "..data_tmp");
  fs::rename(root / "..data_tmp", root / "..data");
  EXPECT_GE(h.waitFor(1), 1);
}

TEST(DirWatcher, DirectoryRecreatedIsWatchedAgain) {
  TempDir parent;
  fs::path dir = fs::path(parent.path()) / "conf";
  fs::create_directory(dir);
  Harness h(dir.string(), {.debounce = 20ms, .max_delay = 1s});
  ASSERT_TRUE(h.start());
  fs::remove_all(dir);
  ASSERT_GE(h.waitFor(1), 1);
  fs::create_directory(dir);
  // Re-armed by polling, which itself reports a change once the directory is back.
  int before = h.waitFor(2);
  ASSERT_GE(before, 2);
  writeFile(dir / "vs.yaml", "x\n");
  EXPECT_GE(h.waitFor(before + 1), before + 1);
}

TEST(DirWatcher, NoCallbackAfterStop) {
  TempDir dir;
  Harness h(dir.path());
  ASSERT_TRUE(h.start());
  writeFile(fs::path(dir.path()) / "vs.yaml", "x\n");
  h.watcher().stop();
  EXPECT_EQ(h.settle(150ms), 0);
}

}  // namespace
}  // namespace sluice::control
