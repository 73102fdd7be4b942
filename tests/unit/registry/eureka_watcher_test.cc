#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/registry_server.h"
#include "registry/eureka/watcher.h"
#include "testutil/eventually.h"
#include "testutil/io_thread.h"
#include "testutil/service_recorder.h"

namespace sluice::registry::eureka {
namespace {

using namespace std::chrono_literals;
using testutil::eventually;
using testutil::healthyCount;
using testutil::ServiceRecorder;

TEST(EurekaUrl, ParsesHostPortPathAndOptions) {
  auto plain = parseEurekaUrl("eureka://127.0.0.1:8761");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->server.toString(), "127.0.0.1:8761");
  EXPECT_EQ(plain->path, "/eureka");
  EXPECT_TRUE(plain->options.use_delta);
  EXPECT_LE(plain->options.poll_interval, 500ms);
  EXPECT_EQ(parseEurekaUrl("eureka://h")->server.port, 8761);
  EXPECT_EQ(parseEurekaUrl("eureka://h:1/eureka/")->path, "/eureka");
  EXPECT_EQ(parseEurekaUrl("eureka://h:1/eureka/v2")->path, "/eureka/v2");
  EXPECT_EQ(parseEurekaUrl("eureka://h:1/eureka/apps/")->path, "/eureka");
  auto tuned = parseEurekaUrl("eureka://h:1?poll_interval_ms=50&delta=false");
  ASSERT_TRUE(tuned) << tuned.error().message;
  EXPECT_EQ(tuned->options.poll_interval, 50ms);
  EXPECT_FALSE(tuned->options.use_delta);
}

TEST(EurekaUrl, RejectsOtherSchemesBadPortsAndUnknownParameters) {
  for (const char* bad : {"nacos://h:1", "eureka://", "eureka://h:99999", "eureka://h:1?poll=5",
                          "eureka://h:1?poll_interval_ms=0", "eureka://h:1?delta=maybe"}) {
    auto r = parseEurekaUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(EurekaToServices, LowerCasesNamesLabelsWithMetadataAndOnlyUpIsHealthy) {
  EurekaInstance up;
  up.instance_id = "1";
  up.ip_addr = "127.0.0.11";
  up.host_name = "provider-1";
  up.port = 8070;
  up.metadata = {{"version", "v1"}};
  EurekaInstance out = up;
  out.instance_id = "2";
  out.ip_addr = "127.0.0.12";
  out.status = InstanceStatus::kOutOfService;
  EurekaInstance secure_only = up;
  secure_only.instance_id = "3";
  secure_only.ip_addr = "127.0.0.13";
  secure_only.port_enabled = false;
  secure_only.secure_port_enabled = true;
  secure_only.secure_port = 8443;
  EurekaInstance no_port = up;
  no_port.instance_id = "4";
  no_port.port_enabled = false;
  auto services = toServices({{"SERVICE-PROVIDER", {out, up, secure_only, no_port}}});
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].name, "service-provider");
  ASSERT_EQ(services[0].instances.size(), 3u);
  EXPECT_EQ(services[0].instances[0].ip, "127.0.0.11");
  EXPECT_TRUE(services[0].instances[0].healthy);
  EXPECT_EQ(services[0].instances[0].metadata.at("version"), "v1");
  EXPECT_FALSE(services[0].instances[1].healthy);
  EXPECT_EQ(services[0].instances[2].port, 8443);
}

// The full fetch cannot be narrowed, but only the wanted applications become services
// (case-insensitively: Eureka upper-cases application names).
TEST(EurekaToServices, OnlyWantedApplicationsBecomeServices) {
  EurekaInstance up;
  up.instance_id = "1";
  up.ip_addr = "127.0.0.11";
  up.port = 8070;
  Interest interest;
  interest.all = false;
  interest.names = {"service-provider"};
  auto services =
      toServices({{"SERVICE-PROVIDER", {up}}, {"CONSUMER", {up}}, {"OTHER", {up}}}, interest);
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].name, "service-provider");
  EXPECT_EQ(toServices({{"SERVICE-PROVIDER", {up}}, {"CONSUMER", {up}}}).size(), 2u);
}

class EmbeddedEureka {
 public:
  EmbeddedEureka() : server_(io_.io()) {
    auto bound = server_.start(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().message;
    address_ = *bound;
    io_.start();
  }
  ~EmbeddedEureka() {
    io_.stop([this] { server_.stop(); });
  }
  const net::HostPort& address() const { return address_; }
  int call(const std::string& method, const std::string& path, const std::string& body = "") {
    http::ClientRequest request;
    request.method = method;
    request.url = "http://" + address_.toString() + path;
    request.body = body;
    if (!body.empty()) request.headers.set("Content-Type", "application/json");
    auto r = http::fetchBlocking(request);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->head.status : 0;
  }
  void registerInstance(const std::string& app, const std::string& id, const std::string& ip,
                        const std::string& version) {
    EurekaInstance i;
    i.app = app;
    i.instance_id = id;
    i.host_name = ip;
    i.ip_addr = ip;
    i.port = 8070;
    i.metadata = {{"version", version}};
    ASSERT_EQ(call("POST", "/eureka/apps/" + app, encodeInstance(i, Format::kJson)), 204);
  }

 private:
  testutil::IoThread io_;
  RegistryServer server_;
  net::HostPort address_;
};

EurekaSource sourceFor(const net::HostPort& address) {
  auto source = parseEurekaUrl("eureka://" + address.toString() + "/eureka?poll_interval_ms=30");
  EXPECT_TRUE(source);
  source->options.max_backoff = 100ms;
  source->options.request_timeout = 1000ms;
  return *source;
}

TEST(EurekaWatcher, FullFetchThenDeltasFollowRegisterOverrideAndCancel) {
  EmbeddedEureka eureka;
  eureka.registerInstance("SERVICE-PROVIDER", "v1", "127.0.0.11", "v1");
  eureka.registerInstance("SERVICE-PROVIDER", "v2", "127.0.0.12", "v2");
  EurekaWatcher watcher(sourceFor(eureka.address()));
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 2; }));
  EXPECT_EQ(rec.last()[0].instances[0].metadata.at("version"), "v1");
  ASSERT_TRUE(eventually([&] { return watcher.counters().delta_fetches >= 2; }));

  eureka.registerInstance("SERVICE-CONSUMER", "c1", "127.0.0.20", "v1");
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-consumer") == 1; }));
  ASSERT_EQ(eureka.call("PUT", "/eureka/apps/SERVICE-PROVIDER/v2/status?value=OUT_OF_SERVICE"),
            200);
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 1; }));
  ASSERT_EQ(eureka.call("DELETE", "/eureka/apps/SERVICE-CONSUMER/c1"), 200);
  ASSERT_TRUE(rec.waitFor([](auto& s) { return s.size() == 1; }));
  // Every change arrived by delta: the hash codes always agreed.
  EXPECT_EQ(watcher.counters().full_fetches, 1u);
  EXPECT_EQ(watcher.counters().hash_mismatches, 0u);
  EXPECT_TRUE(watcher.status().reachable);
  watcher.stop();
}

// A scripted Eureka server: answers full and delta fetches from whatever the test sets.
class FakeEureka {
 public:
  FakeEureka() {
    server_ = std::make_unique<http::Server>(io_.io(),
                                             [this](http::Request r) { return serve(this, r); });
    auto bound = server_->listen(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound);
    address_ = *bound;
    io_.start();
  }
  ~FakeEureka() {
    io_.stop([this] { server_->stop(); });
  }
  void set(std::string full, std::string delta, int delta_status = 200) {
    std::lock_guard lock(mu_);
    full_ = std::move(full);
    delta_ = std::move(delta);
    delta_status_ = delta_status;
  }
  const net::HostPort& address() const { return address_; }

 private:
  static asio::awaitable<http::Response> serve(FakeEureka* self, http::Request r) {
    std::lock_guard lock(self->mu_);
    if (r.head.path.starts_with("/eureka/apps/delta")) {
      co_return http::Response::json(self->delta_status_, self->delta_);
    }
    co_return http::Response::json(200, self->full_);
  }
  testutil::IoThread io_;
  std::unique_ptr<http::Server> server_;
  net::HostPort address_;
  std::mutex mu_;
  std::string full_, delta_;
  int delta_status_ = 200;
};

std::string appsJson(const std::string& hash, int instances, const std::string& status = "UP") {
  EurekaApplications apps;
  apps.apps_hashcode = hash;
  EurekaApplication app{"SERVICE-PROVIDER", {}};
  for (int i = 0; i < instances; ++i) {
    EurekaInstance inst;
    inst.instance_id = "i" + std::to_string(i);
    inst.ip_addr = "127.0.0." + std::to_string(11 + i);
    inst.port = 8070;
    inst.status = *parseInstanceStatus(status);
    inst.action_type = ActionType::kAdded;
    app.instances.push_back(inst);
  }
  if (instances > 0) apps.applications.push_back(app);
  return encodeApplications(apps, Format::kJson);
}

TEST(EurekaWatcher, HashCodeMismatchAfterADeltaTriggersAFullFetch) {
  FakeEureka eureka;
  // The delta is empty but the server claims three instances: the client copy (one) disagrees.
  eureka.set(appsJson("UP_1_", 1), appsJson("UP_3_", 0));
  EurekaWatcher watcher(sourceFor(eureka.address()));
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 1; }));
  // Each mismatch is followed by a full fetch: the first fetch plus one per mismatch.
  ASSERT_TRUE(eventually([&] {
    FetchCounters c = watcher.counters();
    return c.hash_mismatches >= 2 && c.full_fetches >= 3;
  }));
  // The full fetch is the truth: when it changes, the view follows.
  eureka.set(appsJson("UP_3_", 3), appsJson("UP_3_", 0));
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 3; }));
  watcher.stop();
}

TEST(EurekaWatcher, ServerWithoutDeltasIsReadInFull) {
  FakeEureka eureka;
  eureka.set(appsJson("UP_2_", 2), "forbidden", 403);
  EurekaWatcher watcher(sourceFor(eureka.address()));
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 2; }));
  ASSERT_TRUE(eventually([&] { return watcher.counters().full_fetches >= 3; }));
  EXPECT_TRUE(watcher.status().reachable);
  eureka.set(appsJson("DOWN_2_", 2, "DOWN"), "forbidden", 403);
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 0; }));
  watcher.stop();
}

TEST(EurekaWatcher, ServerAnsweringXmlIsReadToo) {
  FakeEureka eureka;
  auto xml = [](const std::string& json) {
    return encodeApplications(*decodeApplications(json), Format::kXml);
  };
  eureka.set(xml(appsJson("UP_2_", 2)), xml(appsJson("UP_2_", 0)));
  EurekaWatcher watcher(sourceFor(eureka.address()));
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 2; }));
  ASSERT_TRUE(eventually([&] { return watcher.counters().delta_fetches >= 2; }));
  EXPECT_EQ(watcher.counters().hash_mismatches, 0u);
  watcher.stop();
}

TEST(EurekaWatcher, MalformedAnswerKeepsTheLastGoodViewAndReportsTheError) {
  FakeEureka eureka;
  eureka.set(appsJson("UP_2_", 2), appsJson("UP_2_", 0));
  EurekaWatcher watcher(sourceFor(eureka.address()));
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return healthyCount(s, "service-provider") == 2; }));
  size_t calls = rec.count();
  eureka.set("{\"applications\": [truncated", "<applications><application>");
  ASSERT_TRUE(eventually([&] { return !watcher.status().reachable; }));
  SourceStatus status = watcher.status();
  EXPECT_NE(status.last_error.find("/eureka/apps/delta"), std::string::npos) << status.last_error;
  EXPECT_NE(status.last_error.find("malformed XML"), std::string::npos) << status.last_error;
  EXPECT_EQ(rec.count(), calls);  // nothing was reported: the last view stands
  // Recovery: a good answer again clears the error.
  eureka.set(appsJson("UP_2_", 2), appsJson("UP_2_", 0));
  ASSERT_TRUE(eventually([&] { return watcher.status().reachable; }));
  EXPECT_TRUE(watcher.status().last_error.empty());
  EXPECT_EQ(healthyCount(rec.last(), "service-provider"), 2u);
  watcher.stop();
}

TEST(EurekaWatcher, RefreshNowPollsAtOnceAndCallsBackAfterTheNewView) {
  EmbeddedEureka eureka;
  EurekaSource source = sourceFor(eureka.address());
  source.options.poll_interval = 60s;  // only refreshNow() can make it poll again in time
  EurekaWatcher watcher(source);
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(rec.waitFor([](auto& s) { return s.empty(); }));
  eureka.registerInstance("SERVICE-PROVIDER", "v1", "127.0.0.11", "v1");
  std::promise<void> refreshed;
  watcher.refreshNow([&] {
    EXPECT_EQ(healthyCount(rec.last(), "service-provider"), 1u);  // on_change came first
    refreshed.set_value();
  });
  ASSERT_EQ(refreshed.get_future().wait_for(5s), std::future_status::ready);
  watcher.stop();
}

TEST(EurekaWatcher, UnreachableServerIsReportedWithoutACallback) {
  EurekaSource source = sourceFor(net::HostPort{"127.0.0.1", 1});
  EurekaWatcher watcher(source);
  ServiceRecorder rec;
  watcher.start(rec.onChange());
  ASSERT_TRUE(eventually([&] { return !watcher.status().last_error.empty(); }));
  EXPECT_FALSE(watcher.status().reachable);
  EXPECT_EQ(rec.count(), 0u);
  watcher.stop();
}

}  // namespace
}  // namespace sluice::registry::eureka
