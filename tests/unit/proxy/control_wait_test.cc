// awaitControlPlane: `done` in time ends the wait early (true), no `done` lets it expire (false),
// a `done` that comes after the wait gave up is harmless. ExpiringKeys: forgotten at the
// deadline, bounded in count.
#include "proxy/control_wait.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <optional>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::optional<bool> waitOnce(asio::io_context& io, std::chrono::milliseconds max_wait,
                             std::function<void(std::function<void()>)> ask) {
  std::optional<bool> in_time;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> { in_time = co_await awaitControlPlane(io, max_wait, ask); },
      asio::detached);
  io.restart();
  io.run_for(5s);
  return in_time;
}

TEST(ControlWait, AnAnswerInTimeEndsTheWaitAtOnce) {
  asio::io_context io;
  auto started = Clock::now();
  auto in_time =
      waitOnce(io, 4s, [&](std::function<void()> done) { asio::post(io, std::move(done)); });
  ASSERT_TRUE(in_time.has_value());
  EXPECT_TRUE(*in_time);
  EXPECT_LT(Clock::now() - started, 3s);
}

TEST(ControlWait, NoAnswerExpiresAndALateAnswerIsHarmless) {
  asio::io_context io;
  std::function<void()> kept;
  auto started = Clock::now();
  auto in_time = waitOnce(io, 50ms, [&](std::function<void()> done) { kept = std::move(done); });
  ASSERT_TRUE(in_time.has_value());
  EXPECT_FALSE(*in_time);
  EXPECT_GE(Clock::now() - started, 50ms);
  ASSERT_TRUE(kept);
  kept();  // the waiting request is gone: the posted cancel finds no timer
  io.restart();
  EXPECT_EQ(io.poll(), 1u);
}

TEST(ExpiringKeys, AKeyIsForgottenAtItsDeadline) {
  ExpiringKeys keys(16);
  keys.remember("a", Clock::now() + 1h);
  keys.remember("b", Clock::now() - 1ms);
  EXPECT_TRUE(keys.contains("a"));
  EXPECT_FALSE(keys.contains("b"));
  EXPECT_FALSE(keys.contains("c"));
  EXPECT_EQ(keys.size(), 1u);  // "b" was dropped when it was looked at
}

TEST(ExpiringKeys, StaysBoundedDroppingExpiredKeysFirst) {
  ExpiringKeys keys(4);
  keys.remember("old", Clock::now() - 1ms);
  for (std::string k : {"k1", "k2", "k3"}) keys.remember(k, Clock::now() + 1h);
  keys.remember("k4", Clock::now() + 1h);  // full: the expired "old" makes room
  EXPECT_EQ(keys.size(), 4u);
  for (std::string k : {"k1", "k2", "k3", "k4"}) EXPECT_TRUE(keys.contains(k)) << k;
  keys.remember("k5", Clock::now() + 1h);  // full of live keys: all go, k5 stays
  EXPECT_LE(keys.size(), 4u);
  EXPECT_TRUE(keys.contains("k5"));
  keys.remember("k5", Clock::now() + 2h);  // re-remembering a present key never clears
  EXPECT_TRUE(keys.contains("k5"));
}

}  // namespace
}  // namespace sluice::proxy
