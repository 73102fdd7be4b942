#include "registry/zookeeper/tree_mirror.h"

#include <gtest/gtest.h>

#include "fake_zookeeper.h"

namespace sluice::registry::zookeeper {
namespace {

using testing::FakeZooKeeper;

std::string record(const std::string& ip, int port, const std::string& label = "") {
  std::string metadata = label.empty() ? "" : R"(,"metadata":{"label":")" + label + "\"}";
  return fmt::format(R"({{"address":"{}","port":{},"payload":{{"@class":"x"{}}}}})", ip, port,
                     metadata);
}

// One session on a fake server, its events fed to the mirror by hand (no threads).
class MirrorHarness {
 public:
  explicit MirrorHarness(FakeZooKeeper& zk, std::string root = "/services")
      : mirror_(std::move(root), "zookeeper://test") {
    auto opened = zk.factory()(ZooKeeperSource{}, [this](ZkEvent e) { events_.push_back(e); });
    session_ = std::move(*opened);
  }
  // Handles the queued events and reads until done; returns what the last sync said.
  ZkStatus pump() {
    ZkStatus status = ZkStatus::kOk;
    for (int round = 0; round < 10; ++round) {
      auto events = std::move(events_);
      events_.clear();
      for (const auto& e : events) {
        if (e.kind == ZkEvent::Kind::kConnected) {
          mirror_.resyncAll();
        } else if (e.kind != ZkEvent::Kind::kDisconnected && e.kind != ZkEvent::Kind::kExpired) {
          mirror_.onNodeEvent(e);
        }
      }
      status = mirror_.sync(*session_);
      if (status != ZkStatus::kOk || events_.empty()) break;
    }
    return status;
  }
  TreeMirror& mirror() { return mirror_; }
  std::vector<ZkEvent>& events() { return events_; }

 private:
  TreeMirror mirror_;
  std::vector<ZkEvent> events_;
  std::unique_ptr<ZkSession> session_;
};

std::vector<std::string> endpoints(const std::vector<Service>& services) {
  std::vector<std::string> out;
  for (const auto& s : services) {
    for (const auto& i : s.instances) {
      out.push_back(fmt::format("{} {}:{}{}", s.name, i.ip, i.port,
                                i.metadata.contains("label") ? " " + i.metadata.at("label") : ""));
    }
    if (s.instances.empty()) out.push_back(s.name + " (none)");
  }
  return out;
}

TEST(TreeMirror, FirstReadMirrorsEveryServiceAndInstance) {
  FakeZooKeeper zk;
  zk.create("/services/service-provider/a", record("10.0.0.2", 8070, "v2"));
  zk.create("/services/service-provider/b", record("10.0.0.1", 8070, "v1"));
  zk.create("/services/consumer/c", record("10.0.0.3", 8080));
  zk.create("/other/x/y", record("10.9.9.9", 1));
  MirrorHarness h(zk);
  EXPECT_FALSE(h.mirror().complete());
  ASSERT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_TRUE(h.mirror().complete());
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"consumer 10.0.0.3:8080", "service-provider 10.0.0.1:8070 v1",
                                      "service-provider 10.0.0.2:8070 v2"}));
}

// A Sidecar naming one service: only its znodes are read (and watched); widening the interest
// reads the others, narrowing drops them at once.
TEST(TreeMirror, OnlyWantedServicesAreReadAndKept) {
  FakeZooKeeper zk;
  zk.create("/services/wanted/a", record("10.0.0.1", 80));
  for (int i = 0; i < 20; ++i)
    zk.create(fmt::format("/services/other{}/a", i), record("10.0.1.1", 80));
  MirrorHarness h(zk);
  Interest interest;
  interest.all = false;
  interest.names = {"wanted"};
  h.mirror().setInterest(interest);
  const int before = zk.reads();
  ASSERT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_TRUE(h.mirror().complete());
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"wanted 10.0.0.1:80"}));
  EXPECT_LE(zk.reads() - before, 4);  // the root, the service, its instance (not 20 others)
  zk.create("/services/other0/b", record("10.0.1.2", 80));  // no watch there: no read
  EXPECT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_EQ(h.mirror().services().size(), 1u);

  interest.names = {"wanted", "other3"};
  h.mirror().setInterest(interest);
  ASSERT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"other3 10.0.1.1:80", "wanted 10.0.0.1:80"}));
  interest.names = {"other3"};
  h.mirror().setInterest(interest);
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"other3 10.0.1.1:80"}));
}

TEST(TreeMirror, WatchesFollowCreateChangeAndDelete) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80, "v1"));
  MirrorHarness h(zk);
  h.pump();
  zk.create("/services/p/b", record("10.0.0.2", 80, "v2"));
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.1:80 v1", "p 10.0.0.2:80 v2"}));
  zk.set("/services/p/a", record("10.0.0.1", 81, "v3"));
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.1:81 v3", "p 10.0.0.2:80 v2"}));
  zk.create("/services/q/z", record("10.0.1.1", 90));
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.1:81 v3", "p 10.0.0.2:80 v2", "q 10.0.1.1:90"}));
  zk.remove("/services/p/b");
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.1:81 v3", "q 10.0.1.1:90"}));
  zk.remove("/services/q");
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.1:81 v3"}));
  zk.remove("/services/p/a");
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p (none)"}));
}

TEST(TreeMirror, BadPayloadIsSkippedAndTheRestKeepsRouting) {
  FakeZooKeeper zk;
  zk.create("/services/p/good", record("10.0.0.1", 80));
  zk.create("/services/p/not-json", "10.0.0.2:80");
  zk.create("/services/p/no-port", R"({"address":"10.0.0.3"})");
  MirrorHarness h(zk);
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.1:80"}));
  // Fixing the data brings it in; breaking the good one takes only that one out.
  zk.set("/services/p/not-json", record("10.0.0.2", 80));
  zk.set("/services/p/good", "{");
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.2:80"}));
}

TEST(TreeMirror, MissingRootIsEmptyUntilCreated) {
  FakeZooKeeper zk;
  MirrorHarness h(zk);
  ASSERT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_TRUE(h.mirror().complete());
  EXPECT_TRUE(h.mirror().services().empty());
  zk.create("/services/p/a", record("10.0.0.1", 80));
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.1:80"}));
  zk.remove("/services");
  h.pump();
  EXPECT_TRUE(h.mirror().services().empty());
  zk.create("/services/p/b", record("10.0.0.2", 80));
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.2:80"}));
}

TEST(TreeMirror, CustomAndTopLevelRoots) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  zk.create("/discovery/prod/p/a", record("10.0.0.9", 80));
  MirrorHarness custom(zk, "/discovery/prod");
  custom.pump();
  EXPECT_EQ(endpoints(custom.mirror().services()), (std::vector<std::string>{"p 10.0.0.9:80"}));
  // A sibling of the root that shares its prefix is not below it.
  zk.create("/discovery/prod2/q/a", record("10.0.0.8", 80));
  custom.mirror().onNodeEvent(ZkEvent{ZkEvent::Kind::kChildrenChanged, "/discovery/prod2/q"});
  EXPECT_FALSE(custom.mirror().hasWork());

  FakeZooKeeper top;
  top.create("/p/a", record("10.0.0.7", 80));
  MirrorHarness slash(top, "/");
  slash.pump();
  EXPECT_EQ(endpoints(slash.mirror().services()), (std::vector<std::string>{"p 10.0.0.7:80"}));
  top.create("/p/b", record("10.0.0.6", 80));
  slash.pump();
  EXPECT_EQ(endpoints(slash.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.6:80", "p 10.0.0.7:80"}));
}

TEST(TreeMirror, DuplicateAddressCountsOnceAndTheNewerRegistrationWins) {
  FakeZooKeeper zk;
  zk.create("/services/p/old", record("10.0.0.1", 80, "v1"));
  zk.create("/services/p/new", record("10.0.0.1", 80, "v2"));
  MirrorHarness h(zk);
  h.pump();
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.1:80 v2"}));
}

TEST(TreeMirror, ConnectionLossKeepsTheViewAndTheResyncFindsWhatChangedMeanwhile) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  zk.create("/services/p/b", record("10.0.0.2", 80));
  MirrorHarness h(zk);
  h.pump();
  zk.disconnect();
  zk.remove("/services/p/a");
  zk.set("/services/p/b", record("10.0.0.2", 81));
  zk.create("/services/q/c", record("10.0.0.3", 80));
  h.mirror().resyncAll();  // as if something asked for a read while disconnected
  EXPECT_EQ(h.pump(), ZkStatus::kConnectionLoss);
  EXPECT_TRUE(h.mirror().hasWork());
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.1:80", "p 10.0.0.2:80"}));
  zk.reconnect();
  ASSERT_EQ(h.pump(), ZkStatus::kOk);
  EXPECT_EQ(endpoints(h.mirror().services()),
            (std::vector<std::string>{"p 10.0.0.2:81", "q 10.0.0.3:80"}));
}

TEST(TreeMirror, ResyncReReadsDataButIdenticalDataIsNoChange) {
  FakeZooKeeper zk;
  zk.create("/services/p/a", record("10.0.0.1", 80));
  MirrorHarness h(zk);
  h.pump();
  int before = zk.reads();
  h.mirror().resyncAll();
  h.pump();
  EXPECT_EQ(zk.reads() - before, 3);  // root, service, instance
  EXPECT_EQ(endpoints(h.mirror().services()), (std::vector<std::string>{"p 10.0.0.1:80"}));
}

TEST(TreeMirror, EventsBelowInstancesAndOnServiceDataAreIgnored) {
  TreeMirror mirror("/services", "zookeeper://test");
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kChildrenChanged, "/services/p/a"});
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kDataChanged, "/services/p/a/deeper"});
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kDataChanged, "/services/p"});
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kDataChanged, "/services"});
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kChildrenChanged, "/elsewhere"});
  EXPECT_FALSE(mirror.hasWork());
  mirror.onNodeEvent(ZkEvent{ZkEvent::Kind::kDataChanged, "/services/p/a"});
  EXPECT_TRUE(mirror.hasWork());
}

}  // namespace
}  // namespace sluice::registry::zookeeper
