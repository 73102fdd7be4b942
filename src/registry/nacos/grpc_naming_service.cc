#include "registry/nacos/grpc_naming_service.h"

#include <asio/post.hpp>
#include <vector>

#include "core/log.h"
#include "core/strings.h"

namespace sluice::registry::nacos {

namespace {

// The abilities this server announces in SetupAckRequest (AbilityKey names).
Json serverAbilities() {
  Json table = Json::object();
  table["supportPersistentInstanceByGrpc"] = true;
  return table;
}

std::string stringOr(const Json& body, const char* name, std::string_view fallback) {
  auto it = body.find(name);
  if (it == body.end() || !it->is_string()) return std::string(fallback);
  std::string value(trim(it->get<std::string>()));
  return value.empty() ? std::string(fallback) : value;
}

Result<bool> boolOr(const Json& body, std::string_view type, const char* name, bool fallback) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  return invalidArgument("{}.{}: must be true or false, got {}", type, name, it->dump());
}

// "namespace" (default public) and the grouped service name of a naming request.
struct NamingTarget {
  std::string ns;
  std::string service;
};

Result<NamingTarget> readTarget(const GrpcMessage& request) {
  NamingTarget target;
  target.ns = stringOr(request.body, "namespace", kDefaultNamespace);
  auto name = request.body.find("serviceName");
  if (name == request.body.end() || !name->is_string() || trim(name->get<std::string>()).empty()) {
    return invalidArgument("{}.serviceName: required", request.type);
  }
  auto grouped = groupedServiceName(name->get<std::string>(),
                                    stringOr(request.body, "groupName", kDefaultGroup));
  if (!grouped) return invalidArgument("{}: {}", request.type, grouped.error().message);
  target.service = std::move(*grouped);
  return target;
}

// "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000" -> ("127.0.0.1", "5000").
std::pair<std::string, std::string> peerAddress(std::string_view peer) {
  if (size_t colon = peer.find(':'); colon != std::string_view::npos && colon < 5) {
    peer.remove_prefix(colon + 1);
  }
  size_t last = peer.rfind(':');
  if (last == std::string_view::npos) return {std::string(peer), "0"};
  std::string host(peer.substr(0, last));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {host, std::string(peer.substr(last + 1))};
}

int64_t nowMs() { return systemClockMs(); }

}  // namespace

GrpcNamingService::GrpcNamingService(asio::io_context& io, NamingStore& store,
                                     GrpcNamingOptions options)
    : io_(io), store_(store), options_(options), retry_timer_(io) {
  store_.setChangeListener(
      [this](const std::string& ns, const std::string& service) { onStoreChange(ns, service); });
}

GrpcNamingService::~GrpcNamingService() {
  *alive_ = false;
  store_.setChangeListener(nullptr);
  retry_timer_.cancel();
}

size_t GrpcNamingService::subscriberCount() const {
  size_t n = 0;
  for (const auto& [peer, conn] : connections_) n += conn.subscriptions.size();
  return n;
}

GrpcNamingService::Connection* GrpcNamingService::findConnection(const std::string& peer) {
  auto it = connections_.find(peer);
  return it == connections_.end() ? nullptr : &it->second;
}

GrpcMessage GrpcNamingService::handleUnary(const std::string& peer, const GrpcMessage& request) {
  if (request.type == "ServerCheckRequest") return serverCheck(peer, request);
  Connection* conn = findConnection(peer);
  if (conn == nullptr || !conn->registered) {
    return makeErrorResponse(kGrpcCodeUnregistered, "Connection is unregistered.", &request);
  }
  if (request.type == "HealthCheckRequest") return makeResponse("HealthCheckResponse", request);
  if (request.type == "InstanceRequest") return instanceRequest(*conn, request, false);
  if (request.type == "PersistentInstanceRequest") return instanceRequest(*conn, request, true);
  if (request.type == "BatchInstanceRequest") return batchInstanceRequest(*conn, request);
  if (request.type == "ServiceQueryRequest") return serviceQuery(request);
  if (request.type == "SubscribeServiceRequest") return subscribeService(*conn, request);
  if (request.type == "ServiceListRequest") return serviceList(request);
  SLUICE_LOG_WARN("nacos grpc: {} sent an unknown request type '{}'", peer, request.type);
  return makeErrorResponse(kGrpcCodeNoHandler,
                           fmt::format("Unknown payload type: '{}' is not a request this "
                                       "registry serves",
                                       request.type),
                           &request);
}

GrpcMessage GrpcNamingService::serverCheck(const std::string& peer, const GrpcMessage& request) {
  auto now = std::chrono::steady_clock::now();
  // Forget ids of peers that never opened their stream.
  std::erase_if(checked_, [&](const auto& entry) {
    return now - entry.second.second > std::chrono::minutes(1);
  });
  std::string id;
  if (Connection* conn = findConnection(peer)) {
    id = conn->id;
  } else {
    auto [ip, port] = peerAddress(peer);
    id = fmt::format("{}_{}_{}", nowMs(), ip, port);
    checked_[peer] = {id, now};
  }
  GrpcMessage response = makeResponse("ServerCheckResponse", request);
  response.body["connectionId"] = id;
  response.body["supportAbilityNegotiation"] = true;
  return response;
}

uint64_t GrpcNamingService::streamOpened(const std::string& peer, StreamWriter writer) {
  uint64_t stream_id = next_stream_id_++;
  Connection& conn = connections_[peer];
  if (conn.stream_id != 0) {
    SLUICE_LOG_INFO("nacos grpc: {} opened a second stream; the newer one is used", peer);
  }
  if (conn.id.empty()) {
    if (auto it = checked_.find(peer); it != checked_.end()) {
      conn.id = it->second.first;
      checked_.erase(it);
    } else {
      auto [ip, port] = peerAddress(peer);
      conn.id = fmt::format("{}_{}_{}", nowMs(), ip, port);
    }
  }
  conn.peer = peer;
  conn.stream_id = stream_id;
  conn.writer = std::move(writer);
  return stream_id;
}

void GrpcNamingService::streamMessage(const std::string& peer, uint64_t stream_id,
                                      const GrpcMessage& message) {
  Connection* conn = findConnection(peer);
  if (conn == nullptr || conn->stream_id != stream_id) return;
  if (message.type == "ConnectionSetupRequest") {
    connectionSetup(*conn, message);
    return;
  }
  if (message.type == "NotifySubscriberResponse") {
    std::string request_id = stringOr(message.body, "requestId", "");
    auto it = pending_pushes_.find(request_id);
    if (it == pending_pushes_.end()) return;
    if (!responseSucceeded(message)) {
      SLUICE_LOG_WARN("nacos grpc: connection {} refused push {} of {}: {}", conn->id, request_id,
                      it->second.subscription.service, describeResponseError(message));
      it->second.deadline = std::chrono::steady_clock::now();  // retried at once
      armRetryTimer();
      return;
    }
    pending_pushes_.erase(it);
    return;
  }
  if (message.type.ends_with("Response")) return;  // answers to SetupAck, reset, detection
  // A request on the stream that this server does not take: tell the client, keep the stream.
  SLUICE_LOG_WARN("nacos grpc: connection {} sent '{}' on its stream; not served", conn->id,
                  message.type);
  if (conn->writer) {
    conn->writer(makeErrorResponse(
        kGrpcCodeNoHandler,
        fmt::format("Unknown payload type: '{}' is not taken on the stream", message.type),
        &message));
  }
}

void GrpcNamingService::connectionSetup(Connection& conn, const GrpcMessage& message) {
  bool first = !conn.registered;
  conn.registered = true;
  conn.client_version = stringOr(message.body, "clientVersion", "unknown");
  if (first) {
    SLUICE_LOG_INFO("nacos grpc: connection {} from {} ({}) registered", conn.id, conn.peer,
                    conn.client_version);
  }
  auto table = message.body.find("abilityTable");
  if (table != message.body.end() && !table->is_null() && conn.writer) {
    GrpcMessage ack = serverRequest("SetupAckRequest");
    ack.body["abilityTable"] = serverAbilities();
    conn.writer(std::move(ack));
  }
}

void GrpcNamingService::streamClosed(const std::string& peer, uint64_t stream_id) {
  auto it = connections_.find(peer);
  if (it == connections_.end() || it->second.stream_id != stream_id) return;
  Connection conn = std::move(it->second);
  connections_.erase(it);
  size_t removed = 0;
  for (const OwnedInstance& owned : conn.instances) {
    const NamingInstance* inst = store_.findInstance(owned.ns, owned.service, owned.key);
    if (inst == nullptr || inst->connection_id != conn.id) continue;  // replaced meanwhile
    if (auto s = store_.deregisterInstance(owned.ns, owned.service, owned.key, true); s) {
      ++removed;
    }
  }
  std::erase_if(pending_pushes_, [&](const auto& entry) { return entry.second.peer == peer; });
  SLUICE_LOG_INFO(
      "nacos grpc: connection {} closed: {} instance(s) removed, {} subscription(s) "
      "dropped",
      conn.id, removed, conn.subscriptions.size());
}

void GrpcNamingService::resetAll() {
  for (auto& [peer, conn] : connections_) {
    if (!conn.writer) continue;
    GrpcMessage reset = serverRequest("ConnectResetRequest");
    reset.body["serverIp"] = "";
    reset.body["serverPort"] = "";
    reset.body["connectionId"] = conn.id;
    conn.writer(std::move(reset));
  }
}

GrpcMessage GrpcNamingService::serverRequest(std::string type) {
  GrpcMessage message;
  message.type = std::move(type);
  message.body["requestId"] = std::to_string(next_request_id_++);
  message.body["headers"] = Json::object();
  message.body["module"] = "internal";
  return message;
}

GrpcMessage GrpcNamingService::instanceRequest(Connection& conn, const GrpcMessage& request,
                                               bool persistent) {
  auto fail = [&](const Error& e) {
    return makeErrorResponse(kGrpcCodeInvalidParam, e.message, &request);
  };
  auto target = readTarget(request);
  if (!target) return fail(target.error());
  auto instance_doc = request.body.find("instance");
  if (instance_doc == request.body.end()) {
    return makeErrorResponse(kGrpcCodeInvalidParam, request.type + ".instance: required", &request);
  }
  auto inst = parseInstanceJson(*instance_doc, request.type + ".instance");
  if (!inst) return fail(inst.error());
  std::string type = stringOr(request.body, "type", "");
  GrpcMessage response = makeResponse("InstanceResponse", request);
  response.body["type"] = type;
  InstanceKey key{inst->cluster, inst->ip, inst->port};
  if (type == "registerInstance") {
    if (!persistent && !inst->ephemeral) {
      return makeErrorResponse(kGrpcCodeInvalidParam,
                               "InstanceRequest registers ephemeral instances only; "
                               "send PersistentInstanceRequest for ephemeral=false",
                               &request);
    }
    inst->ephemeral = !persistent;
    inst->connection_id = persistent ? "" : conn.id;
    inst->instance_id = makeInstanceId(inst->ip, inst->port, inst->cluster, target->service);
    std::string what =
        fmt::format("{}:{} of {} in namespace {} (cluster {}{})", inst->ip, inst->port,
                    target->service, target->ns, inst->cluster, persistent ? ", persistent" : "");
    auto status = store_.registerInstance(target->ns, target->service, std::move(*inst));
    if (!status) return makeErrorResponse(kGrpcCodeServerError, status.error().message, &request);
    if (!persistent) conn.instances.insert(OwnedInstance{target->ns, target->service, key});
    SLUICE_LOG_INFO("nacos grpc: connection {} registered {}", conn.id, what);
    return response;
  }
  if (type == "deregisterInstance") {
    auto status = store_.deregisterInstance(target->ns, target->service, key, !persistent);
    if (!status) return makeErrorResponse(kGrpcCodeServerError, status.error().message, &request);
    conn.instances.erase(OwnedInstance{target->ns, target->service, key});
    SLUICE_LOG_INFO("nacos grpc: connection {} deregistered {}:{} of {}", conn.id, key.ip, key.port,
                    target->service);
    return response;
  }
  return makeErrorResponse(
      kGrpcCodeInvalidParam,
      fmt::format("{}.type: '{}' is neither registerInstance nor deregisterInstance", request.type,
                  type),
      &request);
}

GrpcMessage GrpcNamingService::batchInstanceRequest(Connection& conn, const GrpcMessage& request) {
  auto target = readTarget(request);
  if (!target) return makeErrorResponse(kGrpcCodeInvalidParam, target.error().message, &request);
  std::string type = stringOr(request.body, "type", "");
  if (type != "batchRegisterInstance" && type != "batchDeregisterInstance") {
    return makeErrorResponse(kGrpcCodeInvalidParam,
                             fmt::format("BatchInstanceRequest.type: '{}' is neither "
                                         "batchRegisterInstance nor batchDeregisterInstance",
                                         type),
                             &request);
  }
  auto list = request.body.find("instances");
  if (list == request.body.end() || !list->is_array()) {
    return makeErrorResponse(kGrpcCodeInvalidParam,
                             "BatchInstanceRequest.instances: must be an array", &request);
  }
  // Validate everything first: a bad entry changes nothing.
  std::vector<NamingInstance> instances;
  for (size_t i = 0; i < list->size(); ++i) {
    auto inst = parseInstanceJson((*list)[i], fmt::format("BatchInstanceRequest.instances[{}]", i));
    if (!inst) return makeErrorResponse(kGrpcCodeInvalidParam, inst.error().message, &request);
    if (!inst->ephemeral) {
      return makeErrorResponse(
          kGrpcCodeInvalidParam,
          fmt::format("BatchInstanceRequest.instances[{}]: only ephemeral instances", i), &request);
    }
    instances.push_back(std::move(*inst));
  }
  GrpcMessage response = makeResponse("BatchInstanceResponse", request);
  response.body["type"] = type;
  std::set<InstanceKey> listed;
  for (const auto& inst : instances) listed.insert(InstanceKey{inst.cluster, inst.ip, inst.port});
  if (type == "batchDeregisterInstance") {
    for (const InstanceKey& key : listed) {
      (void)store_.deregisterInstance(target->ns, target->service, key, true);
      conn.instances.erase(OwnedInstance{target->ns, target->service, key});
    }
    return response;
  }
  // batchRegisterInstance replaces what this connection had registered for the service.
  for (auto it = conn.instances.begin(); it != conn.instances.end();) {
    if (it->ns == target->ns && it->service == target->service && listed.count(it->key) == 0) {
      const NamingInstance* old = store_.findInstance(it->ns, it->service, it->key);
      if (old != nullptr && old->connection_id == conn.id) {
        (void)store_.deregisterInstance(it->ns, it->service, it->key, true);
      }
      it = conn.instances.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& inst : instances) {
    InstanceKey key{inst.cluster, inst.ip, inst.port};
    inst.connection_id = conn.id;
    inst.instance_id = makeInstanceId(inst.ip, inst.port, inst.cluster, target->service);
    auto status = store_.registerInstance(target->ns, target->service, std::move(inst));
    if (!status) return makeErrorResponse(kGrpcCodeServerError, status.error().message, &request);
    conn.instances.insert(OwnedInstance{target->ns, target->service, key});
  }
  SLUICE_LOG_INFO("nacos grpc: connection {} batch-registered {} instance(s) of {}", conn.id,
                  listed.size(), target->service);
  return response;
}

Json GrpcNamingService::serviceInfo(const std::string& ns, const std::string& service,
                                    const std::string& clusters, bool healthy_only) const {
  std::vector<const NamingInstance*> all;
  if (const ServiceRecord* record = store_.findService(ns, service)) {
    for (const auto& [key, inst] : record->instances) all.push_back(&inst);
  }
  ServiceInfoView view{service, clusters, healthy_only, options_.cache_millis, store_.now()};
  return serviceInfoJson(view, all);
}

GrpcMessage GrpcNamingService::serviceQuery(const GrpcMessage& request) {
  auto target = readTarget(request);
  if (!target) return makeErrorResponse(kGrpcCodeInvalidParam, target.error().message, &request);
  auto healthy_only = boolOr(request.body, request.type, "healthyOnly", false);
  if (!healthy_only) {
    return makeErrorResponse(kGrpcCodeInvalidParam, healthy_only.error().message, &request);
  }
  GrpcMessage response = makeResponse("QueryServiceResponse", request);
  response.body["serviceInfo"] = serviceInfo(target->ns, target->service,
                                             stringOr(request.body, "cluster", ""), *healthy_only);
  return response;
}

GrpcMessage GrpcNamingService::subscribeService(Connection& conn, const GrpcMessage& request) {
  auto target = readTarget(request);
  if (!target) return makeErrorResponse(kGrpcCodeInvalidParam, target.error().message, &request);
  auto subscribe = boolOr(request.body, request.type, "subscribe", true);
  if (!subscribe) {
    return makeErrorResponse(kGrpcCodeInvalidParam, subscribe.error().message, &request);
  }
  Subscription subscription{target->ns, target->service, stringOr(request.body, "clusters", "")};
  if (*subscribe) {
    if (conn.subscriptions.insert(subscription).second) {
      SLUICE_LOG_INFO("nacos grpc: connection {} subscribed to {} in namespace {}", conn.id,
                      target->service, target->ns);
    }
  } else {
    conn.subscriptions.erase(subscription);
  }
  GrpcMessage response = makeResponse("SubscribeServiceResponse", request);
  response.body["serviceInfo"] =
      serviceInfo(target->ns, target->service, subscription.clusters, false);
  return response;
}

GrpcMessage GrpcNamingService::serviceList(const GrpcMessage& request) {
  auto page = [&](const char* name) -> Result<int64_t> {
    auto it = request.body.find(name);
    if (it == request.body.end() || it->is_null()) return name[4] == 'N' ? 1 : 10;
    if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > INT32_MAX) {
      return invalidArgument("ServiceListRequest.{}: must be a positive integer, got {}", name,
                             it->dump());
    }
    return it->get<int64_t>();
  };
  auto page_no = page("pageNo");
  if (!page_no) return makeErrorResponse(kGrpcCodeInvalidParam, page_no.error().message, &request);
  auto page_size = page("pageSize");
  if (!page_size) {
    return makeErrorResponse(kGrpcCodeInvalidParam, page_size.error().message, &request);
  }
  if (auto sel = request.body.find("selector");
      sel != request.body.end() && sel->is_string() && !trim(sel->get<std::string>()).empty()) {
    std::string text = sel->get<std::string>();
    bool none = false;
    try {
      auto doc = nlohmann::json::parse(text);
      none = doc.is_object() && doc.value("type", "none") == "none";
    } catch (const nlohmann::json::exception&) {
    }
    if (!none) {
      return makeErrorResponse(kGrpcCodeInvalidParam,
                               fmt::format("ServiceListRequest.selector '{}' is not supported by "
                                           "this registry (only {{\"type\":\"none\"}})",
                                           text),
                               &request);
    }
  }
  std::string ns = stringOr(request.body, "namespace", kDefaultNamespace);
  std::string group = stringOr(request.body, "groupName", kDefaultGroup);
  std::vector<std::string> names = store_.serviceNames(ns, group);
  uint64_t start = static_cast<uint64_t>(*page_no - 1) * static_cast<uint64_t>(*page_size);
  Json list = Json::array();
  for (uint64_t i = start; i < names.size() && i < start + static_cast<uint64_t>(*page_size); ++i) {
    list.push_back(splitGroupedName(names[i]).second);
  }
  GrpcMessage response = makeResponse("ServiceListResponse", request);
  response.body["count"] = names.size();
  response.body["serviceNames"] = std::move(list);
  return response;
}

// --- push ------------------------------------------------------------------------------------

void GrpcNamingService::onStoreChange(const std::string& ns, const std::string& service) {
  dirty_.emplace(ns, service);
  if (flush_posted_) return;
  flush_posted_ = true;
  // Coalesced: a batch of changes in one turn of the loop becomes one push per subscriber.
  asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    flushPushes();
  });
}

void GrpcNamingService::flushPushes() {
  flush_posted_ = false;
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (auto& [peer, conn] : connections_) {
    for (const Subscription& subscription : conn.subscriptions) {
      if (dirty.count({subscription.ns, subscription.service}) != 0) push(conn, subscription, 1);
    }
  }
}

void GrpcNamingService::push(Connection& conn, const Subscription& subscription, int attempt) {
  if (!conn.writer) return;
  // A newer push of the same subscription supersedes an unacked older one.
  std::erase_if(pending_pushes_, [&](const auto& entry) {
    return entry.second.peer == conn.peer && entry.second.subscription == subscription;
  });
  GrpcMessage message = serverRequest("NotifySubscriberRequest");
  message.body["module"] = "naming";
  auto [group, bare] = splitGroupedName(subscription.service);
  message.body["namespace"] = subscription.ns;
  message.body["serviceName"] = bare;
  message.body["groupName"] = group;
  message.body["serviceInfo"] =
      serviceInfo(subscription.ns, subscription.service, subscription.clusters, false);
  std::string request_id = message.body["requestId"].get<std::string>();
  if (!conn.writer(std::move(message))) return;
  pending_pushes_[request_id] =
      PendingPush{conn.peer, subscription, attempt,
                  std::chrono::steady_clock::now() + options_.push_ack_timeout};
  armRetryTimer();
}

void GrpcNamingService::armRetryTimer() {
  if (retry_armed_ || pending_pushes_.empty()) return;
  retry_armed_ = true;
  auto earliest = std::chrono::steady_clock::time_point::max();
  for (const auto& [id, p] : pending_pushes_) earliest = std::min(earliest, p.deadline);
  retry_timer_.expires_at(earliest);
  retry_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const asio::error_code& ec) {
    if (ec || alive.expired()) return;
    retry_armed_ = false;
    retryPushes();
  });
}

void GrpcNamingService::retryPushes() {
  auto now = std::chrono::steady_clock::now();
  std::vector<PendingPush> due;
  for (auto it = pending_pushes_.begin(); it != pending_pushes_.end();) {
    if (it->second.deadline <= now) {
      due.push_back(std::move(it->second));
      it = pending_pushes_.erase(it);
    } else {
      ++it;
    }
  }
  for (const PendingPush& p : due) {
    Connection* conn = findConnection(p.peer);
    if (conn == nullptr || conn->subscriptions.count(p.subscription) == 0) continue;
    if (p.attempt >= options_.push_attempts) {
      SLUICE_LOG_WARN(
          "nacos grpc: connection {} did not ack the push of {} after {} attempt(s); "
          "giving up until the next change",
          conn->id, p.subscription.service, p.attempt);
      continue;
    }
    push(*conn, p.subscription, p.attempt + 1);
  }
  armRetryTimer();
}

}  // namespace sluice::registry::nacos
