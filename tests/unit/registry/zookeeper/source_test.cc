#include "registry/zookeeper/source.h"

#include <gtest/gtest.h>

namespace sluice::registry::zookeeper {
namespace {

TEST(ZooKeeperUrl, ParsesServersRootAndSessionTimeout) {
  auto plain = parseZooKeeperUrl("zookeeper://127.0.0.1:2181");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->connectString(), "127.0.0.1:2181");
  EXPECT_EQ(plain->root, "/services");
  EXPECT_EQ(plain->session_timeout_ms, 10000);

  auto full = parseZooKeeperUrl(
      "zookeeper://zk1,zk2:2182,[::1]:2183/discovery/prod/?sessionTimeoutMs=4000");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->connectString(), "zk1:2181,zk2:2182,[::1]:2183");
  EXPECT_EQ(full->root, "/discovery/prod");
  EXPECT_EQ(full->session_timeout_ms, 4000);

  EXPECT_EQ(parseZooKeeperUrl("zookeeper://h/")->root, "/services");
  EXPECT_EQ(parseZooKeeperUrl("ZooKeeper://h:1/spring//")->root, "/spring");
}

TEST(ZooKeeperUrl, RejectsOtherSchemesBadServersPathsAndParameters) {
  for (const char* bad : {"nacos://127.0.0.1:2181", "zookeeper://", "zookeeper:///services",
                          "zookeeper://h:0", "zookeeper://h:99999", "zookeeper://h,,k",
                          "zookeeper://h/a//b", "zookeeper://h/a/../b", "zookeeper://h?root=/x",
                          "zookeeper://h?sessionTimeoutMs=5", "zookeeper://h?sessionTimeoutMs=x"}) {
    auto r = parseZooKeeperUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace sluice::registry::zookeeper
