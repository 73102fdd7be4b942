#include "registry/nacos/naming_client.h"

#include <nlohmann/json.hpp>

#include "http/client.h"
#include "registry/nacos/params.h"

namespace sluice::registry::nacos {

namespace {

constexpr const char* kBase = "/nacos/v1/ns";

tl::unexpected<Error> registryError(ErrorCode code, std::string message, bool retryable) {
  return makeError(code, ErrorSource::kRegistry, std::move(message), retryable);
}

std::string metadataJson(const Metadata& metadata) { return nlohmann::json(metadata).dump(); }

std::string weightText(double weight) { return fmt::format("{}", weight); }

}  // namespace

std::string NamingClient::describe() const {
  return fmt::format("nacos {} namespace {}", options_.server.toString(), options_.namespace_id);
}

asio::awaitable<Result<std::string>> NamingClient::call(const std::string& method,
                                                        const std::string& api,
                                                        std::map<std::string, std::string> params,
                                                        std::string form_body) {
  params["namespaceId"] = options_.namespace_id;
  http::ClientRequest request;
  request.method = method;
  request.url =
      fmt::format("http://{}{}{}?{}", options_.server.toString(), kBase, api, encodeParams(params));
  request.timeout = options_.timeout;
  request.headers.set("User-Agent", options_.user_agent);
  request.headers.set("Client-Version", options_.user_agent);
  request.headers.set("Request-Module", "Naming");
  if (!form_body.empty()) {
    request.headers.set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8");
    request.body = std::move(form_body);
  }
  std::string what = describe();
  auto response = co_await http::fetch(std::move(request));
  if (!response) {
    Error e = response.error();
    e.source = ErrorSource::kRegistry;
    e.message = fmt::format("{}: {}", what, e.message);  // fetch's message names method and URL
    co_return tl::unexpected(std::move(e));
  }
  int status = response->head.status;
  if (status == 200) co_return std::move(response->body);
  std::string body = response->body.substr(0, 300);
  if (status >= 500) {
    co_return registryError(
        ErrorCode::kUnavailable,
        fmt::format("{}: {} {}{}: HTTP {}: {}", what, method, kBase, api, status, body), true);
  }
  co_return registryError(
      ErrorCode::kInvalidArgument,
      fmt::format("{}: {} {}{}: HTTP {}: {}", what, method, kBase, api, status, body), false);
}

asio::awaitable<Status> NamingClient::registerInstance(const std::string& service,
                                                       const std::string& group,
                                                       const NamingInstance& inst) {
  std::map<std::string, std::string> params = {
      {"serviceName", fmt::format("{}@@{}", group, service)},
      {"groupName", group},
      {"clusterName", inst.cluster},
      {"ip", inst.ip},
      {"port", std::to_string(inst.port)},
      {"weight", weightText(inst.weight)},
      {"enable", inst.enabled ? "true" : "false"},
      {"healthy", inst.healthy ? "true" : "false"},
      {"ephemeral", inst.ephemeral ? "true" : "false"},
      {"metadata", metadataJson(inst.metadata)},
  };
  auto body = co_await call("POST", "/instance", std::move(params));
  if (!body) co_return tl::unexpected(body.error());
  co_return ok();
}

asio::awaitable<Status> NamingClient::deregisterInstance(const std::string& service,
                                                         const std::string& group,
                                                         const NamingInstance& inst) {
  std::map<std::string, std::string> params = {
      {"serviceName", fmt::format("{}@@{}", group, service)},
      {"clusterName", inst.cluster},
      {"ip", inst.ip},
      {"port", std::to_string(inst.port)},
      {"ephemeral", inst.ephemeral ? "true" : "false"},
  };
  auto body = co_await call("DELETE", "/instance", std::move(params));
  if (!body) co_return tl::unexpected(body.error());
  co_return ok();
}

asio::awaitable<Result<BeatReply>> NamingClient::sendBeat(const std::string& service,
                                                          const std::string& group,
                                                          const NamingInstance& inst, bool light) {
  std::string grouped = fmt::format("{}@@{}", group, service);
  std::map<std::string, std::string> params = {
      {"serviceName", grouped},
      {"clusterName", inst.cluster},
      {"ip", inst.ip},
      {"port", std::to_string(inst.port)},
  };
  std::string form;
  if (!light) {
    nlohmann::json beat = {
        {"serviceName", grouped},  {"ip", inst.ip},         {"port", inst.port},
        {"cluster", inst.cluster}, {"weight", inst.weight}, {"metadata", inst.metadata},
        {"scheduled", false},      {"period", 5000},        {"stopped", false}};
    form = encodeParams({{"beat", beat.dump()}});
  }
  auto body = co_await call("PUT", "/instance/beat", std::move(params), std::move(form));
  if (!body) co_return tl::unexpected(body.error());
  BeatReply reply;
  try {
    auto doc = nlohmann::json::parse(*body);
    reply.code = doc.value("code", 10200);
    reply.client_beat_interval_ms = doc.value("clientBeatInterval", int64_t{5000});
    reply.light_beat_enabled = doc.value("lightBeatEnabled", false);
  } catch (const nlohmann::json::exception& e) {
    co_return registryError(ErrorCode::kInvalidArgument,
                            fmt::format("{}: beat answer is not JSON: {}", describe(), e.what()),
                            false);
  }
  co_return reply;
}

asio::awaitable<Result<Service>> NamingClient::listInstances(const std::string& service,
                                                             const std::string& group,
                                                             const std::string& clusters,
                                                             bool healthy_only) {
  std::map<std::string, std::string> params = {
      {"serviceName", fmt::format("{}@@{}", group, service)},
      {"clusters", clusters},
      {"udpPort", "0"},  // no push: we poll
      {"healthyOnly", healthy_only ? "true" : "false"},
  };
  auto body = co_await call("GET", "/instance/list", std::move(params));
  if (!body) co_return tl::unexpected(body.error());
  co_return parseInstanceList(*body, options_.namespace_id, group, service);
}

asio::awaitable<Result<std::vector<std::string>>> NamingClient::listServices(
    const std::string& group, int page_size, int max_pages) {
  std::vector<std::string> names;
  for (int page = 1; page <= max_pages; ++page) {
    std::map<std::string, std::string> params = {
        {"pageNo", std::to_string(page)},
        {"pageSize", std::to_string(page_size)},
        {"groupName", group},
    };
    auto body = co_await call("GET", "/service/list", std::move(params));
    if (!body) co_return tl::unexpected(body.error());
    size_t count = 0;
    size_t got = 0;
    try {
      auto doc = nlohmann::json::parse(*body);
      count = doc.value("count", size_t{0});
      const auto& doms = doc.value("doms", nlohmann::json::array());
      for (const auto& d : doms) {
        if (d.is_string()) names.push_back(d.get<std::string>());
      }
      got = doms.size();
    } catch (const nlohmann::json::exception& e) {
      co_return registryError(
          ErrorCode::kInvalidArgument,
          fmt::format("{}: service list is not valid JSON: {}", describe(), e.what()), false);
    }
    if (got == 0 || names.size() >= count) co_return names;
  }
  co_return names;
}

Result<Service> parseInstanceList(const std::string& body, const std::string& namespace_id,
                                  const std::string& group, const std::string& service) {
  Service out;
  out.name = service;
  out.namespace_id = namespace_id;
  out.group = group;
  try {
    auto doc = nlohmann::json::parse(body);
    if (!doc.is_object()) {
      return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                       fmt::format("instance list of {}@@{} (namespace {}) is not a JSON object",
                                   group, service, namespace_id));
    }
    const auto& hosts = doc.value("hosts", nlohmann::json::array());
    for (const auto& h : hosts) {
      Instance inst;
      inst.ip = h.at("ip").get<std::string>();
      int port = h.at("port").get<int>();
      if (port < 1 || port > 65535) continue;
      inst.port = static_cast<uint16_t>(port);
      inst.weight = h.value("weight", 1.0);
      inst.healthy = h.value("healthy", h.value("valid", true));
      inst.enabled = h.value("enabled", true);
      inst.cluster = h.value("clusterName", std::string(kDefaultCluster));
      if (h.contains("metadata") && h["metadata"].is_object()) {
        for (const auto& [k, v] : h["metadata"].items()) {
          inst.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
        }
      }
      out.instances.push_back(std::move(inst));
    }
  } catch (const nlohmann::json::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     fmt::format("instance list of {}@@{} (namespace {}) is malformed: {}", group,
                                 service, namespace_id, e.what()));
  }
  return out;
}

}  // namespace sluice::registry::nacos
