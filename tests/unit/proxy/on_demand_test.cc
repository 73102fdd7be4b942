// OnDemandLoader: one bounded wait per unknown host, a host still unknown afterwards is
// remembered as absent (no second ask within absent_for), a found one is not, and the negative
// cache stays bounded.
#include "proxy/on_demand.h"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <optional>
#include <set>

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::optional<bool> waited;
  std::chrono::steady_clock::duration took{};
};

Outcome runOne(asio::io_context& io, OnDemandLoader& l, const std::string& host,
               std::function<bool()> known) {
  Outcome out;
  auto started = std::chrono::steady_clock::now();
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out.waited = co_await l.load(host, known);
        out.took = std::chrono::steady_clock::now() - started;
      },
      asio::detached);
  io.restart();
  io.run_for(5s);
  return out;
}

TEST(OnDemandLoader, AnAbsentHostIsAskedOnceThenRememberedAsAbsent) {
  asio::io_context io;
  std::vector<std::string> asked;
  OnDemandLoader::Options options;
  options.max_wait = 5s;  // `done` must end the wait long before this
  options.load = [&](std::string host, std::function<void()> done) {
    asked.push_back(host);
    asio::post(io, std::move(done));
  };
  OnDemandLoader l(io, options);
  auto first = runOne(io, l, "www.example.com", [] { return false; });
  ASSERT_TRUE(first.waited.has_value());
  EXPECT_TRUE(*first.waited);
  EXPECT_LT(first.took, 4s);
  EXPECT_EQ(asked, std::vector<std::string>{"www.example.com"});
  EXPECT_TRUE(l.rememberedAbsent("www.example.com"));

  auto again = runOne(io, l, "www.example.com", [] { return false; });
  EXPECT_FALSE(*again.waited) << "within absent_for: answered at once";
  EXPECT_EQ(asked.size(), 1u);
}

TEST(OnDemandLoader, AFoundHostIsNotRememberedAsAbsent) {
  asio::io_context io;
  int asked = 0;
  bool loaded = false;
  OnDemandLoader::Options options;
  options.load = [&](std::string, std::function<void()> done) {
    ++asked;
    loaded = true;  // control published the snapshot that has it
    asio::post(io, std::move(done));
  };
  OnDemandLoader l(io, options);
  EXPECT_TRUE(*runOne(io, l, "service-provider", [&] { return loaded; }).waited);
  EXPECT_FALSE(l.rememberedAbsent("service-provider"));
  EXPECT_EQ(l.absentCount(), 0u);
}

TEST(OnDemandLoader, ALoadThatNeverAnswersIsBoundedByMaxWait) {
  asio::io_context io;
  std::function<void()> kept;
  OnDemandLoader::Options options;
  options.max_wait = 50ms;
  options.load = [&](std::string, std::function<void()> done) { kept = std::move(done); };
  OnDemandLoader l(io, options);
  auto out = runOne(io, l, "slow", [] { return false; });
  EXPECT_TRUE(*out.waited);
  EXPECT_GE(out.took, 50ms);
  EXPECT_EQ(l.timeouts(), 1u);
  ASSERT_TRUE(kept);
  kept();  // a late answer after the request gave up is harmless
  io.restart();
  io.run_for(10ms);
}

TEST(OnDemandLoader, TheNegativeCacheIsBounded) {
  asio::io_context io;
  OnDemandLoader::Options options;
  options.max_absent = 8;
  options.load = [&](std::string, std::function<void()> done) { asio::post(io, std::move(done)); };
  OnDemandLoader l(io, options);
  for (int i = 0; i < 20; ++i) {
    runOne(io, l, "external-" + std::to_string(i) + ".example.com", [] { return false; });
    EXPECT_LE(l.absentCount(), 8u);
  }
  EXPECT_EQ(l.loads(), 20u);
}

TEST(OnDemandLoader, DisabledWithoutACallbackOrWithZeroWait) {
  asio::io_context io;
  OnDemandLoader none(io, {});
  EXPECT_FALSE(none.enabled());
  EXPECT_FALSE(*runOne(io, none, "x", [] { return false; }).waited);
  OnDemandLoader::Options zero;
  zero.load = [](std::string, std::function<void()> done) { done(); };
  zero.max_wait = 0ms;
  OnDemandLoader off(io, zero);
  EXPECT_FALSE(off.enabled());
}

}  // namespace
}  // namespace sluice::proxy
