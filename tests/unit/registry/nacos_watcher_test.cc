#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "registry/nacos/naming_client.h"
#include "registry/nacos/registry_server.h"
#include "registry/nacos/watcher.h"
#include "testutil/eventually.h"
#include "testutil/io_thread.h"
#include "testutil/service_recorder.h"

namespace sluice::registry::nacos {
namespace {

using namespace std::chrono_literals;
using testutil::findService;
using testutil::ServiceRecorder;

TEST(NacosUrl, ParsesHostPortNamespaceAndGroup) {
  auto plain = parseNacosUrl("nacos://127.0.0.1:8848");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->server.toString(), "127.0.0.1:8848");
  EXPECT_EQ(plain->namespace_id, "public");
  EXPECT_EQ(plain->group, "DEFAULT_GROUP");
  auto full = parseNacosUrl("nacos://localhost:9000/?namespace=dev&group=ORDERS");
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->server.host, "localhost");
  EXPECT_EQ(full->server.port, 9000);
  EXPECT_EQ(full->namespace_id, "dev");
  EXPECT_EQ(full->group, "ORDERS");
  EXPECT_EQ(parseNacosUrl("nacos://10.0.0.1")->server.port, 8848);
  EXPECT_FALSE(plain->poll_interval);
  auto slow = parseNacosUrl("nacos://10.0.0.1?poll_interval_ms=60000");
  ASSERT_TRUE(slow) << slow.error().message;
  EXPECT_EQ(slow->poll_interval, std::chrono::milliseconds(60'000));
}

TEST(NacosUrl, RejectsOtherSchemesPathsAndUnknownParameters) {
  for (const char* bad : {"http://127.0.0.1:8848", "nacos://", "nacos://h:1/nacos",
                          "nacos://h:1?namespce=dev", "nacos://h:99999", "nacos://h:1?group=",
                          "nacos://h:1?poll_interval_ms=10", "nacos://h:1?poll_interval_ms=soon"}) {
    auto r = parseNacosUrl(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

class RegistryProcess {
 public:
  RegistryProcess() : server_(io_.io(), RegistryServerOptions{}) {
    auto bound = server_.start(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().message;
    address_ = *bound;
    io_.start();
  }
  ~RegistryProcess() { shutdown(); }
  void shutdown() {
    io_.stop([this] { server_.stop(); });
  }
  const net::HostPort& address() const { return address_; }
  void call(const std::string& method, const std::string& path_and_query) {
    http::ClientRequest request;
    request.method = method;
    request.url = "http://" + address_.toString() + path_and_query;
    auto r = http::fetchBlocking(request);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->head.status, 200) << r->body;
  }

 private:
  testutil::IoThread io_;
  RegistryServer server_;
  net::HostPort address_;
};

WatcherOptions fastOptions() {
  WatcherOptions o;
  o.poll_interval = 50ms;
  o.max_backoff = 200ms;
  o.request_timeout = 1000ms;
  o.page_size = 2;  // forces paging with three services
  return o;
}

NacosSource sourceFor(const net::HostPort& address, std::string ns = "public") {
  NacosSource s;
  s.server = address;
  s.namespace_id = std::move(ns);
  s.url = "nacos://" + address.toString();
  return s;
}

TEST(NacosWatcher, ReportsEveryServicePagedWithEnabledWeightedInstancesAndTheirHealth) {
  RegistryProcess registry;
  const std::string base = "/nacos/v1/ns/instance?serviceName=";
  registry.call("POST", base + "service-provider&ip=127.0.0.12&port=8070&metadata=label%3Dv2");
  registry.call("POST", base + "service-provider&ip=127.0.0.11&port=8070&metadata=label%3Dv1");
  registry.call("POST", base + "service-provider&ip=127.0.0.13&port=8070&enabled=false");
  registry.call("POST", base + "service-provider&ip=127.0.0.14&port=8070&weight=0");
  registry.call("POST", base + "consumer&ip=127.0.0.20&port=8080&healthy=false");
  registry.call("POST", base + "third&ip=127.0.0.30&port=1");
  registry.call("POST", base + "other-group&groupName=G&ip=127.0.0.40&port=1");
  registry.call("POST", base + "other-ns&namespaceId=dev&ip=127.0.0.50&port=1");

  ServiceRecorder recorder;
  NacosWatcher watcher(sourceFor(registry.address()), fastOptions());
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.size() == 3; }));
  auto services = recorder.last();
  EXPECT_EQ(services[0].name, "consumer");  // sorted by name
  const Service* provider = findService(services, "service-provider");
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->namespace_id, "public");
  EXPECT_EQ(provider->group, "DEFAULT_GROUP");
  ASSERT_EQ(provider->instances.size(), 2u);  // disabled and weight-0 instances do not count
  EXPECT_EQ(provider->instances[0].ip, "127.0.0.11");  // sorted by ip
  EXPECT_EQ(provider->instances[0].metadata.at("label"), "v1");
  EXPECT_EQ(provider->instances[1].metadata.at("label"), "v2");
  const Service* consumer = findService(services, "consumer");
  ASSERT_EQ(consumer->instances.size(), 1u);
  EXPECT_FALSE(consumer->instances[0].healthy);
  EXPECT_EQ(findService(services, "other-group"), nullptr);
  EXPECT_EQ(findService(services, "other-ns"), nullptr);
  EXPECT_TRUE(watcher.status().reachable);
  EXPECT_GT(watcher.status().last_success_unix_ms, 0);

  // A change is reported; an unchanged registry is not reported again.
  size_t before = recorder.count();
  registry.call("DELETE", base + "service-provider&ip=127.0.0.12&port=8070");
  ASSERT_TRUE(recorder.waitFor([](const auto& s) {
    const Service* p = findService(s, "service-provider");
    return p != nullptr && p->instances.size() == 1;
  }));
  EXPECT_EQ(recorder.count(), before + 1);
  watcher.stop();
}

// With an interest (a Sidecar naming services) only those are read and reported; a change of
// interest applies at the next poll, which starts at once.
TEST(NacosWatcher, OnlyWantedServicesAreReadAndReported) {
  RegistryProcess registry;
  const std::string base = "/nacos/v1/ns/instance?serviceName=";
  registry.call("POST", base + "wanted&ip=127.0.0.11&port=8070");
  registry.call("POST", base + "other&ip=127.0.0.12&port=8070");
  WatcherOptions slow = fastOptions();
  slow.poll_interval = 10s;
  NacosWatcher watcher(sourceFor(registry.address()), slow);
  Interest interest;
  interest.all = false;
  interest.names = {"wanted"};
  watcher.setInterest(interest);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor(
      [](const auto& s) { return s.size() == 1 && findService(s, "wanted") != nullptr; }));
  watcher.setInterest(Interest{});
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.size() == 2; }, 3s));
  watcher.stop();
}

// Read by name: a wanted name the registry does not have is left out (no error: the watcher
// stays reachable), and one the registry spells with upper case is found through the list.
TEST(NacosWatcher, ByNameAMissingServiceIsLeftOutAndAnUpperCaseSpellingIsFound) {
  RegistryProcess registry;
  const std::string base = "/nacos/v1/ns/instance?serviceName=";
  registry.call("POST", base + "wanted&ip=127.0.0.11&port=8070");
  registry.call("POST", base + "Mixed-Case&ip=127.0.0.13&port=8070");
  registry.call("POST", base + "other&ip=127.0.0.12&port=8070");
  NacosWatcher watcher(sourceFor(registry.address()), fastOptions());
  Interest interest;
  interest.all = false;
  interest.names = {"wanted", "absent", "mixed-case"};
  watcher.setInterest(interest);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) {
    return s.size() == 2 && findService(s, "wanted") != nullptr &&
           findService(s, "Mixed-Case") != nullptr;
  }));
  EXPECT_TRUE(watcher.status().reachable) << watcher.status().last_error;
  watcher.stop();
}

// A TCP relay in front of the registry that counts the service-list reads passing through it
// (the registry's own API has no request log to ask).
class ListReadCounter {
 public:
  explicit ListReadCounter(const net::HostPort& registry)
      : registry_(asio::ip::make_address(registry.host), registry.port),
        acceptor_(io_.io(), asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_.io(), accept(), asio::detached);
    io_.start();
  }
  ~ListReadCounter() {
    io_.stop([this] {
      asio::error_code ec;
      acceptor_.close(ec);
      for (auto& s : sockets_) s->close(ec);
    });
  }
  net::HostPort address() const { return {"127.0.0.1", acceptor_.local_endpoint().port()}; }
  int listReads() const { return list_reads_.load(); }
  int instanceReads() const { return instance_reads_.load(); }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      asio::error_code ec;
      auto client = std::make_shared<asio::ip::tcp::socket>(
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec)));
      if (ec) co_return;
      auto server = std::make_shared<asio::ip::tcp::socket>(io_.io());
      co_await server->async_connect(registry_, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) continue;
      sockets_.push_back(client);
      sockets_.push_back(server);
      asio::co_spawn(io_.io(), pump(client, server, true), asio::detached);
      asio::co_spawn(io_.io(), pump(server, client, false), asio::detached);
    }
  }
  asio::awaitable<void> pump(std::shared_ptr<asio::ip::tcp::socket> from,
                             std::shared_ptr<asio::ip::tcp::socket> to, bool requests) {
    std::array<char, 16384> buf;
    std::string carry;  // a request line split across reads
    for (;;) {
      asio::error_code ec;
      size_t n = co_await from->async_read_some(asio::buffer(buf),
                                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (requests) {
        carry.append(buf.data(), n);
        for (size_t at; (at = carry.find("\r\n")) != std::string::npos; carry.erase(0, at + 2)) {
          std::string_view line(carry.data(), at);
          if (line.starts_with("GET /nacos/v1/ns/service/list")) ++list_reads_;
          if (line.starts_with("GET /nacos/v1/ns/instance/list")) ++instance_reads_;
        }
      }
      co_await asio::async_write(*to, asio::buffer(buf.data(), n),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    asio::error_code ignored;
    to->shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  }

  testutil::IoThread io_;
  asio::ip::tcp::endpoint registry_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets_;  // io thread only
  std::atomic<int> list_reads_{0};
  std::atomic<int> instance_reads_{0};
};

// The point of reading by name (issue #15: a 10,000-service registry is 100 list pages): while
// every wanted name is found, the watcher never reads the service list, poll after poll.
TEST(NacosWatcher, ByNameNeverReadsTheServiceListWhileEveryWantedNameIsFound) {
  RegistryProcess registry;
  const std::string base = "/nacos/v1/ns/instance?serviceName=";
  registry.call("POST", base + "wanted&ip=127.0.0.11&port=8070");
  registry.call("POST", base + "also-wanted&ip=127.0.0.12&port=8070");
  registry.call("POST", base + "other&ip=127.0.0.13&port=8070");
  ListReadCounter counter(registry.address());
  WatcherOptions options = fastOptions();
  options.page_size = 100;  // one list read is one request
  NacosWatcher watcher(sourceFor(counter.address()), options);
  Interest interest;
  interest.all = false;
  interest.names = {"wanted", "also-wanted"};
  watcher.setInterest(interest);
  ServiceRecorder recorder;
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.size() == 2; }));
  // Several polls later (each reads the two instance lists)...
  ASSERT_TRUE(testutil::eventually([&] { return counter.instanceReads() >= 10; }, 5s));
  EXPECT_EQ(counter.listReads(), 0);
  // ...and with a name the registry lacks, the list is read, at most once per interval.
  interest.names = {"wanted", "absent"};
  watcher.setInterest(interest);
  int reads_before = counter.instanceReads();
  ASSERT_TRUE(
      testutil::eventually([&] { return counter.instanceReads() >= reads_before + 10; }, 5s));
  EXPECT_EQ(counter.listReads(), 1);
  watcher.stop();
}

TEST(NacosWatcher, TheFirstSuccessfulPollIsReportedEvenWhenEmpty) {
  RegistryProcess registry;
  ServiceRecorder recorder;
  NacosWatcher watcher(sourceFor(registry.address(), "empty"), fastOptions());
  watcher.start(recorder.onChange());
  EXPECT_TRUE(recorder.waitFor([](const auto& s) { return s.empty(); }));
}

TEST(NacosWatcher, OutageKeepsTheLastKnownSetAndReportsUnreachable) {
  auto registry = std::make_unique<RegistryProcess>();
  registry->call("POST", "/nacos/v1/ns/instance?serviceName=svc&ip=127.0.0.1&port=1");
  ServiceRecorder recorder;
  NacosWatcher watcher(sourceFor(registry->address()), fastOptions());
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.size() == 1; }));
  size_t calls = recorder.count();

  registry.reset();  // the registry goes away
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (watcher.status().reachable && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);  // polling a status flag: there is no event to wait on
  }
  SourceStatus status = watcher.status();
  EXPECT_FALSE(status.reachable);
  EXPECT_FALSE(status.last_error.empty());
  EXPECT_NE(status.last_error.find("nacos"), std::string::npos) << status.last_error;
  EXPECT_EQ(recorder.count(), calls);  // no "everything is gone" callback
  EXPECT_EQ(recorder.last().size(), 1u);
}

TEST(NacosWatcher, UnreachableFromTheStartCallsNothingAndSaysWhy) {
  uint16_t closed_port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  ServiceRecorder recorder;
  NacosWatcher watcher(sourceFor({"127.0.0.1", closed_port}), fastOptions());
  watcher.start(recorder.onChange());
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (watcher.status().last_error.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(watcher.status().reachable);
  EXPECT_FALSE(watcher.status().last_error.empty());
  watcher.stop();
  EXPECT_EQ(recorder.count(), 0u);
}

TEST(NacosWatcher, RunsOnAGivenIoContextToo) {
  RegistryProcess registry;
  registry.call("POST", "/nacos/v1/ns/instance?serviceName=svc&ip=127.0.0.1&port=1");
  asio::io_context io;
  std::vector<Service> seen;
  NacosWatcher watcher(io, sourceFor(registry.address()), fastOptions());
  watcher.start([&](const std::vector<Service>& s) {
    seen = s;
    watcher.stop();  // stopping from inside the callback is allowed
  });
  io.run_for(5s);  // returns as soon as the stopped watcher leaves nothing to run
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].instances[0].ip, "127.0.0.1");
}

// Runs one client coroutine to completion on a private io_context.
template <typename T>
T runClient(asio::awaitable<T> op) {
  asio::io_context io;
  auto future = asio::co_spawn(io, std::move(op), asio::use_future);
  io.run_for(10s);
  return future.get();
}

TEST(NacosClient, RegistersBeatsLightlyAndIsToldToRegisterAgainOnceForgotten) {
  RegistryProcess registry;
  NamingClient client(ClientOptions{registry.address(), "dev"});
  NamingInstance self;
  self.ip = "127.0.0.9";
  self.port = 8070;
  self.metadata = {{"version", "v1"}};
  ASSERT_TRUE(runClient(client.registerInstance("svc", "DEFAULT_GROUP", self)));

  auto listed = runClient(client.listInstances("svc", "DEFAULT_GROUP"));
  ASSERT_TRUE(listed) << listed.error().message;
  EXPECT_EQ(listed->name, "svc");
  EXPECT_EQ(listed->namespace_id, "dev");
  ASSERT_EQ(listed->instances.size(), 1u);
  EXPECT_EQ(listed->instances[0].metadata.at("version"), "v1");

  auto full = runClient(client.sendBeat("svc", "DEFAULT_GROUP", self, /*light=*/false));
  ASSERT_TRUE(full) << full.error().message;
  EXPECT_EQ(full->code, 10200);
  EXPECT_TRUE(full->light_beat_enabled);
  EXPECT_EQ(full->client_beat_interval_ms, 5000);

  ASSERT_TRUE(runClient(client.deregisterInstance("svc", "DEFAULT_GROUP", self)));
  // A light beat carries nothing to re-register from: the server says 20404, like Nacos.
  auto light = runClient(client.sendBeat("svc", "DEFAULT_GROUP", self, /*light=*/true));
  ASSERT_TRUE(light) << light.error().message;
  EXPECT_EQ(light->code, 20404);
  // A full beat re-registers (what the Node SDK relies on).
  ASSERT_EQ(runClient(client.sendBeat("svc", "DEFAULT_GROUP", self, false))->code, 10200);
  EXPECT_EQ(runClient(client.listInstances("svc", "DEFAULT_GROUP"))->instances.size(), 1u);

  auto services = runClient(client.listServices("DEFAULT_GROUP", 1));
  ASSERT_TRUE(services);
  EXPECT_EQ(*services, std::vector<std::string>{"svc"});
}

TEST(NacosClient, A4xxAnswerIsANonRetryableRegistryErrorWithTheServersText) {
  RegistryProcess registry;
  NamingClient client(ClientOptions{registry.address()});
  NamingInstance bad;
  bad.ip = "not an ip";
  bad.port = 1;
  auto st = runClient(client.registerInstance("svc", "DEFAULT_GROUP", bad));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().source, ErrorSource::kRegistry);
  EXPECT_FALSE(st.error().retryable);
  EXPECT_NE(st.error().message.find("HTTP 400"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find("caused: Param 'ip'"), std::string::npos) << st.error().message;
}

TEST(NacosWatcher, RefreshNowPollsAtOnceAndCallsBackAfterTheChangeWasReported) {
  RegistryProcess registry;
  const std::string base = "/nacos/v1/ns/instance?serviceName=";
  registry.call("POST", base + "service-provider&ip=127.0.0.11&port=8070");
  ServiceRecorder recorder;
  WatcherOptions slow = fastOptions();
  slow.poll_interval = 60s;  // only refreshNow can make the watcher see the second instance
  NacosWatcher watcher(sourceFor(registry.address()), slow);
  watcher.start(recorder.onChange());
  ASSERT_TRUE(recorder.waitFor([](const auto& s) { return s.size() == 1; }));

  registry.call("POST", base + "service-provider&ip=127.0.0.12&port=8070");
  std::promise<size_t> refreshed;
  auto started = std::chrono::steady_clock::now();
  watcher.refreshNow([&] {
    auto services = recorder.last();  // find() points into it: keep it alive
    const Service* p = findService(services, "service-provider");
    refreshed.set_value(p == nullptr ? 0 : p->instances.size());
  });
  auto result = refreshed.get_future();
  ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(result.get(), 2u);  // on_change came first
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);

  // Without a change the callback still comes (the caller waits on it).
  std::promise<void> again;
  watcher.refreshNow([&] { again.set_value(); });
  EXPECT_EQ(again.get_future().wait_for(5s), std::future_status::ready);
  watcher.stop();
}

TEST(NacosWatcher, MakeWatcherRejectsBadUrls) {
  EXPECT_FALSE(makeWatcher("nacos://h:1?x=1"));
  EXPECT_TRUE(makeWatcher("nacos://127.0.0.1:1"));
}

}  // namespace
}  // namespace sluice::registry::nacos
