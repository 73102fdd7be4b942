// The embedded Nacos gRPC server driven by the watcher's own client (GrpcNamingConnection, over
// nghttp2) and by a real grpc++ generic stub for bytes no Nacos client would send.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <asio/post.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "registry/nacos/grpc_client.h"
#include "registry/nacos/registry_server.h"
#include "testutil/io_thread.h"

namespace sluice::registry::nacos {
namespace {

using namespace std::chrono_literals;

// sluice registry on its own io thread, HTTP and gRPC on free loopback ports.
class RunningRegistry {
 public:
  explicit RunningRegistry(RegistryServerOptions options = {}) {
    options.grpc_mode = RegistryServerOptions::GrpcMode::kPort;
    options.grpc_port = 0;
    options.grpc_naming.push_ack_timeout = 300ms;
    server_ = std::make_unique<RegistryServer>(io_.io(), options);
    auto bound = server_->start(net::HostPort{"127.0.0.1", 0});
    EXPECT_TRUE(bound) << bound.error().message;
    http_ = *bound;
    grpc_ = *server_->grpcAddress();
    io_.start();
  }
  template <typename F>
  auto onIo(F f) {
    return io_.call(f);
  }
  ~RunningRegistry() {
    io_.stop([this] { server_->stop(); });
  }
  bool hasInstance(const std::string& service, const std::string& ip, uint16_t port,
                   const std::string& ns = "public") {
    return onIo([&] {
      return server_->store().findInstance(ns, "DEFAULT_GROUP@@" + service,
                                           InstanceKey{"DEFAULT", ip, port}) != nullptr;
    });
  }
  // Waits (bounded) until `pred` holds on the io thread.
  bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (onIo(pred)) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  RegistryServer& server() { return *server_; }
  const net::HostPort& grpc() const { return grpc_; }

 private:
  testutil::IoThread io_;
  std::unique_ptr<RegistryServer> server_;
  net::HostPort http_;
  net::HostPort grpc_;
};

// Server requests a client received, for waiting on with a deadline.
class Pushes {
 public:
  void record(const GrpcMessage& m) {
    std::lock_guard lock(mu_);
    messages_.push_back(m);
    cv_.notify_all();
  }
  bool waitFor(const std::function<bool(const GrpcMessage&)>& pred,
               std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& m : messages_) {
        if (pred(m)) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<GrpcMessage> messages_;
};

std::unique_ptr<GrpcNamingConnection> connectTo(const net::HostPort& grpc, Pushes* pushes = nullptr,
                                                bool negotiate = true) {
  GrpcClientOptions options;
  options.server = grpc;
  options.negotiate_abilities = negotiate;
  auto conn = GrpcNamingConnection::connect(
      options,
      [pushes](const GrpcMessage& m) {
        if (pushes) pushes->record(m);
      },
      nullptr);
  EXPECT_TRUE(conn) << conn.error().message;
  return conn ? std::move(*conn) : nullptr;
}

GrpcMessage instanceRequest(const std::string& type, const std::string& service,
                            const std::string& ip, int port, const std::string& version = "v1") {
  GrpcMessage m;
  m.type = "InstanceRequest";
  m.body["namespace"] = "public";
  m.body["serviceName"] = service;
  m.body["groupName"] = "DEFAULT_GROUP";
  m.body["type"] = type;
  m.body["instance"] = {{"ip", ip},
                        {"port", port},
                        {"weight", 1.0},
                        {"healthy", true},
                        {"enabled", true},
                        {"ephemeral", true},
                        {"clusterName", "DEFAULT"},
                        {"metadata", {{"label", version}}}};
  return m;
}

GrpcMessage subscribeRequest(const std::string& service) {
  GrpcMessage m;
  m.type = "SubscribeServiceRequest";
  m.body["namespace"] = "public";
  m.body["serviceName"] = service;
  m.body["groupName"] = "DEFAULT_GROUP";
  m.body["subscribe"] = true;
  m.body["clusters"] = "";
  return m;
}

bool pushHas(const GrpcMessage& m, const std::string& service, const std::string& ip,
             bool present = true) {
  if (m.type != "NotifySubscriberRequest" || m.body.value("serviceName", "") != service) {
    return false;
  }
  bool found = false;
  for (const auto& h : m.body["serviceInfo"]["hosts"]) found |= h.value("ip", "") == ip;
  return found == present;
}

int errorCode(const Error& e) {
  auto pos = e.message.find("ErrorResponse ");
  return pos == std::string::npos ? -1 : std::atoi(e.message.c_str() + pos + 14);
}

TEST(NacosGrpc, ServerCheckGivesAConnectionIdAndSetupIsAcked) {
  RunningRegistry registry;
  GrpcMessage check;
  check.type = "ServerCheckRequest";
  auto reply = grpcUnaryOnce(registry.grpc(), check, 3s);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->type, "ServerCheckResponse");
  EXPECT_NE(reply->body.value("connectionId", "").find("_127.0.0.1_"), std::string::npos);
  EXPECT_TRUE(reply->body.value("supportAbilityNegotiation", false));
  // connect() waits for SetupAckRequest when negotiating: it fails without one.
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  EXPECT_FALSE(conn->connectionId().empty());
  GrpcMessage health;
  health.type = "HealthCheckRequest";
  auto pong = conn->request(health);
  ASSERT_TRUE(pong) << pong.error().message;
  EXPECT_EQ(pong->type, "HealthCheckResponse");
}

TEST(NacosGrpc, ClientsWithoutAbilityNegotiationWorkToo) {
  RunningRegistry registry;
  auto conn = connectTo(registry.grpc(), nullptr, /*negotiate=*/false);
  ASSERT_TRUE(conn);
  auto r = conn->request(instanceRequest("registerInstance", "old-client", "10.0.0.9", 80));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(registry.hasInstance("old-client", "10.0.0.9", 80));
}

TEST(NacosGrpc, RequestsWithoutARegisteredStreamAreRefusedAsUnregistered) {
  RunningRegistry registry;
  auto r = grpcUnaryOnce(registry.grpc(),
                         instanceRequest("registerInstance", "svc", "10.0.0.1", 80), 3s);
  ASSERT_FALSE(r);
  EXPECT_EQ(errorCode(r.error()), kGrpcCodeUnregistered) << r.error().message;
  EXPECT_NE(r.error().message.find("Connection is unregistered."), std::string::npos);
  EXPECT_FALSE(registry.hasInstance("svc", "10.0.0.1", 80));
}

TEST(NacosGrpc, EphemeralInstancesLiveAsLongAsTheirConnection) {
  RunningRegistry registry;
  auto provider = connectTo(registry.grpc());
  ASSERT_TRUE(provider);
  auto r =
      provider->request(instanceRequest("registerInstance", "service-provider", "10.0.0.11", 8070));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, "InstanceResponse");
  EXPECT_EQ(r->body.value("type", ""), "registerInstance");
  const NamingInstance* seen = nullptr;
  EXPECT_TRUE(registry.onIo([&] {
    seen = registry.server().store().findInstance("public", "DEFAULT_GROUP@@service-provider",
                                                  InstanceKey{"DEFAULT", "10.0.0.11", 8070});
    return seen != nullptr && seen->metadata.at("label") == "v1" && seen->ephemeral;
  }));
  // No beats over gRPC: expiry must not touch it.
  registry.onIo([&] {
    registry.server().store().sweep();
    return 0;
  });
  EXPECT_TRUE(registry.hasInstance("service-provider", "10.0.0.11", 8070));
  provider->close();
  EXPECT_TRUE(registry.eventually([&] {
    return registry.server().store().findInstance("public", "DEFAULT_GROUP@@service-provider",
                                                  InstanceKey{"DEFAULT", "10.0.0.11", 8070}) ==
           nullptr;
  }));
}

TEST(NacosGrpc, PersistentInstancesOutliveTheirConnection) {
  RunningRegistry registry;
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  GrpcMessage persistent = instanceRequest("registerInstance", "db", "10.0.0.40", 5432);
  persistent.type = "PersistentInstanceRequest";
  persistent.body["instance"]["ephemeral"] = false;
  auto r = conn->request(persistent);
  ASSERT_TRUE(r) << r.error().message;
  // InstanceRequest is for ephemeral instances only.
  GrpcMessage wrong = instanceRequest("registerInstance", "db", "10.0.0.41", 5432);
  wrong.body["instance"]["ephemeral"] = false;
  EXPECT_FALSE(conn->request(wrong));
  // An ephemeral one beside it shows when the close has been processed.
  ASSERT_TRUE(conn->request(instanceRequest("registerInstance", "db", "10.0.0.42", 5432)));
  conn->close();
  EXPECT_TRUE(registry.eventually([&] {
    return registry.server().store().findInstance(
               "public", "DEFAULT_GROUP@@db", InstanceKey{"DEFAULT", "10.0.0.42", 5432}) == nullptr;
  }));
  EXPECT_TRUE(registry.hasInstance("db", "10.0.0.40", 5432));
  EXPECT_TRUE(registry.onIo([&] {
    const NamingInstance* inst = registry.server().store().findInstance(
        "public", "DEFAULT_GROUP@@db", InstanceKey{"DEFAULT", "10.0.0.40", 5432});
    return inst != nullptr && !inst->ephemeral && inst->connection_id.empty();
  }));
  EXPECT_FALSE(registry.hasInstance("db", "10.0.0.41", 5432));
}

TEST(NacosGrpc, DeregisterRemovesOnlyThatInstance) {
  RunningRegistry registry;
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(conn->request(instanceRequest("registerInstance", "svc", "10.0.0.1", 80)));
  ASSERT_TRUE(conn->request(instanceRequest("registerInstance", "svc", "10.0.0.2", 80)));
  ASSERT_TRUE(conn->request(instanceRequest("deregisterInstance", "svc", "10.0.0.1", 80)));
  EXPECT_FALSE(registry.hasInstance("svc", "10.0.0.1", 80));
  EXPECT_TRUE(registry.hasInstance("svc", "10.0.0.2", 80));
}

TEST(NacosGrpc, SubscribersArePushedChangesFromGrpcAndFromTheHttpSide) {
  RunningRegistry registry;
  Pushes pushes;
  auto consumer = connectTo(registry.grpc(), &pushes);
  auto provider = connectTo(registry.grpc());
  ASSERT_TRUE(consumer && provider);
  auto sub = consumer->request(subscribeRequest("service-provider"));
  ASSERT_TRUE(sub) << sub.error().message;
  EXPECT_EQ(sub->type, "SubscribeServiceResponse");
  EXPECT_EQ(sub->body["serviceInfo"]["name"], "service-provider");
  EXPECT_EQ(sub->body["serviceInfo"]["groupName"], "DEFAULT_GROUP");
  EXPECT_TRUE(sub->body["serviceInfo"]["hosts"].empty());

  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(provider->request(
      instanceRequest("registerInstance", "service-provider", "10.0.0.11", 8070)));
  EXPECT_TRUE(pushes.waitFor(
      [](const GrpcMessage& m) { return pushHas(m, "service-provider", "10.0.0.11"); }, 1s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);

  // A v1 HTTP registration (the store directly, as NamingApi does) is pushed as well.
  registry.onIo([&] {
    NamingInstance inst;
    inst.ip = "10.0.0.12";
    inst.port = 8070;
    return registry.server()
        .store()
        .registerInstance("public", "DEFAULT_GROUP@@service-provider", inst)
        .has_value();
  });
  EXPECT_TRUE(pushes.waitFor(
      [](const GrpcMessage& m) { return pushHas(m, "service-provider", "10.0.0.12"); }));

  // The provider's connection closes: its instance is gone, and the push says so.
  provider->close();
  EXPECT_TRUE(pushes.waitFor([](const GrpcMessage& m) {
    return pushHas(m, "service-provider", "10.0.0.12") &&
           pushHas(m, "service-provider", "10.0.0.11", /*present=*/false);
  }));
}

TEST(NacosGrpc, QueryAndServiceListSeeInstancesRegisteredOverHttp) {
  RunningRegistry registry;
  registry.onIo([&] {
    NamingInstance inst;
    inst.ip = "10.0.0.5";
    inst.port = 9000;
    inst.metadata["label"] = "v2";
    return registry.server()
        .store()
        .registerInstance("public", "DEFAULT_GROUP@@from-http", inst)
        .has_value();
  });
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  GrpcMessage query;
  query.type = "ServiceQueryRequest";
  query.body = {{"namespace", "public"},
                {"serviceName", "from-http"},
                {"groupName", "DEFAULT_GROUP"},
                {"cluster", ""},
                {"healthyOnly", false}};
  auto q = conn->request(query);
  ASSERT_TRUE(q) << q.error().message;
  ASSERT_EQ(q->type, "QueryServiceResponse");
  ASSERT_EQ(q->body["serviceInfo"]["hosts"].size(), 1u);
  EXPECT_EQ(q->body["serviceInfo"]["hosts"][0]["ip"], "10.0.0.5");
  EXPECT_EQ(q->body["serviceInfo"]["hosts"][0]["metadata"]["label"], "v2");

  GrpcMessage list;
  list.type = "ServiceListRequest";
  list.body = {
      {"namespace", "public"}, {"groupName", "DEFAULT_GROUP"}, {"pageNo", 1}, {"pageSize", 10}};
  auto l = conn->request(list);
  ASSERT_TRUE(l) << l.error().message;
  EXPECT_EQ(l->body["count"], 1);
  EXPECT_EQ(l->body["serviceNames"], Json::array({"from-http"}));
}

TEST(NacosGrpc, BatchRegisterReplacesTheConnectionsInstancesOfTheService) {
  RunningRegistry registry;
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  auto batch = [&](std::vector<std::string> ips) {
    GrpcMessage m;
    m.type = "BatchInstanceRequest";
    m.body = {{"namespace", "public"},
              {"serviceName", "batch"},
              {"groupName", "DEFAULT_GROUP"},
              {"type", "batchRegisterInstance"}};
    m.body["instances"] = Json::array();
    for (const auto& ip : ips) m.body["instances"].push_back({{"ip", ip}, {"port", 80}});
    return conn->request(m);
  };
  auto r = batch({"10.0.0.1", "10.0.0.2"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->type, "BatchInstanceResponse");
  EXPECT_TRUE(registry.hasInstance("batch", "10.0.0.1", 80));
  EXPECT_TRUE(registry.hasInstance("batch", "10.0.0.2", 80));
  ASSERT_TRUE(batch({"10.0.0.2", "10.0.0.3"}));
  EXPECT_FALSE(registry.hasInstance("batch", "10.0.0.1", 80));
  EXPECT_TRUE(registry.hasInstance("batch", "10.0.0.3", 80));
}

TEST(NacosGrpc, BadRequestsGetAnErrorResponseAndChangeNothing) {
  RunningRegistry registry;
  auto conn = connectTo(registry.grpc());
  ASSERT_TRUE(conn);
  GrpcMessage unknown;
  unknown.type = "NoSuchRequest";
  auto u = conn->request(unknown);
  ASSERT_FALSE(u);
  EXPECT_EQ(errorCode(u.error()), kGrpcCodeNoHandler) << u.error().message;
  EXPECT_NE(u.error().message.find("NoSuchRequest"), std::string::npos);

  auto bad_port = instanceRequest("registerInstance", "svc", "10.0.0.1", 70000);
  auto p = conn->request(bad_port);
  ASSERT_FALSE(p);
  EXPECT_EQ(errorCode(p.error()), kGrpcCodeInvalidParam);
  EXPECT_NE(p.error().message.find("InstanceRequest.instance.port"), std::string::npos)
      << p.error().message;
  auto bad_type = instanceRequest("upsertInstance", "svc", "10.0.0.1", 80);
  EXPECT_FALSE(conn->request(bad_type));
  auto no_name = instanceRequest("registerInstance", "", "10.0.0.1", 80);
  EXPECT_FALSE(conn->request(no_name));
  EXPECT_FALSE(registry.hasInstance("svc", "10.0.0.1", 80));

  // The same connection keeps working.
  EXPECT_TRUE(conn->request(instanceRequest("registerInstance", "svc", "10.0.0.1", 80)));
}

// Raw bytes through a generic stub: garbage and malformed JSON bodies.
grpc::Status rawUnary(const net::HostPort& server, const std::string& method,
                      const std::string& bytes, std::string* reply) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxSendMessageSize(64 * 1024 * 1024);
  auto channel =
      grpc::CreateCustomChannel(server.toString(), grpc::InsecureChannelCredentials(), args);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) { done.set_value(s); });
  grpc::Status status = done.get_future().get();
  if (status.ok() && reply != nullptr) {
    std::vector<grpc::Slice> slices;
    (void)response.Dump(&slices);
    for (auto& s : slices) reply->append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return status;
}

TEST(NacosGrpc, GarbageOversizedAndUnknownMethodsAreRejectedAndOthersKeepWorking) {
  RegistryServerOptions options;
  options.grpc.max_message_bytes = 64 * 1024;
  RunningRegistry registry(options);
  auto bystander = connectTo(registry.grpc());
  ASSERT_TRUE(bystander);

  std::string reply;
  auto garbage = rawUnary(registry.grpc(), "/Request/request", "\xff\xfe garbage \x01", &reply);
  ASSERT_TRUE(garbage.ok()) << garbage.error_message();
  auto decoded = decodePayload(reply);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->type, "ErrorResponse");
  EXPECT_NE(decoded->body.value("message", "").find("not a Nacos Payload"), std::string::npos);

  GrpcMessage broken;
  broken.type = "InstanceRequest";
  std::string bytes = encodePayload(broken);
  // Replace the JSON "{}" body with malformed JSON of the same length.
  bytes.replace(bytes.rfind("{}"), 2, "{x");
  reply.clear();
  ASSERT_TRUE(rawUnary(registry.grpc(), "/Request/request", bytes, &reply).ok());
  decoded = decodePayload(reply);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->type, "ErrorResponse");
  EXPECT_NE(decoded->body.value("message", "").find("not valid JSON"), std::string::npos);

  auto oversized =
      rawUnary(registry.grpc(), "/Request/request", std::string(100 * 1024, 'a'), nullptr);
  EXPECT_EQ(oversized.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);

  auto unknown = rawUnary(registry.grpc(), "/Nope/nope", "x", nullptr);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(unknown.error_message().find("/Request/request"), std::string::npos);

  EXPECT_TRUE(bystander->request(instanceRequest("registerInstance", "svc", "10.0.0.7", 80)));
  EXPECT_TRUE(registry.hasInstance("svc", "10.0.0.7", 80));
}

TEST(NacosGrpc, StopAsksClientsToReconnect) {
  Pushes pushes;
  std::unique_ptr<GrpcNamingConnection> conn;
  {
    RunningRegistry registry;
    conn = connectTo(registry.grpc(), &pushes);
    ASSERT_TRUE(conn);
  }
  EXPECT_TRUE(pushes.waitFor([](const GrpcMessage& m) { return m.type == "ConnectResetRequest"; }));
}

}  // namespace
}  // namespace sluice::registry::nacos
