#include "proxy/overload.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <memory>
#include <vector>

namespace sluice::proxy {
namespace {

struct Conn {
  explicit Conn(asio::io_context& io) : socket(opened(io)), entry(socket) {}
  static asio::ip::tcp::socket opened(asio::io_context& io) {
    asio::ip::tcp::socket s(io);
    s.open(asio::ip::tcp::v4());
    return s;
  }
  ByteStream socket;
  IdleConnections::Entry entry;
};

TEST(IdleConnectionsTest, ClosesTheOldestIdleFirst) {
  asio::io_context io;
  IdleConnections idle;
  std::vector<std::unique_ptr<Conn>> c;
  for (int i = 0; i < 5; ++i) c.push_back(std::make_unique<Conn>(io));
  for (auto& x : c) idle.add(x->entry);
  // Connection 0 served a request and went idle again: now the newest.
  idle.remove(c[0]->entry);
  idle.add(c[0]->entry);
  EXPECT_EQ(idle.size(), 5u);

  EXPECT_EQ(idle.closeOldest(2), 2u);
  EXPECT_FALSE(c[1]->socket.is_open());
  EXPECT_FALSE(c[2]->socket.is_open());
  EXPECT_TRUE(c[3]->socket.is_open());
  EXPECT_TRUE(c[0]->socket.is_open());
  EXPECT_FALSE(c[1]->entry.linked());
  EXPECT_EQ(idle.size(), 3u);

  EXPECT_EQ(idle.closeOldest(10), 3u);
  EXPECT_FALSE(c[0]->socket.is_open());
  EXPECT_EQ(idle.size(), 0u);
  EXPECT_EQ(idle.closeOldest(1), 0u);
}

TEST(IdleConnectionsTest, AnEntryLeavesTheListWhenItsConnectionEnds) {
  asio::io_context io;
  IdleConnections idle;
  auto a = std::make_unique<Conn>(io);
  auto b = std::make_unique<Conn>(io);
  idle.add(a->entry);
  idle.add(b->entry);
  idle.add(b->entry);  // twice: still once
  EXPECT_EQ(idle.size(), 2u);
  a.reset();
  EXPECT_EQ(idle.size(), 1u);
  b->entry.unlink();
  b->entry.unlink();
  EXPECT_EQ(idle.size(), 0u);
  EXPECT_EQ(idle.closeOldest(1), 0u);
  EXPECT_TRUE(b->socket.is_open());
}

TEST(HeapOverloadTest, ActiveFromTheCapUntilBelowTheRecoveryLevel) {
  HeapOverload h(1000);
  EXPECT_EQ(h.update(999), HeapOverload::Change::kNone);
  EXPECT_FALSE(h.active());
  EXPECT_EQ(h.update(1000), HeapOverload::Change::kActivated);
  EXPECT_TRUE(h.active());
  EXPECT_EQ(h.update(960), HeapOverload::Change::kNone);  // under the cap, not under 95%
  EXPECT_TRUE(h.active());
  EXPECT_EQ(h.update(949), HeapOverload::Change::kDeactivated);
  EXPECT_FALSE(h.active());
  EXPECT_EQ(h.update(2000), HeapOverload::Change::kActivated);
  EXPECT_EQ(h.activations(), 2u);
  EXPECT_EQ(h.lastBytes(), 2000u);
}

TEST(HeapOverloadTest, NoCapNeverActivates) {
  HeapOverload h(0);
  EXPECT_EQ(h.update(uint64_t{1} << 40), HeapOverload::Change::kNone);
  EXPECT_FALSE(h.active());
}

TEST(HeapBytesInUseTest, SeesALiveAllocation) {
  const uint64_t before = heapBytesInUse();
  auto block = std::make_unique<char[]>(8 << 20);
  block[0] = 1;
  EXPECT_GE(heapBytesInUse(), before + (8 << 20) / 2);
  block.reset();
  EXPECT_LT(heapBytesInUse(), before + (8 << 20) / 2);
}

}  // namespace
}  // namespace sluice::proxy
