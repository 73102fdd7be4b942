#include "registry/zookeeper/watcher.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "fake_zookeeper.h"
#include "testutil/eventually.h"
#include "testutil/service_recorder.h"

namespace sluice::registry::zookeeper {
namespace {

using namespace std::chrono_literals;
using testing::FakeZooKeeper;
using testutil::eventually;
using testutil::hasInstancePort;
using testutil::instanceCount;
using testutil::ServiceRecorder;

std::string record(const std::string& ip, int port, const std::string& label = "v1") {
  return fmt::format(
      R"({{"address":"{}","port":{},"payload":{{"@class":"org.springframework.cloud.zookeeper.)"
      R"(discovery.ZookeeperInstance","metadata":{{"label":"{}"}}}}}})",
      ip, port, label);
}

ZooKeeperSource source() {
  ZooKeeperSource s;
  s.servers = {net::HostPort{"127.0.0.1", 2181}};
  s.url = "zookeeper://127.0.0.1:2181";
  return s;
}

TEST(ZooKeeperWatcher, PublishesTheWholeTreeOnceReadAndThenEveryChange) {
  FakeZooKeeper zk;
  zk.create("/services/service-provider/a", record("10.0.0.1", 8070, "v1"));
  zk.create("/services/service-provider/b", record("10.0.0.2", 8070, "v2"));
  zk.create("/services/consumer/c", record("10.0.0.3", 8080));
  ServiceRecorder rec;
  ZooKeeperWatcher watcher(source(), zk.factory());
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return s.size() == 2; }));
  // Never a half-read tree: the first call already has every instance.
  EXPECT_EQ(instanceCount(rec.last(), "service-provider"), 2u);
  EXPECT_EQ(instanceCount(rec.last(), "consumer"), 1u);
  EXPECT_TRUE(eventually([&] { return watcher.status().reachable; }));
  EXPECT_EQ(watcher.status().source, "zookeeper://127.0.0.1:2181");

  zk.create("/services/service-provider/d", record("10.0.0.4", 8070, "v2"));
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "service-provider") == 3; }));
  zk.remove("/services/service-provider/a");
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "service-provider") == 2; }));
  zk.set("/services/consumer/c", record("10.0.0.3", 9090));
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return hasInstancePort(s, "consumer", 9090); }));
  watcher.stop();
}

TEST(ZooKeeperWatcher, OutageKeepsTheLastViewAndReconnectRereadsEverything) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  ServiceRecorder rec;
  ZooKeeperWatcher watcher(source(), zk.factory());
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));
  size_t calls = rec.count();

  zk.disconnect();
  ASSERT_TRUE(eventually([&] { return !watcher.status().reachable; }));
  EXPECT_NE(watcher.status().last_error.find("connection lost"), std::string::npos);
  // Changes the watcher cannot see yet (the fake loses their events).
  zk.create("/services/p/b", record("10.0.0.2", 80));
  zk.create("/services/q/c", record("10.0.0.3", 80));
  EXPECT_EQ(rec.count(), calls);  // no call: the last view stays

  zk.reconnect();
  ASSERT_TRUE(rec.waitFor(
      [](const auto& s) { return instanceCount(s, "p") == 2 && instanceCount(s, "q") == 1; }));
  EXPECT_TRUE(eventually([&] { return watcher.status().reachable; }));
  EXPECT_EQ(zk.sessionsOpened(), 1);  // same session
  watcher.stop();
}

TEST(ZooKeeperWatcher, ExpiredSessionIsReplacedAndTheTreeReadAgain) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  ServiceRecorder rec;
  ZooKeeperWatcher watcher(source(), zk.factory());
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));

  zk.disconnect();
  zk.expireSessions();  // the expired session's watches are gone with it
  zk.reconnect();
  ASSERT_TRUE(eventually([&] { return zk.sessionsOpened() == 2; }));
  EXPECT_EQ(instanceCount(rec.last(), "p"), 1u);
  // The new session has watches of its own.
  zk.create("/services/p/b", record("10.0.0.2", 80));
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 2; }));
  watcher.stop();
}

TEST(ZooKeeperWatcher, ReadFailureWithoutASessionEventRecoversFromTheClientsOwnState) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  ServiceRecorder rec;
  WatcherOptions options;
  options.connect_timeout = 20ms;
  ZooKeeperWatcher watcher(source(), zk.factory(), options);
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));
  zk.failReads(1);
  zk.create("/services/p/b", record("10.0.0.2", 80));  // its read fails once
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 2; }));
  EXPECT_TRUE(eventually([&] { return watcher.status().reachable; }));
  watcher.stop();
}

TEST(ZooKeeperWatcher, SessionThatCannotBeCreatedIsRetriedWithBackoff) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  zk.failOpens(2);
  ServiceRecorder rec;
  WatcherOptions options;
  options.reopen_backoff = 10ms;
  ZooKeeperWatcher watcher(source(), zk.factory(), options);
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));
  EXPECT_EQ(zk.sessionsOpened(), 1);
  watcher.stop();
}

TEST(ZooKeeperWatcher, NoServerAnsweringIsReportedAfterTheConnectTimeout) {
  FakeZooKeeper zk;
  zk.disconnect();  // sessions open but never connect
  ServiceRecorder rec;
  WatcherOptions options;
  options.connect_timeout = 50ms;
  ZooKeeperWatcher watcher(source(), zk.factory(), options);
  watcher.start(rec.onChange());
  ASSERT_TRUE(eventually([&] { return !watcher.status().last_error.empty(); }));
  EXPECT_FALSE(watcher.status().reachable);
  EXPECT_NE(watcher.status().last_error.find("127.0.0.1:2181"), std::string::npos);
  EXPECT_EQ(rec.count(), 0u);
  zk.create("/services/p/a", record("10.0.0.1", 80));
  zk.reconnect();
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));
  watcher.stop();
}

TEST(ZooKeeperWatcher, RefreshNowRunsOnceTheChangesMadeBeforeItAreRouted) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  ServiceRecorder rec;
  ZooKeeperWatcher watcher(source(), zk.factory());
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](const auto& s) { return instanceCount(s, "p") == 1; }));

  zk.create("/services/p/b", record("10.0.0.2", 80));
  std::promise<size_t> seen;
  int reads = zk.reads();
  watcher.refreshNow([&] { seen.set_value(instanceCount(rec.last(), "p")); });
  auto future = seen.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(future.get(), 2u);       // on_change came first
  EXPECT_GE(zk.reads() - reads, 1);  // the barrier read

  // Not connected: nothing to read; `done` still runs (status() says why).
  zk.disconnect();
  ASSERT_TRUE(eventually([&] { return !watcher.status().reachable; }));
  std::promise<void> failed;
  watcher.refreshNow([&] { failed.set_value(); });
  EXPECT_EQ(failed.get_future().wait_for(5s), std::future_status::ready);
  watcher.stop();
}

TEST(ZooKeeperWatcher, StopInsideOnChangeAndNoCallAfterStop) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  std::atomic<int> calls{0};
  auto watcher = std::make_unique<ZooKeeperWatcher>(source(), zk.factory());
  ZooKeeperWatcher* raw = watcher.get();
  watcher->start([&](const std::vector<Service>&) {
    ++calls;
    raw->stop();
  });
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  zk.create("/services/p/b", record("10.0.0.2", 80));
  watcher.reset();
  // The detached thread closes its session on its way out (before `zk` may go).
  ASSERT_TRUE(eventually([&] { return zk.liveSessions() == 0; }));
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace sluice::registry::zookeeper
