// The nacos:// watcher over gRPC subscribe push, and its fallback to v1 polling, against the
// embedded server (real grpc++ on both sides).
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "registry/nacos/grpc_client.h"
#include "registry/nacos/grpc_watcher.h"
#include "registry/nacos/registry_server.h"
#include "testutil/io_thread.h"
#include "testutil/service_recorder.h"

namespace sluice::registry::nacos {
namespace {

using namespace std::chrono_literals;
using testutil::hasInstanceIp;
using testutil::ServiceRecorder;

class Registry {
 public:
  explicit Registry(bool grpc = true) {
    RegistryServerOptions options;
    options.grpc_mode =
        grpc ? RegistryServerOptions::GrpcMode::kPort : RegistryServerOptions::GrpcMode::kOff;
    server_ = std::make_unique<RegistryServer>(io_.io(), options);
    auto bound = server_->start(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().message;
    http_ = *bound;
    if (grpc) grpc_ = *server_->grpcAddress();
    io_.start();
  }
  ~Registry() {
    io_.stop([this] { server_->stop(); });
  }
  void registerOverHttpSide(const std::string& service, const std::string& ip) {
    io_.call([&] {
      NamingInstance inst;
      inst.ip = ip;
      inst.port = 8070;
      inst.metadata["label"] = "v1";
      EXPECT_TRUE(server_->store().registerInstance("public", "DEFAULT_GROUP@@" + service, inst));
    });
  }
  std::string url(const std::string& extra = "") const {
    std::string u = "nacos://" + http_.toString() + "?";
    if (grpc_.port != 0) u += "grpcPort=" + std::to_string(grpc_.port) + "&";
    return u + extra;
  }
  const net::HostPort& grpc() const { return grpc_; }

 private:
  testutil::IoThread io_;
  std::unique_ptr<RegistryServer> server_;
  net::HostPort http_;
  net::HostPort grpc_;
};

GrpcMessage registerRequest(const std::string& service, const std::string& ip) {
  GrpcMessage m;
  m.type = "InstanceRequest";
  m.body = {{"namespace", "public"},
            {"serviceName", service},
            {"groupName", "DEFAULT_GROUP"},
            {"type", "registerInstance"}};
  m.body["instance"] = {{"ip", ip}, {"port", 8070}, {"metadata", {{"label", "v2"}}}};
  return m;
}

NacosSource source(const std::string& url) {
  auto parsed = parseNacosUrl(url);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return *parsed;
}

TEST(NacosGrpcUrl, TakesTransportAndGrpcPort) {
  auto s = parseNacosUrl("nacos://127.0.0.1:8848?transport=grpc&grpcPort=19848");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->transport, NacosSource::Transport::kGrpc);
  EXPECT_EQ(s->grpc_port, 19848);
  EXPECT_EQ(parseNacosUrl("nacos://h:1")->transport, NacosSource::Transport::kAuto);
  EXPECT_FALSE(parseNacosUrl("nacos://h:1?transport=udp"));
  EXPECT_FALSE(parseNacosUrl("nacos://h:1?grpcPort=0"));
}

TEST(NacosGrpcWatcherTest, ChangesArrivePushedWellUnderASecond) {
  Registry registry;
  registry.registerOverHttpSide("service-provider", "10.0.0.11");
  GrpcWatcherOptions options;
  options.list_interval = 5s;  // service-list polling cannot be what delivers the change
  NacosGrpcWatcher watcher(source(registry.url()), options);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return hasInstanceIp(s, "service-provider", "10.0.0.11"); }));
  EXPECT_EQ(watcher.transportInUse(), "grpc");
  EXPECT_TRUE(watcher.status().reachable);

  GrpcClientOptions client;
  client.server = registry.grpc();
  auto provider = GrpcNamingConnection::connect(client, nullptr, nullptr);
  ASSERT_TRUE(provider) << provider.error().message;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE((*provider)->request(registerRequest("service-provider", "10.0.0.12")));
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return hasInstanceIp(s, "service-provider", "10.0.0.12"); }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  // The provider's connection closes: its instance leaves routing just as fast.
  started = std::chrono::steady_clock::now();
  (*provider)->close();
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) {
        return hasInstanceIp(s, "service-provider", "10.0.0.11") &&
               !hasInstanceIp(s, "service-provider", "10.0.0.12");
      },
      2s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  watcher.stop();
}

TEST(NacosGrpcWatcherTest, NewServicesAreFoundByTheServiceListAndRefreshNow) {
  Registry registry;
  GrpcWatcherOptions options;
  options.list_interval = 10s;
  NacosGrpcWatcher watcher(source(registry.url()), options);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.empty(); }));
  registry.registerOverHttpSide("late", "10.0.0.30");
  std::promise<void> refreshed;
  watcher.refreshNow([&] { refreshed.set_value(); });
  ASSERT_EQ(refreshed.get_future().wait_for(5s), std::future_status::ready);
  EXPECT_TRUE(
      recorder.waitFor([](const auto& s) { return hasInstanceIp(s, "late", "10.0.0.30"); }, 100ms));
}

// A Sidecar naming a few services: only those are subscribed to and reported; widening the
// interest later subscribes to the rest at once.
TEST(NacosGrpcWatcherTest, OnlyWantedServicesAreSubscribedAndReported) {
  Registry registry;
  registry.registerOverHttpSide("wanted", "10.0.0.41");
  registry.registerOverHttpSide("other", "10.0.0.42");
  GrpcWatcherOptions options;
  options.list_interval = 10s;
  NacosGrpcWatcher watcher(source(registry.url()), options);
  Interest interest;
  interest.all = false;
  interest.names = {"wanted"};
  watcher.setInterest(interest);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return s.size() == 1 && hasInstanceIp(s, "wanted", "10.0.0.41"); }));
  watcher.setInterest(Interest{});
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) {
        return hasInstanceIp(s, "wanted", "10.0.0.41") && hasInstanceIp(s, "other", "10.0.0.42");
      },
      2s));
  interest.names = {"other"};
  watcher.setInterest(interest);
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return s.size() == 1 && hasInstanceIp(s, "other", "10.0.0.42"); }, 2s));
  watcher.stop();
}

TEST(NacosGrpcWatcherTest, FallsBackToV1PollingWhenNoGrpcIsOffered) {
  Registry registry(/*grpc=*/false);
  registry.registerOverHttpSide("service-provider", "10.0.0.11");
  // An unused port stands for "the gRPC port does not answer ServerCheck".
  NacosGrpcWatcher watcher(source(registry.url("grpcPort=1")));
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return hasInstanceIp(s, "service-provider", "10.0.0.11"); }));
  EXPECT_EQ(watcher.transportInUse(), "http");
  registry.registerOverHttpSide("service-provider", "10.0.0.12");
  EXPECT_TRUE(recorder.waitFor(
      [](const auto& s) { return hasInstanceIp(s, "service-provider", "10.0.0.12"); }));
  watcher.stop();
}

TEST(NacosGrpcWatcherTest, GrpcOnlyDoesNotFallBackAndSaysWhy) {
  Registry registry(/*grpc=*/false);
  GrpcWatcherOptions options;
  options.request_timeout = 300ms;
  NacosGrpcWatcher watcher(source(registry.url("transport=grpc&grpcPort=1")), options);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (watcher.status().last_error.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(watcher.status().reachable);
  EXPECT_NE(watcher.status().last_error.find("nacos grpc"), std::string::npos)
      << watcher.status().last_error;
  EXPECT_NE(watcher.transportInUse(), "http");
  watcher.stop();
}

}  // namespace
}  // namespace sluice::registry::nacos
