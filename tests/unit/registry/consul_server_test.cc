#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "registry/consul/catalog.h"
#include "registry/consul/server.h"
#include "registry/consul/watcher.h"
#include "testutil/eventually.h"
#include "testutil/io_thread.h"
#include "testutil/service_recorder.h"

namespace sluice::registry::consul {
namespace {

using namespace std::chrono_literals;
using testutil::eventually;
using testutil::ServiceRecorder;

class EmbeddedConsul {
 public:
  explicit EmbeddedConsul(std::string data_dir = "") {
    ServerOptions options;
    options.data_dir = std::move(data_dir);
    options.tick_ms = 20;
    server_ = std::make_unique<ConsulServer>(io_.io(), options);
    auto bound = server_->start(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().message;
    if (bound) address_ = *bound;
    io_.start();
  }
  ~EmbeddedConsul() {
    io_.stop([this] { server_->stop(); });
  }
  const net::HostPort& address() const { return address_; }
  http::Response call(const std::string& method, const std::string& path,
                      const std::string& body = "") {
    http::ClientRequest request;
    request.method = method;
    request.url = "http://" + address_.toString() + path;
    request.body = body;
    request.timeout = 10s;
    auto r = http::fetchBlocking(request);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : http::Response{};
  }

 private:
  testutil::IoThread io_;
  std::unique_ptr<ConsulServer> server_;
  net::HostPort address_;
};

uint64_t indexOf(const http::Response& r) {
  return std::stoull(std::string(r.head.headers.get("X-Consul-Index").value_or("0")));
}

TEST(ConsulServer, RegisterPassAndReadHealthAndCatalog) {
  EmbeddedConsul consul;
  auto reg = consul.call("PUT", "/v1/agent/service/register",
                         R"({"ID":"p1","Name":"prov","Address":"127.0.0.1","Port":9001,
                             "Meta":{"version":"v1"},"Check":{"TTL":"10s"}})");
  EXPECT_EQ(reg.head.status, 200);
  auto services = consul.call("GET", "/v1/catalog/services");
  EXPECT_EQ(services.head.status, 200);
  EXPECT_GE(indexOf(services), 1u);
  EXPECT_NE(services.body.find("\"prov\""), std::string::npos);
  EXPECT_EQ(consul.call("GET", "/v1/health/service/prov?passing=true").body, "[]")
      << "a new TTL check is critical";
  EXPECT_EQ(consul.call("PUT", "/v1/agent/check/pass/service:p1").head.status, 200);
  auto health = consul.call("GET", "/v1/health/service/prov?passing=true");
  auto parsed = parseHealthService(health.body);
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0].port, 9001);
  EXPECT_EQ((*parsed)[0].metadata.at("version"), "v1");
  EXPECT_NE(consul.call("GET", "/v1/catalog/service/prov").body.find("\"ServicePort\":9001"),
            std::string::npos);
  EXPECT_EQ(consul.call("GET", "/v1/status/leader").body, "\"127.0.0.1:8300\"");
  EXPECT_NE(consul.call("GET", "/v1/agent/self").body.find("\"Datacenter\":\"dc1\""),
            std::string::npos);
  EXPECT_EQ(consul.call("PUT", "/v1/agent/service/maintenance/p1?enable=true").head.status, 200);
  EXPECT_EQ(consul.call("GET", "/v1/health/service/prov?passing=true").body, "[]");
  EXPECT_EQ(consul.call("PUT", "/v1/agent/service/maintenance/p1?enable=false").head.status, 200);
  EXPECT_EQ(consul.call("PUT", "/v1/agent/service/deregister/p1").head.status, 200);
  EXPECT_EQ(consul.call("PUT", "/v1/agent/service/deregister/p1").head.status, 404);
}

TEST(ConsulServer, UnknownEndpointsAnswer404AndBadRegistrations400) {
  EmbeddedConsul consul;
  auto kv = consul.call("GET", "/v1/kv/config");
  EXPECT_EQ(kv.head.status, 404);
  EXPECT_NE(kv.body.find("/v1/kv/config"), std::string::npos);
  auto bad = consul.call("PUT", "/v1/agent/service/register", R"({"ID":"x"})");
  EXPECT_EQ(bad.head.status, 400);
  EXPECT_EQ(bad.body, "Missing service name\n");
  EXPECT_EQ(consul.call("GET", "/v1/catalog/services").body, R"({"consul":[]})");
  EXPECT_EQ(consul.call("PUT", "/v1/agent/check/pass/nope").head.status, 404);
  EXPECT_EQ(consul.call("GET", "/v1/catalog/services?dc=elsewhere").head.status, 500);
}

TEST(ConsulServer, BlockingQueryWaitsForAChangeOrTheWait) {
  EmbeddedConsul consul;
  auto first = consul.call("GET", "/v1/health/service/prov");
  uint64_t index = indexOf(first);
  auto t0 = std::chrono::steady_clock::now();
  auto timed_out =
      consul.call("GET", "/v1/health/service/prov?index=" + std::to_string(index) + "&wait=300ms");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 280ms);
  EXPECT_EQ(indexOf(timed_out), index);
  auto woken = std::async(std::launch::async, [&] {
    return consul.call("GET",
                       "/v1/health/service/prov?index=" + std::to_string(index) + "&wait=20s");
  });
  EXPECT_EQ(woken.wait_for(200ms), std::future_status::timeout);
  t0 = std::chrono::steady_clock::now();
  consul.call("PUT", "/v1/agent/service/register",
              R"({"ID":"p1","Name":"prov","Port":1,"Check":{"TTL":"10s","Status":"passing"}})");
  auto r = woken.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_GT(indexOf(r), index);
  EXPECT_NE(r.body.find("\"p1\""), std::string::npos);
}

TEST(ConsulServer, RunsHttpAndTcpChecksAndExpiresTtl) {
  asio::io_context app_io;
  std::atomic<int> health_status{200};
  http::Server app(app_io, [&](http::Request) -> asio::awaitable<http::Response> {
    co_return http::Response::text(health_status.load(), "ok");
  });
  auto app_addr = app.listen(net::HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(app_addr);
  std::thread app_thread([&] { app_io.run(); });
  {
    EmbeddedConsul consul;
    std::string url = "http://" + app_addr->toString() + "/actuator/health";
    ASSERT_EQ(consul
                  .call("PUT", "/v1/agent/service/register",
                        R"({"ID":"h","Name":"web","Port":1,"Checks":[{"HTTP":")" + url +
                            R"(","Interval":"100ms"},{"TCP":")" + app_addr->toString() +
                            R"(","Interval":"100ms"}]})")
                  .head.status,
              200);
    auto passing = [&] {
      return consul.call("GET", "/v1/health/service/web?passing").body != "[]";
    };
    EXPECT_TRUE(eventually(passing)) << "the server probes HTTP and TCP checks";
    health_status = 503;
    EXPECT_TRUE(eventually([&] { return !passing(); })) << "a 503 makes the HTTP check critical";
    // The TTL and the deregistration delay leave room for a stalled test thread (ASan under
    // load) between the calls; expiry plus deregistration (3 s) still fits eventually's 10 s.
    ASSERT_EQ(consul
                  .call("PUT", "/v1/agent/service/register",
                        R"({"ID":"t","Name":"ttl","Port":1,"Check":{"TTL":"2s",
                            "DeregisterCriticalServiceAfter":"1s"}})")
                  .head.status,
              200);
    consul.call("PUT", "/v1/agent/check/pass/service:t");
    EXPECT_NE(consul.call("GET", "/v1/health/service/ttl?passing").body, "[]");
    EXPECT_TRUE(eventually(
        [&] {
          return consul.call("GET", "/v1/catalog/services").body.find("\"ttl\"") ==
                 std::string::npos;
        },
        std::chrono::seconds(10)))
        << "TTL expiry then DeregisterCriticalServiceAfter removes the service";
  }
  app.stop();
  app_io.stop();
  app_thread.join();
}

TEST(ConsulServer, CatalogSurvivesARestart) {
  auto dir = std::filesystem::temp_directory_path() /
             ("consul-test-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
  {
    EmbeddedConsul consul(dir.string());
    consul.call("PUT", "/v1/agent/service/register",
                R"({"ID":"p1","Name":"prov","Port":9,"Meta":{"version":"v2"}})");
  }
  {
    EmbeddedConsul consul(dir.string());
    EXPECT_NE(consul.call("GET", "/v1/health/service/prov").body.find("\"version\":\"v2\""),
              std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

// ---- the watcher ----

TEST(ConsulUrl, ParsesAndRejects) {
  auto u = parseConsulUrl("consul://127.0.0.1:8501?dc=east&token=secret&wait=2s");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->server.port, 8501);
  EXPECT_EQ(u->dc, "east");
  EXPECT_EQ(u->token, "secret");
  EXPECT_EQ(u->wait, 2s);
  EXPECT_EQ(parseConsulUrl("consul://h")->server.port, 8500);
  for (const char* bad :
       {"eureka://h", "consul://h:1?tokn=x", "consul://h:1?wait=forever", "consul://h:1/v1"}) {
    auto r = parseConsulUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(ConsulHealthParse, AddressFallbackTagsAndMetaBecomeLabels) {
  auto parsed = parseHealthService(R"([
    {"Node":{"Address":"10.0.0.5"},"Service":{"ID":"a","Address":"","Port":80,
      "Tags":["version=v1","plain"],"Meta":{"zone":"z1"}},"Checks":[{"Status":"passing"}]},
    {"Node":{"Address":"10.0.0.5"},"Service":{"ID":"b","Address":"10.0.0.6","Port":81,
      "Tags":["version=v1"],"Meta":{"version":"v2"}},"Checks":[{"Status":"warning"}]}])");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].ip, "10.0.0.5");
  EXPECT_EQ((*parsed)[0].metadata.at("version"), "v1");
  EXPECT_EQ((*parsed)[0].metadata.at("zone"), "z1");
  EXPECT_EQ((*parsed)[0].metadata.count("plain"), 0u);
  EXPECT_TRUE((*parsed)[0].healthy);
  EXPECT_EQ((*parsed)[1].metadata.at("version"), "v2") << "Meta wins over tags";
  EXPECT_FALSE((*parsed)[1].healthy);
  EXPECT_FALSE(parseHealthService("{}"));
  EXPECT_FALSE(parseHealthService(R"([{"Service":{"Port":"x"}}])"));
}

TEST(ConsulWatcher, FollowsRegistrationsHealthAndDeregistrationQuickly) {
  EmbeddedConsul consul;
  auto source = parseConsulUrl("consul://" + consul.address().toString() + "?token=t0k");
  ASSERT_TRUE(source);
  ConsulWatcher watcher(*source);
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  EXPECT_TRUE(rec.waitFor([](const auto& s) { return s.empty(); })) << "first read, even empty";
  EXPECT_TRUE(watcher.status().reachable);
  consul.call("PUT", "/v1/agent/service/register",
              R"({"ID":"p1","Name":"prov","Address":"127.0.0.1","Port":9001,
                  "Meta":{"version":"v1"},"Check":{"TTL":"10s"}})");
  EXPECT_TRUE(rec.waitFor([](const auto& s) { return s.size() == 1 && s[0].instances.empty(); }))
      << "critical instances are not listed";
  auto t0 = std::chrono::steady_clock::now();
  consul.call("PUT", "/v1/agent/check/pass/service:p1");
  EXPECT_TRUE(rec.waitFor([](const auto& s) {
    return s.size() == 1 && s[0].instances.size() == 1 &&
           s[0].instances[0].metadata.count("version") == 1;
  }));
  // The blocking query waits up to 60 s (the URL's default `wait`): waking within 3 s shows the
  // change ended it, with room for a loaded sanitizer run.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s) << "a blocking query wakes at once";
  consul.call("PUT", "/v1/agent/service/deregister/p1");
  EXPECT_TRUE(rec.waitFor([](const auto& s) { return s.empty(); }));
  std::promise<void> refreshed;
  watcher.refreshNow([&] { refreshed.set_value(); });
  EXPECT_EQ(refreshed.get_future().wait_for(5s), std::future_status::ready);
  watcher.stop();
}

// With an interest only the wanted services get a health watch and are reported; a new interest
// re-reads the last catalog at once (the catalog's blocking query may wait for minutes).
TEST(ConsulWatcher, OnlyWantedServicesAreWatchedAndReported) {
  EmbeddedConsul consul;
  consul.call("PUT", "/v1/agent/service/register",
              R"({"ID":"w1","Name":"wanted","Address":"127.0.0.1","Port":9001})");
  consul.call("PUT", "/v1/agent/service/register",
              R"({"ID":"o1","Name":"other","Address":"127.0.0.1","Port":9002})");
  auto source = parseConsulUrl("consul://" + consul.address().toString());
  ASSERT_TRUE(source);
  ConsulWatcher watcher(*source);
  Interest interest;
  interest.all = false;
  interest.names = {"wanted"};
  watcher.setInterest(interest);
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  EXPECT_TRUE(rec.waitFor([](const auto& s) {
    return s.size() == 1 && s[0].name == "wanted" && s[0].instances.size() == 1;
  }));
  watcher.setInterest(Interest{});
  EXPECT_TRUE(rec.waitFor([](const auto& s) { return s.size() == 2; }, 2s));
  interest.names = {"other"};
  watcher.setInterest(interest);
  EXPECT_TRUE(rec.waitFor([](const auto& s) { return s.size() == 1 && s[0].name == "other"; }, 2s));
  watcher.stop();
}

TEST(ConsulWatcher, MalformedAnswersKeepTheLastGoodViewAndShowInStatus) {
  asio::io_context io;
  std::atomic<bool> broken{false};
  std::atomic<int> index{5};
  http::Server fake(io, [&](http::Request req) -> asio::awaitable<http::Response> {
    http::Response r;
    if (req.head.target.find("/v1/catalog/services") == 0) {
      r = http::Response::json(200, R"({"consul":[],"prov":[]})");
    } else if (broken) {
      r = http::Response::json(200, "[{not json");
    } else {
      r = http::Response::json(
          200, R"([{"Node":{"Address":"127.0.0.1"},"Service":{"ID":"a","Port":80,"Meta":{}}}])");
    }
    r.head.headers.set("X-Consul-Index", std::to_string(index.load()));
    co_return r;
  });
  auto addr = fake.listen(net::HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(addr);
  std::thread t([&] { io.run(); });
  {
    auto source = parseConsulUrl("consul://" + addr->toString());
    ASSERT_TRUE(source);
    ConsulWatcher watcher(*source);
    ServiceRecorder rec;
    watcher.start(rec.onChange());
    EXPECT_TRUE(
        rec.waitFor([](const auto& s) { return s.size() == 1 && s[0].instances.size() == 1; }));
    size_t calls = rec.count();
    broken = true;
    index = 3;  // backwards: the watcher resets its index and reads again
    EXPECT_TRUE(eventually([&] { return !watcher.status().reachable; }));
    EXPECT_NE(watcher.status().last_error.find("not JSON"), std::string::npos)
        << watcher.status().last_error;
    EXPECT_EQ(rec.count(), calls) << "the last good view stays";
    broken = false;
    EXPECT_TRUE(eventually([&] { return watcher.status().reachable; }));
    watcher.stop();
  }
  fake.stop();
  io.stop();
  t.join();
}

}  // namespace
}  // namespace sluice::registry::consul
