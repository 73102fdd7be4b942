#include "registry/eureka/apps_rewrite.h"

#include <map>
#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/model.h"
#include "registry/eureka/xml.h"

namespace sluice::registry::eureka {

namespace {

using Json = nlohmann::ordered_json;

tl::unexpected<Error> notApplications(std::string message) {
  return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                   "eureka rewrite: " + std::move(message));
}

std::string_view pathOf(const http::RequestHead& request) {
  std::string_view target =
      request.path.empty() ? std::string_view(request.target) : std::string_view(request.path);
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  return target;
}

bool isDeltaPath(std::string_view path) { return endsWith(path, "/apps/delta"); }

// Every element of `key`, whether written as an array or as a single object.
template <typename Fn>
void forEachOf(Json& parent, const char* key, Fn&& fn) {
  auto it = parent.find(key);
  if (it == parent.end()) return;
  if (it->is_array()) {
    for (auto& e : *it) fn(e);
  } else if (it->is_object()) {
    fn(*it);
  }
}

std::string hashOf(const std::map<std::string, int>& counts) {
  std::string hash;
  for (const auto& [status, count] : counts) hash += fmt::format("{}_{}_", status, count);
  return hash;
}

Result<http::RewrittenBody> rewriteJson(std::string_view body, bool full) {
  Json doc;
  try {
    doc = Json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    return notApplications(fmt::format("not JSON: {}", e.what()));
  }
  auto root = doc.is_object() ? doc.find("applications") : doc.end();
  if (!doc.is_object() || root == doc.end() || !root->is_object()) {
    return notApplications("no \"applications\" object");
  }
  http::RewrittenBody out;
  std::map<std::string, int> counts;
  forEachOf(*root, "application", [&](Json& app) {
    if (!app.is_object() || !app.contains("name") || !app["name"].is_string()) return;
    std::string service = toLower(app["name"].get<std::string>());
    forEachOf(app, "instance", [&](Json& inst) {
      if (!inst.is_object()) return;
      inst["hostName"] = service;
      inst["ipAddr"] = service;
      ++out.addresses_rewritten;
      if (auto s = inst.find("status"); s != inst.end() && s->is_string()) {
        ++counts[s->get<std::string>()];
      }
    });
    if (out.service.empty()) out.service = service;
  });
  if (full) (*root)["apps__hashcode"] = hashOf(counts);
  out.body = doc.dump();
  return out;
}

// Replaces the content of every <tag>...</tag> in [begin, end) of `text` with `value`; returns
// the new end of the range.
size_t replaceElements(std::string& text, size_t begin, size_t end, std::string_view tag,
                       const std::string& value, int* replaced) {
  std::string open = fmt::format("<{}>", tag);
  std::string close = fmt::format("</{}>", tag);
  size_t pos = begin;
  while (true) {
    size_t o = text.find(open, pos);
    if (o == std::string::npos || o >= end) return end;
    size_t content = o + open.size();
    size_t c = text.find(close, content);
    if (c == std::string::npos || c >= end) return end;
    size_t old_size = c - content;
    text.replace(content, old_size, value);
    end = end - old_size + value.size();
    pos = content + value.size() + close.size();
    if (replaced) ++*replaced;
  }
}

Result<http::RewrittenBody> rewriteXml(std::string_view body, bool full) {
  // Parsed first: only a well-formed <applications> document is touched.
  auto parsed = xml::parse(body);
  if (!parsed) return notApplications(parsed.error().message);
  if (parsed->name != "applications") {
    return notApplications(fmt::format("root is <{}>, not <applications>", parsed->name));
  }
  std::map<std::string, int> counts;
  for (const auto& app : parsed->children) {
    if (app.name != "application") continue;
    for (const auto& inst : app.children) {
      if (inst.name == "instance") ++counts[inst.childText("status")];
    }
  }
  http::RewrittenBody out;
  std::string text(body);
  size_t pos = 0;
  while (true) {
    size_t begin = text.find("<application>", pos);
    if (begin == std::string::npos) break;
    size_t end = text.find("</application>", begin);
    if (end == std::string::npos) break;
    size_t name_open = text.find("<name>", begin);
    size_t name_close = text.find("</name>", name_open == std::string::npos ? begin : name_open);
    if (name_open == std::string::npos || name_close == std::string::npos || name_close > end) {
      pos = end;
      continue;
    }
    // Names are upper-case ASCII in practice; an escaped one stays escaped, lower-cased.
    std::string service =
        toLower(trim(std::string_view(text).substr(name_open + 6, name_close - name_open - 6)));
    if (out.service.empty()) out.service = service;
    int hosts = 0;
    end = replaceElements(text, begin, end, "hostName", service, &hosts);
    end = replaceElements(text, begin, end, "ipAddr", service, nullptr);
    out.addresses_rewritten += hosts;
    pos = end;
  }
  if (full) {
    size_t open = text.find("<apps__hashcode>");
    size_t close = text.find("</apps__hashcode>");
    if (open != std::string::npos && close != std::string::npos && close > open) {
      text.replace(open + 16, close - open - 16, hashOf(counts));
    }
  }
  out.body = std::move(text);
  return out;
}

}  // namespace

bool AppsRewriter::appliesTo(const http::RequestHead& request) const {
  if (request.method != "GET") return false;
  std::string_view path = pathOf(request);
  return endsWith(path, "/apps") || endsWith(path, "/apps/") || isDeltaPath(path);
}

void AppsRewriter::prepareRequest(http::RequestHead& request) const {
  request.headers.remove("Accept-Encoding");
}

Result<http::RewrittenBody> AppsRewriter::rewriteResponseBody(
    const http::RequestHead& request, const http::ResponseHead& /*response*/,
    std::string_view body) const {
  return rewriteApplications(body, !isDeltaPath(pathOf(request)));
}

Result<http::RewrittenBody> rewriteApplications(std::string_view body, bool full) {
  auto format = sniffFormat(body);
  if (!format) return notApplications("answer is neither JSON nor XML");
  return *format == Format::kJson ? rewriteJson(body, full) : rewriteXml(body, full);
}

}  // namespace sluice::registry::eureka
