// RegistryRefresher: one bounded wait per unknown address, then a quiet window for that address.
#include "proxy/registry_refresh.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <optional>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::optional<bool> refreshed;
  std::chrono::steady_clock::duration took{};
};

Outcome runOne(asio::io_context& io, RegistryRefresher& r, const std::string& address) {
  Outcome out;
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out.refreshed = co_await r.refreshFor(address);
        out.took = std::chrono::steady_clock::now() - started;
      },
      asio::detached);
  io.restart();
  io.run_for(5s);
  return out;
}

TEST(RegistryRefresher, WaitsUntilDoneThenNotAgainForTheSameAddress) {
  asio::io_context io;
  int asked = 0;
  RegistryRefresher::Options options;
  options.max_wait = 5s;  // `done` must end the wait long before this
  options.refresh = [&](std::function<void()> done) {
    ++asked;
    asio::post(io, std::move(done));  // answered a moment later, as control does
  };
  RegistryRefresher r(io, options);
  auto first = runOne(io, r, "10.0.0.9:8070");
  ASSERT_TRUE(first.refreshed.has_value());
  EXPECT_TRUE(*first.refreshed);
  EXPECT_LT(first.took, 4s);
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(r.timeouts(), 0u);

  auto again = runOne(io, r, "10.0.0.9:8070");
  EXPECT_FALSE(*again.refreshed);  // within retry_after: no second registry read
  EXPECT_EQ(asked, 1);
  EXPECT_TRUE(*runOne(io, r, "10.0.0.10:8070").refreshed);  // another address is asked about
  EXPECT_EQ(asked, 2);
}

TEST(RegistryRefresher, ARefreshThatNeverAnswersIsBoundedByMaxWait) {
  asio::io_context io;
  std::function<void()> kept;  // never called while the request waits
  RegistryRefresher::Options options;
  options.max_wait = 50ms;
  options.refresh = [&](std::function<void()> done) { kept = std::move(done); };
  RegistryRefresher r(io, options);
  auto out = runOne(io, r, "10.0.0.9:8070");
  EXPECT_TRUE(*out.refreshed);
  EXPECT_GE(out.took, 50ms);
  EXPECT_EQ(r.timeouts(), 1u);
  // A late answer after the request gave up is harmless.
  ASSERT_TRUE(kept);
  kept();
  io.restart();
  io.run_for(10ms);
}

TEST(RegistryRefresher, DisabledWithoutACallbackOrWithZeroWait) {
  asio::io_context io;
  RegistryRefresher none(io, RegistryRefresher::Options{});
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(*runOne(io, none, "10.0.0.9:8070").refreshed);
  RegistryRefresher::Options zero;
  zero.refresh = [](std::function<void()> done) { done(); };
  zero.max_wait = 0ms;
  RegistryRefresher off(io, zero);
  EXPECT_FALSE(off.enabled());
}

}  // namespace
}  // namespace sluice::proxy
