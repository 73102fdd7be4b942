#include "registry/eureka/api.h"

#include <optional>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/strings.h"
#include "http/url.h"
#include "registry/eureka/codec.h"

namespace sluice::registry::eureka {

namespace {

http::Response badRequest(std::string message) {
  return http::Response::text(400, std::move(message) + "\n");
}

http::Response notFound(std::string message) {
  return http::Response::text(404, std::move(message) + "\n");
}

http::Response empty(int status) { return http::Response::text(status, ""); }

http::Response document(Format format, std::string body) {
  http::Response r;
  r.head.status = 200;
  r.head.headers.set("Content-Type", contentType(format));
  r.body = std::move(body);
  return r;
}

// The path below the API root, split into decoded segments: "/eureka/v2/apps/A/i" -> {apps,A,i}.
std::optional<std::vector<std::string>> apiSegments(std::string_view path) {
  for (std::string_view root : {"/eureka/v2/", "/eureka/"}) {
    if (!startsWith(path, root) && path != root.substr(0, root.size() - 1)) continue;
    std::string_view rest = path.size() > root.size() ? path.substr(root.size()) : "";
    std::vector<std::string> out;
    for (std::string_view s : split(rest, '/')) {
      if (!s.empty()) out.push_back(http::percentDecode(s));
    }
    return out;
  }
  return std::nullopt;
}

// Netflix's registration checks (ApplicationResource.addInstance), with its messages.
std::optional<std::string> registrationProblem(const EurekaInstance& inst,
                                               const std::string& path_app) {
  if (inst.instance_id.empty()) return "Missing instanceId";
  if (inst.host_name.empty()) return "Missing hostname";
  if (inst.ip_addr.empty()) return "Missing ip address";
  if (inst.app.empty()) return "Missing appName";
  if (!equalsIgnoreCase(inst.app, path_app)) {
    return fmt::format("Mismatched appName, expecting {} but was {}", path_app, inst.app);
  }
  if (inst.data_center_name.empty() && inst.data_center_class.empty()) {
    return "Missing dataCenterInfo";
  }
  if (inst.data_center_name.empty()) return "Missing dataCenterInfo Name";
  return std::nullopt;
}

}  // namespace

http::Response EurekaApi::handle(const http::Request& request) {
  std::string_view target = request.head.path.empty() ? std::string_view(request.head.target)
                                                      : std::string_view(request.head.path);
  std::string_view path = target;
  std::string_view query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  auto segments = apiSegments(path);
  if (!segments)
    return notFound(fmt::format("no Eureka API at {} (paths start with /eureka/)", path));
  const std::vector<std::string>& seg = *segments;
  const std::string& method = request.head.method;
  Format format = formatForAccept(request.head.headers.get("Accept").value_or(""));
  auto outcome = [](EurekaStore::Outcome o, const std::string& what) {
    return o == EurekaStore::Outcome::kOk ? empty(200) : notFound(what + " is not registered");
  };

  if (seg.empty() ||
      (seg[0] != "apps" && seg[0] != "instances" && seg[0] != "vips" && seg[0] != "svips")) {
    return notFound(fmt::format("no Eureka resource at {}", path));
  }

  if (seg[0] == "instances" || seg[0] == "vips" || seg[0] == "svips") {
    if (method != "GET") return http::Response::text(405, "only GET here\n");
    if (seg.size() != 2) return notFound(fmt::format("no Eureka resource at {}", path));
    if (seg[0] == "instances") {
      auto inst = store_.instanceById(seg[1]);
      if (!inst) return notFound(fmt::format("instance {}", seg[1]) + " is not registered");
      return document(format, encodeInstance(*inst, format));
    }
    auto apps = store_.byVip(seg[1], seg[0] == "svips");
    if (apps.applications.empty()) return notFound(fmt::format("no instance has VIP {}", seg[1]));
    return document(format, encodeApplications(apps, format));
  }

  // apps/...
  if (seg.size() == 1) {
    if (method != "GET") return http::Response::text(405, "only GET on apps/\n");
    return document(format, encodeApplications(store_.applications(), format));
  }
  const std::string& app = seg[1];
  if (seg.size() == 2 && app == "delta") {
    if (method != "GET") return http::Response::text(405, "only GET on apps/delta\n");
    return document(format, encodeApplications(store_.delta(), format));
  }
  if (seg.size() == 2) {
    if (method == "GET") {
      auto found = store_.application(app);
      if (!found) return notFound(fmt::format("application {}", app) + " is not registered");
      return document(format, encodeApplication(*found, format));
    }
    if (method != "POST") return http::Response::text(405, "GET or POST on apps/{APP}\n");
    auto inst = decodeInstance(request.body);
    if (!inst) return badRequest(fmt::format("registration of {}: {}", app, inst.error().message));
    if (auto problem = registrationProblem(*inst, app)) return badRequest(*problem);
    SLUICE_LOG_DEBUG("eureka: register {}/{} {}:{} {}", inst->app, inst->instance_id, inst->ip_addr,
                     inst->port, toString(inst->status));
    store_.registerInstance(std::move(*inst));
    return empty(204);
  }
  const std::string& id = seg[2];
  std::string what = fmt::format("instance {}/{}", app, id);
  if (seg.size() == 3) {
    if (method == "GET") {
      auto inst = store_.instance(app, id);
      if (!inst) return notFound(what + " is not registered");
      return document(format, encodeInstance(*inst, format));
    }
    if (method == "PUT") {
      std::optional<int64_t> last_dirty;
      if (auto text = http::queryParam(query, "lastDirtyTimestamp"); text && !text->empty()) {
        auto value = parseUint(*text, uint64_t{INT64_MAX});
        if (!value)
          return badRequest(fmt::format("lastDirtyTimestamp '{}' is not a number", *text));
        last_dirty = static_cast<int64_t>(*value);
      }
      return outcome(store_.renew(app, id, last_dirty), what);
    }
    if (method == "DELETE") return outcome(store_.cancel(app, id), what);
    return http::Response::text(405, "GET, PUT or DELETE on apps/{APP}/{id}\n");
  }
  if (seg.size() == 4 && seg[3] == "status") {
    auto value = http::queryParam(query, "value");
    std::optional<InstanceStatus> status;
    if (value && !value->empty()) {
      status = parseInstanceStatus(*value);
      if (!status) {
        return badRequest(fmt::format(
            "status '{}' is not one of UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN", *value));
      }
    }
    if (method == "PUT") {
      if (!status) return badRequest("status override needs ?value=STATUS");
      return outcome(store_.overrideStatus(app, id, *status), what);
    }
    if (method == "DELETE") return outcome(store_.deleteStatusOverride(app, id, status), what);
    return http::Response::text(405, "PUT or DELETE on apps/{APP}/{id}/status\n");
  }
  if (seg.size() == 4 && seg[3] == "metadata") {
    if (method != "PUT") return http::Response::text(405, "PUT on apps/{APP}/{id}/metadata\n");
    std::map<std::string, std::string> entries;
    for (auto& [key, value] : http::parseQuery(query)) entries[key] = value;
    if (entries.empty()) return badRequest("metadata update needs ?key=value");
    return outcome(store_.updateMetadata(app, id, entries), what);
  }
  return notFound(fmt::format("no Eureka resource at {}", path));
}

}  // namespace sluice::registry::eureka
