#pragma once
// Small URL helpers for the whole-message client and for modules that read query parameters
// (the Nacos registry reads serviceName/groupName/clusters with parseQuery()).
// Only what HTTP/1.1 needs: "scheme://host[:port][/path][?query][#fragment]", no userinfo.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sluice::http {

struct Url {
  std::string scheme;  // lowercased: "http" (or "https": parsed, not fetched)
  std::string host;    // lowercased; IPv6 literals without brackets
  uint16_t port = 80;  // explicit port, else 80 for http and 443 for https
  bool explicit_port = false;
  std::string target;  // path + query as on the request line; "/" when the URL has no path

  std::string_view path() const;   // target before '?'
  std::string_view query() const;  // target after '?', "" when none
  // host[:port] for a Host header / absolute-form; the port is left out when it was not given.
  std::string authority() const;
  // scheme://authority/target (fragment dropped): the absolute-form request target.
  std::string toString() const;
};

// Errors: kInvalidArgument naming the URL and what is wrong (missing scheme, empty host, bad
// port, userinfo, spaces or control characters).
Result<Url> parseUrl(std::string_view url);

// Decodes %XX escapes; `plus_as_space` turns '+' into ' ' (form/query encoding). Lenient: a '%'
// not followed by two hex digits is kept as is.
std::string percentDecode(std::string_view s, bool plus_as_space = false);
// Encodes everything but RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~).
std::string percentEncode(std::string_view s);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
// "a=1&b=x+y&c&d=%40" -> {a,1} {b,"x y"} {c,""} {d,"@"}; order kept, empty pieces skipped.
// Accepts a query with or without the leading '?'.
QueryParams parseQuery(std::string_view query);
// First value of `key` in `query`, decoded; nullopt when absent.
std::optional<std::string> queryParam(std::string_view query, std::string_view key);
// Inverse of parseQuery: percent-encodes keys and values, joins with '&' (no leading '?').
std::string buildQuery(const QueryParams& params);

}  // namespace sluice::http
