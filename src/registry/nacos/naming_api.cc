#include "registry/nacos/naming_api.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/log.h"
#include "core/strings.h"
#include "registry/nacos/md5.h"
#include "registry/nacos/params.h"

namespace sluice::registry::nacos {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kBase = "/nacos/v1/ns";
constexpr int kCodeOk = 10200;
constexpr int kCodeResourceNotFound = 20404;

http::Response makeResponse(int status, std::string body, std::string_view content_type) {
  http::Response response;
  response.head.status = status;
  response.head.reason = std::string(http::reasonPhrase(status));
  response.head.headers.set("Content-Type", content_type);
  response.body = std::move(body);
  return response;
}

http::Response okText() { return makeResponse(200, "ok", "text/plain;charset=UTF-8"); }

http::Response jsonResponse(const Json& doc) {
  // Names and ids come from the request: bytes that are not UTF-8 are replaced, not thrown about.
  return makeResponse(200, doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json;charset=UTF-8");
}

// The real server's error body: ExceptionUtil.getAllExceptionMsg -> "caused: <message>;".
http::Response errorResponse(int status, const std::string& message) {
  return makeResponse(status, fmt::format("caused: {};", message), "text/plain;charset=UTF-8");
}

int statusFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 400;  // update/patch of a missing instance: INVALID_PARAM
    default:
      return 500;
  }
}

http::Response fromError(const Error& error) {
  return errorResponse(statusFor(error), error.message);
}

Result<Params> readParams(const http::Request& request, std::string_view query) {
  Params params;
  SLUICE_RETURN_IF_ERROR(params.addEncoded(query));
  auto content_type = request.head.headers.get("Content-Type");
  if (!request.body.empty() && content_type &&
      startsWith(toLower(*content_type), "application/x-www-form-urlencoded")) {
    SLUICE_RETURN_IF_ERROR(params.addEncoded(request.body));
  }
  return params;
}

struct Target {
  std::string ns;
  std::string service;  // grouped
};

Result<Target> readTarget(const Params& params) {
  Target target;
  target.ns = std::string(trim(params.optional("namespaceId", kDefaultNamespace)));
  SLUICE_ASSIGN_OR_RETURN(std::string name, params.required("serviceName"));
  SLUICE_ASSIGN_OR_RETURN(target.service,
                          groupedServiceName(name, params.optional("groupName", kDefaultGroup)));
  return target;
}

// clusterName, falling back to the older "cluster", then DEFAULT.
Result<std::string> readCluster(const Params& params) {
  std::string cluster = std::string(
      trim(params.optional("clusterName", params.optional("cluster", kDefaultCluster))));
  SLUICE_RETURN_IF_ERROR(checkClusterName(cluster));
  return cluster;
}

Result<InstanceKey> readKey(const Params& params) {
  InstanceKey key;
  SLUICE_ASSIGN_OR_RETURN(key.cluster, readCluster(params));
  SLUICE_ASSIGN_OR_RETURN(std::string ip, params.required("ip"));
  key.ip = std::string(trim(ip));
  SLUICE_RETURN_IF_ERROR(checkIp(key.ip));
  SLUICE_ASSIGN_OR_RETURN(std::string port, params.required("port"));
  SLUICE_ASSIGN_OR_RETURN(key.port, parsePortParam(port));
  return key;
}

Result<bool> optionalBool(const Params& params, std::string_view name, bool fallback) {
  auto value = params.get(name);
  if (!value || trim(*value).empty()) return fallback;
  return parseBoolParam(name, *value);
}

// Everything POST and PUT /instance read (InstanceController.parseInstance).
Result<NamingInstance> readInstance(const Params& params, const Target& target) {
  NamingInstance inst;
  SLUICE_ASSIGN_OR_RETURN(InstanceKey key, readKey(params));
  inst.cluster = key.cluster;
  inst.ip = key.ip;
  inst.port = key.port;
  SLUICE_ASSIGN_OR_RETURN(inst.weight, parseWeightParam(params.optional("weight", "1")));
  // Clients send `enable`; the server reads `enabled` first.
  auto enabled_text = params.optional("enabled", params.optional("enable", "true"));
  SLUICE_ASSIGN_OR_RETURN(inst.enabled, parseBoolParam("enabled", enabled_text));
  SLUICE_ASSIGN_OR_RETURN(inst.healthy, optionalBool(params, "healthy", true));
  SLUICE_ASSIGN_OR_RETURN(inst.ephemeral, optionalBool(params, "ephemeral", true));
  SLUICE_ASSIGN_OR_RETURN(inst.metadata, parseMetadata(params.optional("metadata", "")));
  inst.app = params.optional("app", "DEFAULT");
  inst.instance_id = makeInstanceId(inst.ip, inst.port, inst.cluster, target.service);
  return inst;
}

std::string describeRequest(const http::Request& request, std::string_view path) {
  return fmt::format("{} {}", request.head.method, path);
}

class RequestHandler {
 public:
  RequestHandler(NamingStore& store, const ApiOptions& options, const http::Request& request,
                 Params params)
      : store_(store), options_(options), request_(request), params_(std::move(params)) {}

  http::Response registerInstance() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    auto inst = readInstance(params_, *target);
    if (!inst) return fromError(inst.error());
    std::string what = fmt::format("{}:{} of {} in namespace {} (cluster {}{})", inst->ip,
                                   inst->port, target->service, target->ns, inst->cluster,
                                   inst->ephemeral ? "" : ", persistent");
    auto status = store_.registerInstance(target->ns, target->service, std::move(*inst));
    if (!status) return fromError(status.error());
    SLUICE_LOG_INFO("nacos: registered {}", what);
    return okText();
  }

  http::Response updateInstance() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    auto inst = readInstance(params_, *target);
    if (!inst) return fromError(inst.error());
    if (store_.findService(target->ns, target->service) == nullptr) {
      return errorResponse(400, fmt::format("service not found, namespace: {}, service: {}",
                                            target->ns, target->service));
    }
    auto status = store_.updateInstance(target->ns, target->service, *inst);
    return status ? okText() : fromError(status.error());
  }

  http::Response patchInstance() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    auto key = readKey(params_);
    if (!key) return fromError(key.error());
    InstancePatch patch;
    if (auto v = params_.optional("weight", ""); !v.empty()) {
      auto weight = parseWeightParam(v);
      if (!weight) return fromError(weight.error());
      patch.weight = *weight;
    }
    for (auto [name, field] :
         {std::pair{"enabled", &patch.enabled}, std::pair{"healthy", &patch.healthy}}) {
      if (auto v = params_.optional(name, ""); !v.empty()) {
        auto flag = parseBoolParam(name, v);
        if (!flag) return fromError(flag.error());
        *field = *flag;
      }
    }
    if (auto v = params_.optional("metadata", ""); !v.empty()) {
      auto metadata = parseMetadata(v);
      if (!metadata) return fromError(metadata.error());
      patch.metadata = std::move(*metadata);
    }
    if (auto v = params_.optional("app", ""); !v.empty()) patch.app = v;
    auto status = store_.patchInstance(target->ns, target->service, *key, patch);
    if (!status && status.error().code == ErrorCode::kNotFound) {
      return errorResponse(400, "instance not found");
    }
    return status ? okText() : fromError(status.error());
  }

  http::Response deregisterInstance() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    auto key = readKey(params_);
    if (!key) return fromError(key.error());
    auto ephemeral = optionalBool(params_, "ephemeral", true);
    if (!ephemeral) return fromError(ephemeral.error());
    bool existed = store_.findInstance(target->ns, target->service, *key) != nullptr;
    auto status = store_.deregisterInstance(target->ns, target->service, *key, *ephemeral);
    if (!status) return fromError(status.error());
    if (existed && store_.findInstance(target->ns, target->service, *key) == nullptr) {
      SLUICE_LOG_INFO("nacos: deregistered {}:{} of {} in namespace {}", key->ip, key->port,
                      target->service, target->ns);
    }
    return okText();
  }

  http::Response instanceDetail() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    auto key = readKey(params_);
    if (!key) return fromError(key.error());
    const ServiceRecord* record = store_.findService(target->ns, target->service);
    if (record == nullptr) {
      return errorResponse(404, fmt::format("no service {} found!", target->service));
    }
    bool cluster_has_ips = false;
    for (const auto& [k, inst] : record->instances) cluster_has_ips |= k.cluster == key->cluster;
    if (!cluster_has_ips) {
      return errorResponse(404, fmt::format("no ips found for cluster {} in service {}",
                                            key->cluster, target->service));
    }
    const NamingInstance* inst = store_.findInstance(target->ns, target->service, *key);
    if (inst == nullptr) return errorResponse(404, "no matched ip found!");
    Json doc;
    doc["service"] = target->service;
    doc["ip"] = inst->ip;
    doc["port"] = inst->port;
    doc["clusterName"] = inst->cluster;
    doc["weight"] = inst->weight;
    doc["healthy"] = inst->healthy;
    doc["instanceId"] = inst->instance_id;
    doc["metadata"] = inst->metadata;
    return jsonResponse(doc);
  }

  http::Response beat() {
    Json doc;
    doc["clientBeatInterval"] = store_.options().client_beat_interval_ms;
    std::optional<BeatInfo> info;
    std::string beat_text = params_.optional("beat", "");
    std::string cluster = params_.optional("clusterName", std::string(kDefaultCluster));
    std::string ip = params_.optional("ip", "");
    std::string port_text = params_.optional("port", "0");
    if (!beat_text.empty()) {
      auto parsed = parseBeat(beat_text);
      if (!parsed) return fromError(parsed.error());
      info = std::move(*parsed);
      // The beat body wins over the query, like the real server (fix #2533 keeps its cluster).
      if (!info->cluster.empty()) {
        cluster = info->cluster;
      } else {
        info->cluster = cluster;
      }
      ip = info->ip;
      port_text = std::to_string(info->port);
    }
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    if (auto s = checkClusterName(cluster); !s) return fromError(s.error());
    if (auto s = checkIp(ip); !s) return fromError(s.error());
    auto port = parsePortParam(port_text);
    if (!port) return fromError(port.error());
    auto result = store_.beat(target->ns, target->service, InstanceKey{cluster, ip, *port},
                              info ? &*info : nullptr);
    if (!result) return fromError(result.error());
    if (!result->found) {
      doc["code"] = kCodeResourceNotFound;
      return jsonResponse(doc);
    }
    doc["clientBeatInterval"] = result->client_beat_interval_ms;
    doc["code"] = kCodeOk;
    doc["lightBeatEnabled"] = true;
    return jsonResponse(doc);
  }

  http::Response listInstances() {
    auto target = readTarget(params_);
    if (!target) return fromError(target.error());
    std::string clusters = params_.optional("clusters", "");
    auto healthy_only = optionalBool(params_, "healthyOnly", false);
    if (!healthy_only) return fromError(healthy_only.error());
    if (auto udp = params_.optional("udpPort", "0"); !parseUint(trim(udp), 65535)) {
      return errorResponse(400,
                           fmt::format("Param 'udpPort' must be a port number, got '{}'", udp));
    }
    std::set<std::string, std::less<>> wanted;
    for (std::string_view c : split(clusters, ',')) {
      c = trim(c);
      if (!c.empty()) wanted.emplace(c);
    }
    bool grouped = wantsGroupedNames(request_.head.headers.get("User-Agent").value_or(""));
    std::string shown_name = grouped ? target->service : splitGroupedName(target->service).second;

    std::vector<const NamingInstance*> selected;
    const ServiceRecord* record = store_.findService(target->ns, target->service);
    if (record != nullptr) {
      for (const auto& [key, inst] : record->instances) {
        if (wanted.empty() || wanted.count(key.cluster) != 0) selected.push_back(&inst);
      }
    }
    size_t healthy_count = 0;
    for (const NamingInstance* inst : selected) healthy_count += inst->healthy ? 1 : 0;
    bool protect = options_.protect_threshold >= 0 && !selected.empty() &&
                   static_cast<double>(healthy_count) / static_cast<double>(selected.size()) <=
                       options_.protect_threshold;

    Json hosts = Json::array();
    for (const NamingInstance* inst : selected) {
      if (!inst->enabled) continue;  // the real server never lists disabled instances
      bool healthy = inst->healthy || protect;
      if (*healthy_only && !healthy) continue;
      hosts.push_back(hostJson(*inst, healthy, shown_name));
    }
    auto [group, bare] = splitGroupedName(target->service);
    Json doc;
    doc["dom"] = shown_name;
    doc["name"] = target->service;  // always grouped: clients key their caches on it
    doc["groupName"] = group;
    doc["clusters"] = clusters;
    doc["cacheMillis"] = options_.cache_millis;
    doc["lastRefTime"] = store_.now();
    doc["checksum"] = md5Hex(hosts.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    doc["useSpecifiedURL"] = false;
    doc["env"] = params_.optional("env", "");
    doc["metadata"] = Json::object();
    doc["allIPs"] = false;
    doc["reachProtectionThreshold"] = protect;
    doc["valid"] = true;
    doc["hosts"] = std::move(hosts);
    return jsonResponse(doc);
  }

  http::Response listServices() {
    auto page_no_text = params_.required("pageNo");
    if (!page_no_text) return fromError(page_no_text.error());
    auto page_size_text = params_.required("pageSize");
    if (!page_size_text) return fromError(page_size_text.error());
    auto page_no = parseUint(trim(*page_no_text), INT32_MAX);
    auto page_size = parseUint(trim(*page_size_text), INT32_MAX);
    if (!page_no || *page_no == 0) {
      return errorResponse(
          400, fmt::format("Param 'pageNo' must be a positive integer, got '{}'", *page_no_text));
    }
    if (!page_size || *page_size == 0) {
      return errorResponse(400, fmt::format("Param 'pageSize' must be a positive integer, got '{}'",
                                            *page_size_text));
    }
    std::string selector = params_.optional("selector", "");
    if (!selector.empty()) {
      try {
        auto doc = nlohmann::json::parse(selector);
        std::string type = doc.is_object() ? doc.value("type", "none") : "";
        if (type != "none") {
          return errorResponse(400, fmt::format("selector '{}' is not supported by this registry "
                                                "(only {{\"type\":\"none\"}})",
                                                selector));
        }
      } catch (const nlohmann::json::exception& e) {
        return errorResponse(400, fmt::format("Param 'selector' is not valid JSON: {}", e.what()));
      }
    }
    std::string ns = std::string(trim(params_.optional("namespaceId", kDefaultNamespace)));
    std::string group = std::string(trim(params_.optional("groupName", kDefaultGroup)));
    std::vector<std::string> names = store_.serviceNames(ns, group);
    uint64_t start = (*page_no - 1) * *page_size;  // both < 2^31: no overflow
    Json doms = Json::array();
    for (uint64_t i = start; i < names.size() && i < start + *page_size; ++i) {
      doms.push_back(splitGroupedName(names[i]).second);
    }
    Json doc;
    doc["count"] = names.size();
    doc["doms"] = std::move(doms);
    return jsonResponse(doc);
  }

  http::Response metrics() {
    size_t ephemeral = store_.instanceCount(true);
    size_t persistent = store_.instanceCount(false);
    Json doc;
    doc["status"] = "UP";
    doc["serviceCount"] = store_.serviceCount();
    doc["instanceCount"] = ephemeral + persistent;
    doc["subscribeCount"] = 0;
    doc["raftNotifyTaskCount"] = 0;
    doc["responsibleServiceCount"] = store_.serviceCount();
    doc["responsibleInstanceCount"] = ephemeral + persistent;
    doc["clientCount"] = 0;
    doc["connectionBasedClientCount"] = 0;
    doc["ephemeralIpPortClientCount"] = ephemeral;
    doc["persistentIpPortClientCount"] = persistent;
    doc["responsibleClientCount"] = 0;
    doc["cpu"] = 0.0;
    doc["load"] = 0.0;
    doc["mem"] = 0.0;
    return jsonResponse(doc);
  }

 private:
  Json hostJson(const NamingInstance& inst, bool healthy, const std::string& service_name) const {
    Json host;
    host["ip"] = inst.ip;
    host["port"] = inst.port;
    host["valid"] = healthy;
    host["healthy"] = healthy;
    host["marked"] = false;
    host["instanceId"] = inst.instance_id;
    host["metadata"] = inst.metadata;
    host["enabled"] = inst.enabled;
    host["weight"] = inst.weight;
    host["clusterName"] = inst.cluster;
    host["serviceName"] = service_name;
    host["ephemeral"] = inst.ephemeral;
    // Derived getters a 2.x server adds; harmless for 1.x clients.
    auto meta = [&](std::string_view key, int64_t fallback) {
      auto it = inst.metadata.find(std::string(key));
      if (it == inst.metadata.end()) return fallback;
      auto v = parseUint(trim(it->second), INT64_MAX);
      return v ? static_cast<int64_t>(*v) : fallback;
    };
    host["instanceHeartBeatInterval"] =
        meta(kMetaBeatInterval, store_.options().client_beat_interval_ms);
    host["instanceHeartBeatTimeOut"] = meta(kMetaBeatTimeout, store_.options().beat_timeout_ms);
    host["ipDeleteTimeout"] = meta(kMetaDeleteTimeout, store_.options().delete_timeout_ms);
    host["instanceIdGenerator"] = "simple";
    return host;
  }

  // The beat body (Nacos RsInfo): ip and port required, the rest defaulted; unknown fields
  // (scheduled, period, stopped, serviceName...) are ignored like Jackson does there.
  static Result<BeatInfo> parseBeat(const std::string& text) {
    BeatInfo info;
    try {
      auto doc = nlohmann::json::parse(text);
      if (!doc.is_object()) return invalidArgument("Param 'beat' must be a JSON object");
      if (!doc.contains("ip") || !doc["ip"].is_string()) {
        return invalidArgument("Param 'beat' has no string field 'ip'");
      }
      info.ip = doc["ip"].get<std::string>();
      const auto& port = doc.value("port", nlohmann::json());
      if (!port.is_number_integer() || port.get<int64_t>() < 1 || port.get<int64_t>() > 65535) {
        return invalidArgument("Param 'beat' field 'port' must be an integer in [1, 65535]");
      }
      info.port = static_cast<uint16_t>(port.get<int64_t>());
      if (doc.contains("cluster") && doc["cluster"].is_string()) {
        info.cluster = doc["cluster"].get<std::string>();
      }
      if (doc.contains("weight") && !doc["weight"].is_null()) {
        if (!doc["weight"].is_number()) {
          return invalidArgument("Param 'beat' field 'weight' must be a number");
        }
        info.weight = doc["weight"].get<double>();
        if (info.weight < 0 || info.weight > kMaxWeight) {
          return invalidArgument("Param 'beat' field 'weight' must be in [0, 10000]");
        }
      }
      if (doc.contains("ephemeral") && doc["ephemeral"].is_boolean()) {
        info.ephemeral = doc["ephemeral"].get<bool>();
      }
      if (doc.contains("metadata") && !doc["metadata"].is_null()) {
        auto metadata = parseMetadata(doc["metadata"].dump());
        if (!metadata) {
          return invalidArgument("Param 'beat' field 'metadata': {}", metadata.error().message);
        }
        info.metadata = std::move(*metadata);
      }
    } catch (const nlohmann::json::exception& e) {
      return invalidArgument("Param 'beat' is not valid JSON: {}", e.what());
    }
    return info;
  }

  NamingStore& store_;
  const ApiOptions& options_;
  const http::Request& request_;
  Params params_;
};

}  // namespace

NamingApi::NamingApi(NamingStore& store, ApiOptions options) : store_(store), options_(options) {}

http::Response NamingApi::handle(const http::Request& request) {
  const std::string& full = request.head.path.empty() ? request.head.target : request.head.path;
  size_t qmark = full.find('?');
  std::string path = full.substr(0, qmark);
  std::string_view query =
      qmark == std::string::npos ? std::string_view() : std::string_view(full).substr(qmark + 1);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  const std::string& method = request.head.method;

  auto params = readParams(request, query);
  if (!params) {
    return errorResponse(
        400, fmt::format("{}: {}", describeRequest(request, path), params.error().message));
  }
  RequestHandler h(store_, options_, request, std::move(*params));
  auto notAllowed = [&] {
    return makeResponse(405, fmt::format("caused: method {} not allowed on {};", method, path),
                        "text/plain;charset=UTF-8");
  };

  if (path == fmt::format("{}/instance", kBase)) {
    if (method == "POST") return h.registerInstance();
    if (method == "PUT") return h.updateInstance();
    if (method == "PATCH") return h.patchInstance();
    if (method == "DELETE") return h.deregisterInstance();
    if (method == "GET") return h.instanceDetail();
    return notAllowed();
  }
  if (path == fmt::format("{}/instance/beat", kBase)) {
    return method == "PUT" ? h.beat() : notAllowed();
  }
  if (path == fmt::format("{}/instance/list", kBase)) {
    return method == "GET" ? h.listInstances() : notAllowed();
  }
  if (path == fmt::format("{}/service/list", kBase)) {
    return method == "GET" ? h.listServices() : notAllowed();
  }
  if (path == fmt::format("{}/operator/metrics", kBase)) {
    return method == "GET" ? h.metrics() : notAllowed();
  }
  if (path == "/nacos/serverlist") {
    // Endpoint mode: the SDKs ask an address server for the Nacos servers; we are the only one.
    std::string self = std::string(request.head.headers.get("Host").value_or(""));
    return method == "GET" ? makeResponse(200, self, "text/plain;charset=UTF-8") : notAllowed();
  }
  return makeResponse(404, fmt::format("caused: no such API: {} {};", method, path),
                      "text/plain;charset=UTF-8");
}

}  // namespace sluice::registry::nacos
