// /stats/json: the JSON twin of /stats/prometheus that the mesh page (/ui) and scripts read; and
// the embedded page itself, served by a real ProxyServer's admin endpoint.
#include "proxy/stats_json.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <thread>

#include "config/loader.h"
#include "control/snapshot/build_snapshot.h"
#include "http/client.h"
#include "http/server.h"
#include "proxy/admin_ui.h"
#include "proxy/proxy_server.h"
#include "proxy/ui_assets.h"

namespace sluice::proxy {
namespace {

using namespace std::chrono_literals;

const nlohmann::json* findEdge(const nlohmann::json& j, const std::string& version) {
  for (const auto& e : j["edges"]) {
    if (e["destination_version"] == version) return &e;
  }
  return nullptr;
}

TEST(EstimateQuantile, InterpolatesInsideTheBucketLikeHistogramQuantile) {
  std::array<uint64_t, kDurationBucketsMs.size()> buckets{};
  buckets[2] = 100;  // (1, 5] ms
  EXPECT_DOUBLE_EQ(estimateQuantileMs(buckets, 100, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(estimateQuantileMs(buckets, 100, 0.99), 1 + 4 * 0.99);
  buckets[4] = 100;  // (10, 25] ms: the p99 of 200 requests lies there
  EXPECT_DOUBLE_EQ(estimateQuantileMs(buckets, 200, 0.99), 10 + 15 * 0.98);
  EXPECT_EQ(estimateQuantileMs(buckets, 0, 0.99), 0);
}

TEST(EstimateQuantile, AboveTheLastBoundIsTheLastBound) {
  std::array<uint64_t, kDurationBucketsMs.size()> buckets{};
  buckets[0] = 1;
  EXPECT_EQ(estimateQuantileMs(buckets, 10, 0.99), kDurationBucketsMs.back());
}

TEST(StatsJson, MergesWorkersIntoIstioSeriesAndOneEdgePerVersion) {
  WorkerStats a;
  WorkerStats b;
  a.record("service-provider.default.svc.cluster.local", "v1", 200, 3);
  b.record("service-provider.default.svc.cluster.local", "v1", 200, 7);
  b.record("service-provider.default.svc.cluster.local", "v2", 503, 30);
  b.record("service-provider.default.svc.cluster.local", "v2", 200, 2);
  StatsJsonContext ctx{"consumer", "source", "sidecar", 7, 1234};
  nlohmann::json j = renderStatsJson({a.collect(), b.collect()}, ctx);

  EXPECT_EQ(j["source_workload"], "consumer");
  EXPECT_EQ(j["reporter"], "source");
  EXPECT_EQ(j["mode"], "sidecar");
  EXPECT_EQ(j["snapshot_version"], 7);
  EXPECT_EQ(j["timestamp_ms"], 1234);
  ASSERT_EQ(j["duration_buckets_ms"].size(), kDurationBucketsMs.size());

  // One series per (service, version, code), counts summed over the workers, labels as in the
  // Prometheus text (strings).
  ASSERT_EQ(j["istio_requests_total"].size(), 3u);
  const auto& first = j["istio_requests_total"][0];
  EXPECT_EQ(first["labels"]["destination_service_name"], "service-provider");
  EXPECT_EQ(first["labels"]["destination_version"], "v1");
  EXPECT_EQ(first["labels"]["response_code"], "200");
  EXPECT_EQ(first["labels"]["source_workload"], "consumer");
  EXPECT_EQ(first["value"], 2);
  const auto& hist = j["istio_request_duration_milliseconds"][0];
  EXPECT_EQ(hist["count"], 2);
  EXPECT_DOUBLE_EQ(hist["sum"].get<double>(), 10.0);
  // Cumulative, like _bucket{le}: 3 ms and 7 ms are both <= 10 ms, one is <= 5 ms.
  EXPECT_EQ(hist["buckets"][2], 1);  // le 5
  EXPECT_EQ(hist["buckets"][3], 2);  // le 10
  EXPECT_EQ(hist["buckets"].back(), 2);

  const nlohmann::json* v1 = findEdge(j, "v1");
  const nlohmann::json* v2 = findEdge(j, "v2");
  ASSERT_NE(v1, nullptr);
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ((*v1)["requests_total"], 2);
  EXPECT_EQ((*v1)["errors_total"], 0);
  EXPECT_EQ((*v2)["requests_total"], 2);
  EXPECT_EQ((*v2)["errors_total"], 1);
  EXPECT_EQ((*v2)["responses"]["503"], 1);
  EXPECT_EQ((*v2)["responses"]["200"], 1);
  EXPECT_EQ((*v2)["source_workload"], "consumer");
  // p99 of {2 ms, 30 ms}: in the (25, 50] bucket.
  EXPECT_GT((*v2)["p99_ms"].get<double>(), 25);
  EXPECT_LE((*v2)["p99_ms"].get<double>(), 50);
}

TEST(StatsJson, NoTrafficIsEmptyListsNotMissingFields) {
  nlohmann::json j = renderStatsJson({}, StatsJsonContext{"unknown", "source", "gateway", 1, 0});
  EXPECT_TRUE(j["istio_requests_total"].is_array());
  EXPECT_TRUE(j["istio_requests_total"].empty());
  EXPECT_TRUE(j["istio_request_duration_milliseconds"].empty());
  EXPECT_TRUE(j["edges"].empty());
}

// ---- through a real ProxyServer ---------------------------------------------------------------

class App {
 public:
  explicit App(std::string name) : name_(std::move(name)) {
    server_ = std::make_unique<http::Server>(io_, [this](http::Request req) {
      int status = req.head.path.starts_with("/fail") ? 503 : 200;
      return [](http::Response r) -> asio::awaitable<http::Response> {
        co_return r;
      }(http::Response::text(status, name_));
    });
    port_ = server_->listen({"127.0.0.1", 0}).value().port;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~App() {
    asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  std::string name_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

const char* kSeedRules = R"(
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: service-provider}
spec:
  host: service-provider
  subsets:
  - {name: v1, labels: {label: v1}}
  - {name: v2, labels: {label: v2}}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: service-provider}
spec:
  hosts: [service-provider]
  http:
  - name: hello-v1
    match: [{uri: {prefix: /echo/hello}}]
    route: [{destination: {host: service-provider, subset: v1}}]
  - name: default
    route: [{destination: {host: service-provider, subset: v2}}]
)";

class AdminJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry::Service s;
    s.name = "service-provider";
    registry::Instance a;
    a.ip = "127.0.0.1";
    a.port = v1_.port();
    a.metadata = {{"label", "v1"}};
    registry::Instance b = a;
    b.port = v2_.port();
    b.metadata = {{"label", "v2"}};
    s.instances = {a, b};
    control::SnapshotInputs in;
    in.config = config::loadString(kSeedRules, "rules.yaml");
    in.registry_services = {s};
    in.version = 3;
    ProxyOptions o;
    o.mode = ProxyOptions::Mode::kSidecar;
    o.listen = {{"127.0.0.1", 0}};
    o.concurrency = 2;  // the JSON adds up every worker
    o.service_node = "consumer";
    ASSERT_TRUE(server_.start(o, control::buildSnapshot(in)).has_value());
  }
  Result<http::Response> viaProxy(const std::string& path) {
    http::ClientRequest r;
    r.url = "http://service-provider:8070" + path;
    r.proxy = server_.boundAddresses().at(0);
    return http::fetchBlocking(std::move(r));
  }
  Result<http::Response> admin(const std::string& path) {
    http::ClientRequest r;
    r.url = "http://" + server_.adminAddress().toString() + path;
    return http::fetchBlocking(std::move(r));
  }

  App v1_{"v1"};
  App v2_{"v2"};
  ProxyServer server_;
};

TEST_F(AdminJsonTest, StatsJsonCountsEveryRequestPerVersionWithErrors) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(viaProxy("/echo/hello")->head.status, 200);
  ASSERT_EQ(viaProxy("/echo/world")->head.status, 200);
  ASSERT_EQ(viaProxy("/fail")->head.status, 503);
  auto r = admin("/stats/json");
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ(r->head.status, 200);
  EXPECT_NE(r->head.headers.get("content-type").value_or("").find("application/json"),
            std::string::npos);
  nlohmann::json j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["source_workload"], "consumer");
  EXPECT_EQ(j["mode"], "sidecar");
  EXPECT_EQ(j["snapshot_version"], 3);
  EXPECT_GT(j["timestamp_ms"].get<int64_t>(), 0);
  const nlohmann::json* v1 = findEdge(j, "v1");
  const nlohmann::json* v2 = findEdge(j, "v2");
  ASSERT_NE(v1, nullptr) << j.dump(2);
  ASSERT_NE(v2, nullptr) << j.dump(2);
  EXPECT_EQ((*v1)["destination_service"], "service-provider.default.svc.cluster.local");
  EXPECT_EQ((*v1)["requests_total"], 3);
  EXPECT_EQ((*v1)["errors_total"], 0);
  EXPECT_EQ((*v2)["requests_total"], 2);
  EXPECT_EQ((*v2)["errors_total"], 1);
  EXPECT_GT((*v1)["p99_ms"].get<double>(), 0);
}

TEST_F(AdminJsonTest, UiServesTheEmbeddedPageAndItsFiles) {
  if (embeddedUiAssets().empty()) GTEST_SKIP() << "built with -DSLUICE_UI=OFF: no page embedded";
  auto page = admin("/ui");
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->head.status, 200) << page->body;
  EXPECT_EQ(page->head.headers.get("content-type").value_or(""), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<script src=\"/ui/app.js\">"), std::string::npos) << page->body;
  EXPECT_EQ(admin("/ui/")->body, page->body);
  auto js = admin("/ui/app.js");
  ASSERT_EQ(js->head.status, 200);
  EXPECT_EQ(js->head.headers.get("content-type").value_or(""), "text/javascript; charset=utf-8");
  // The page polls the admin JSON endpoints; nothing comes from another origin.
  EXPECT_NE(js->body.find("/stats/json"), std::string::npos);
  EXPECT_EQ(js->body.find("https://"), std::string::npos);
  EXPECT_EQ(admin("/ui/app.css")->head.status, 200);
  // Light: the page stays well under a few hundred KiB.
  EXPECT_LT(page->body.size() + js->body.size() + admin("/ui/app.css")->body.size(), 300u * 1024);
  auto missing = admin("/ui/nope.js");
  EXPECT_EQ(missing->head.status, 404);
  EXPECT_EQ(admin("/uix")->head.status, 404);  // not the page: the admin 404
}

TEST(AdminUi, OnlyPathsUnderUiAreThePages) {
  EXPECT_FALSE(serveUi("/stats").has_value());
  EXPECT_FALSE(serveUi("/uix").has_value());
  if (embeddedUiAssets().empty()) GTEST_SKIP() << "built with -DSLUICE_UI=OFF: no page embedded";
  ASSERT_TRUE(serveUi("/ui").has_value());
  EXPECT_EQ(serveUi("/ui")->head.status, 200);
  EXPECT_EQ(serveUi("/ui/../etc/passwd")->head.status, 404);
}

}  // namespace
}  // namespace sluice::proxy
