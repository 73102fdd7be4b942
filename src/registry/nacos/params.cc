#include "registry/nacos/params.h"

#include "core/strings.h"
#include "http/url.h"

namespace sluice::registry::nacos {

namespace {

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Offset of the first '%' not followed by two hex digits, or npos.
size_t badEscape(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return i;
    i += 2;
  }
  return std::string_view::npos;
}

bool isBlank(std::string_view s) { return trim(s).empty(); }

}  // namespace

Status Params::addEncoded(std::string_view encoded) {
  for (std::string_view pair : split(encoded, '&')) {
    size_t bad = badEscape(pair);
    if (bad == std::string_view::npos) continue;
    std::string_view name = pair.substr(0, pair.find('='));
    return invalidArgument("malformed percent-escape in parameter '{}' ('{}')",
                           http::percentDecode(name, true), pair);
  }
  for (auto& [name, value] : http::parseQuery(encoded)) {
    values_.try_emplace(std::move(name), std::move(value));
  }
  return ok();
}

std::optional<std::string> Params::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Params::optional(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || isBlank(it->second)) return std::string(fallback);
  return it->second;
}

Result<std::string> Params::required(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end() || isBlank(it->second)) {
    return invalidArgument("Param '{}' is required.", name);
  }
  return it->second;
}

std::string encodeParams(const std::map<std::string, std::string>& params) {
  return http::buildQuery(http::QueryParams(params.begin(), params.end()));
}

}  // namespace sluice::registry::nacos
