#pragma once
// Request parameters of the Nacos Open API as a servlet sees them: the query string first, then
// an application/x-www-form-urlencoded body, merged; for a name given twice the first value wins
// (servlet getParameter). Clients differ in where they put things: the Java 1.x client sends the
// beat JSON in a form body and everything else in the query, the Node SDK sends everything in the
// query string even for POST/PUT/DELETE.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace sluice::registry::nacos {

class Params {
 public:
  // Adds "a=1&b=2" pairs (decoded by http::parseQuery); an existing name keeps its first value.
  // A malformed %-escape is an error naming the parameter (a servlet container answers 400 too,
  // where http::parseQuery alone would keep the bytes as they are).
  Status addEncoded(std::string_view encoded);

  std::optional<std::string> get(std::string_view name) const;
  // The value, or `fallback` when the parameter is absent or blank (Nacos' WebUtils.optional).
  std::string optional(std::string_view name, std::string_view fallback) const;
  // The value; a blank or absent parameter is an error "Param 'name' is required." (as Nacos says).
  Result<std::string> required(std::string_view name) const;
  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

// Builds "a=1&b=2" from pairs, percent-encoding each side.
std::string encodeParams(const std::map<std::string, std::string>& params);

}  // namespace sluice::registry::nacos
