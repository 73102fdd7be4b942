#include "registry/nacos/list_rewrite.h"

#include <nlohmann/json.hpp>

#include "http/url.h"

namespace sluice::registry::nacos {
namespace {

constexpr std::string_view kInstanceListPath = "/nacos/v1/ns/instance/list";

tl::unexpected<Error> notAList(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                   "Nacos instance list: " + message);
}

}  // namespace

bool isInstanceListRequest(std::string_view method, std::string_view target) {
  if (method != "GET" && method != "POST") return false;
  // Absolute-form targets (explicit proxy) carry the authority first.
  if (auto scheme = target.find("://"); scheme != std::string_view::npos) {
    auto slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  auto path = target.substr(0, target.find('?'));
  return path == kInstanceListPath;
}

std::string disableUdpPush(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::string(target) + "?udpPort=0";
  auto params = http::parseQuery(target.substr(q + 1));
  bool found = false;
  for (auto& [key, value] : params) {
    if (key == "udpPort") {
      value = "0";
      found = true;
    }
  }
  if (!found) params.emplace_back("udpPort", "0");
  return std::string(target.substr(0, q)) + "?" + http::buildQuery(params);
}

std::string_view ungroupedName(std::string_view grouped) {
  auto sep = grouped.find("@@");
  return sep == std::string_view::npos ? grouped : grouped.substr(sep + 2);
}

Result<RewriteResult> rewriteInstanceList(std::string_view body, std::string_view mesh_host) {
  // ordered_json keeps the registry's field order: the client sees the same document but for
  // the addresses.
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return notAList("body is not a JSON object");
  auto hosts = doc.find("hosts");
  if (hosts == doc.end() || !hosts->is_array()) return notAList("no \"hosts\" array");
  std::string grouped;
  if (auto name = doc.find("name"); name != doc.end() && name->is_string()) {
    grouped = name->get<std::string>();
  } else if (auto dom = doc.find("dom"); dom != doc.end() && dom->is_string()) {
    grouped = dom->get<std::string>();
  } else {
    return notAList("no service \"name\"");
  }
  RewriteResult result;
  result.service = std::string(ungroupedName(grouped));
  std::string host = mesh_host.empty() ? result.service : std::string(mesh_host);
  for (auto& instance : *hosts) {
    if (!instance.is_object()) return notAList("a hosts[] entry is not an object");
    auto ip = instance.find("ip");
    if (ip == instance.end() || !ip->is_string()) return notAList("a hosts[] entry has no \"ip\"");
    *ip = host;
    ++result.hosts_rewritten;
  }
  result.body = doc.dump();
  return result;
}

bool InstanceListRewriter::appliesTo(const http::RequestHead& request) const {
  return isInstanceListRequest(request.method, request.path);
}

void InstanceListRewriter::prepareRequest(http::RequestHead& request) const {
  // The rewritten list must not be overwritten by a UDP push of the original one, and the body
  // must come back uncompressed to be rewritten (identity is always acceptable).
  request.target = disableUdpPush(request.target);
  request.headers.remove("accept-encoding");
}

Result<http::RewrittenBody> InstanceListRewriter::rewriteResponseBody(
    const http::RequestHead& /*request*/, const http::ResponseHead& /*response*/,
    std::string_view body) const {
  SLUICE_ASSIGN_OR_RETURN(RewriteResult rewritten, rewriteInstanceList(body));
  return http::RewrittenBody{std::move(rewritten.body), std::move(rewritten.service),
                             rewritten.hosts_rewritten};
}

}  // namespace sluice::registry::nacos
