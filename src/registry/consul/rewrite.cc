#include "registry/consul/rewrite.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/strings.h"
#include "http/url.h"

namespace sluice::registry::consul {

namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kHealthPrefix = "/v1/health/service/";
constexpr std::string_view kCatalogPrefix = "/v1/catalog/service/";

tl::unexpected<Error> notALookup(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                   "consul rewrite: " + std::move(message));
}

std::string_view pathOf(const http::RequestHead& request) {
  std::string_view target =
      request.path.empty() ? std::string_view(request.target) : std::string_view(request.path);
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  return target;
}

// The decoded NAME of /v1/health/service/NAME or /v1/catalog/service/NAME; nullopt otherwise.
std::optional<std::string> lookedUpService(std::string_view path) {
  for (std::string_view prefix : {kHealthPrefix, kCatalogPrefix}) {
    if (!startsWith(path, prefix)) continue;
    std::string_view name = path.substr(prefix.size());
    if (name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
    return http::percentDecode(name);
  }
  return std::nullopt;
}

// Sets `key` of `object` to `host` when it is a non-empty string address; counts it.
bool rewriteAddress(Json& object, const char* key, const std::string& host) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return false;
  }
  *it = host;
  return true;
}

// TaggedAddresses: node form {"lan": "ip", ...} or service form {"lan": {"Address", "Port"}}.
void rewriteTagged(Json& object, const char* key, const std::string& host) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_object()) return;
  for (auto& [tag, value] : it->items()) {
    if (value.is_string() && !value.get_ref<const std::string&>().empty()) {
      value = host;
    } else if (value.is_object()) {
      rewriteAddress(value, "Address", host);
    }
  }
}

std::string stringField(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool ServiceLookupRewriter::appliesTo(const http::RequestHead& request) const {
  return request.method == "GET" && lookedUpService(pathOf(request)).has_value();
}

void ServiceLookupRewriter::prepareRequest(http::RequestHead& request) const {
  request.headers.remove("Accept-Encoding");
}

Result<http::RewrittenBody> ServiceLookupRewriter::rewriteResponseBody(
    const http::RequestHead& request, const http::ResponseHead& /*response*/,
    std::string_view body) const {
  return rewriteServiceLookup(body, lookedUpService(pathOf(request)).value_or(""));
}

Result<http::RewrittenBody> rewriteServiceLookup(std::string_view body,
                                                 std::string_view path_service) {
  Json doc;
  try {
    doc = Json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return notALookup(fmt::format("not JSON: {}", e.what()));
  }
  if (!doc.is_array()) return notALookup("not a JSON array of service entries");
  http::RewrittenBody out;
  out.service = std::string(path_service);
  for (auto& entry : doc) {
    if (!entry.is_object()) return notALookup("an entry is not an object");
    auto service = entry.find("Service");
    auto node = entry.find("Node");
    const bool health = service != entry.end() && service->is_object();
    std::string host =
        health ? stringField(*service, "Service") : stringField(entry, "ServiceName");
    if (host.empty()) host = std::string(path_service);
    if (host.empty()) return notALookup("an entry names no service");
    bool rewritten = false;
    if (health) {
      rewritten |= rewriteAddress(*service, "Address", host);
      rewriteTagged(*service, "TaggedAddresses", host);
      if (node != entry.end() && node->is_object()) {
        rewritten |= rewriteAddress(*node, "Address", host);
        rewriteTagged(*node, "TaggedAddresses", host);
      }
    } else {
      rewritten |= rewriteAddress(entry, "ServiceAddress", host);
      rewritten |= rewriteAddress(entry, "Address", host);
      rewriteTagged(entry, "TaggedAddresses", host);
      rewriteTagged(entry, "ServiceTaggedAddresses", host);
    }
    if (rewritten) ++out.addresses_rewritten;
  }
  out.body = doc.dump();
  return out;
}

}  // namespace sluice::registry::consul
