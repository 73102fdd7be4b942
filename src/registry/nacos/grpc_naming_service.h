#pragma once
// The Nacos gRPC naming protocol over a NamingStore, independent of the transport (grpc_server.h
// carries the bytes): connections, the requests a nacos-client 2.x/3.x sends, and server push.
//
//   unary  ServerCheckRequest          -> ServerCheckResponse{connectionId, abilities negotiated}
//   stream ConnectionSetupRequest      registers the connection; when it carries an abilityTable
//                                      (clients >= 2.3) the server answers SetupAckRequest
//   unary  HealthCheckRequest          keep-alive
//   unary  InstanceRequest             register/deregisterInstance: ephemeral instances owned by
//                                      the connection (no beats; removed when it closes)
//   unary  PersistentInstanceRequest   register/deregisterInstance, ephemeral=false (kept on disk)
//   unary  BatchInstanceRequest        batchRegisterInstance (replaces this connection's
//                                      instances of the service) / batchDeregisterInstance
//   unary  ServiceQueryRequest         -> QueryServiceResponse{serviceInfo}
//   unary  SubscribeServiceRequest     -> SubscribeServiceResponse{serviceInfo}; subscribe=true
//                                      makes every later change of the service a push
//   unary  ServiceListRequest          -> ServiceListResponse{count, serviceNames}
//   stream NotifySubscriberRequest     server push; the client's NotifySubscriberResponse acks
//                                      it, an unacked push is re-sent with the current state
//   stream ConnectResetRequest         server-initiated: resetAll() before shutdown
//
// Connections are identified by the transport peer ("ipv4:127.0.0.1:53412"), like the real
// server's transport-bound connection id: a unary call from a peer without a registered stream
// gets ErrorResponse 301 ("Connection is unregistered."), which makes a real client reconnect.
// Bad input gets an ErrorResponse naming the request type and field (400), an unknown type 302;
// nothing changes in the store then.
//
// Threading: every method runs on the io_context's thread (the store's thread). A StreamWriter
// may be called there at any time until streamClosed() for its stream returns.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>

#include "registry/nacos/grpc_codec.h"
#include "registry/nacos/naming_store.h"

namespace sluice::registry::nacos {

struct GrpcNamingOptions {
  int64_t cache_millis = 10'000;  // cacheMillis in serviceInfo (push clients barely use it)
  std::chrono::milliseconds push_ack_timeout{3000};
  int push_attempts = 3;  // sends of one change before the push is given up (logged)
};

class GrpcNamingService {
 public:
  // Sends one server-initiated message on a connection's bi-stream; false when it is gone.
  using StreamWriter = std::function<bool(GrpcMessage)>;

  GrpcNamingService(asio::io_context& io, NamingStore& store, GrpcNamingOptions options = {});
  ~GrpcNamingService();
  GrpcNamingService(const GrpcNamingService&) = delete;
  GrpcNamingService& operator=(const GrpcNamingService&) = delete;

  // One /Request/request call.
  GrpcMessage handleUnary(const std::string& peer, const GrpcMessage& request);
  // A /BiRequestStream/requestBiStream call was opened; returns its stream id. A newer stream of
  // the same peer replaces the older one.
  uint64_t streamOpened(const std::string& peer, StreamWriter writer);
  // A message the client sent on that stream (setup, acks, answers to server requests).
  void streamMessage(const std::string& peer, uint64_t stream_id, const GrpcMessage& message);
  // The stream ended (client gone, connection lost, shutdown): the connection's ephemeral
  // instances are deregistered (subscribers are pushed) and its subscriptions dropped.
  void streamClosed(const std::string& peer, uint64_t stream_id);
  // Asks every client to reconnect (ConnectResetRequest), e.g. before a shutdown.
  void resetAll();

  size_t connectionCount() const { return connections_.size(); }
  size_t subscriberCount() const;

 private:
  struct Subscription {
    std::string ns;
    std::string service;  // grouped
    std::string clusters;
    auto operator<=>(const Subscription&) const = default;
  };
  struct OwnedInstance {
    std::string ns;
    std::string service;
    InstanceKey key;
    auto operator<=>(const OwnedInstance&) const = default;
  };
  struct Connection {
    std::string id;  // connectionId: <ms>_<ip>_<port>
    std::string peer;
    uint64_t stream_id = 0;
    StreamWriter writer;
    bool registered = false;  // ConnectionSetupRequest seen
    std::string client_version;
    std::set<OwnedInstance> instances;
    std::set<Subscription> subscriptions;
  };
  struct PendingPush {
    std::string peer;
    Subscription subscription;
    int attempt = 1;
    std::chrono::steady_clock::time_point deadline;
  };

  GrpcMessage serverCheck(const std::string& peer, const GrpcMessage& request);
  GrpcMessage instanceRequest(Connection& conn, const GrpcMessage& request, bool persistent);
  GrpcMessage batchInstanceRequest(Connection& conn, const GrpcMessage& request);
  GrpcMessage serviceQuery(const GrpcMessage& request);
  GrpcMessage subscribeService(Connection& conn, const GrpcMessage& request);
  GrpcMessage serviceList(const GrpcMessage& request);
  void connectionSetup(Connection& conn, const GrpcMessage& message);

  Json serviceInfo(const std::string& ns, const std::string& service, const std::string& clusters,
                   bool healthy_only) const;
  void onStoreChange(const std::string& ns, const std::string& service);
  void flushPushes();
  void push(Connection& conn, const Subscription& subscription, int attempt);
  void armRetryTimer();
  void retryPushes();
  Connection* findConnection(const std::string& peer);
  GrpcMessage serverRequest(std::string type);

  asio::io_context& io_;
  NamingStore& store_;
  GrpcNamingOptions options_;
  std::map<std::string, Connection> connections_;  // by peer
  // Ids handed out by ServerCheck before the peer's stream opens: (id, when) by peer.
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> checked_;
  std::set<std::pair<std::string, std::string>> dirty_;  // (ns, grouped service) to push
  bool flush_posted_ = false;
  std::map<std::string, PendingPush> pending_pushes_;  // by push requestId
  asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  uint64_t next_stream_id_ = 1;
  uint64_t next_request_id_ = 1;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sluice::registry::nacos
