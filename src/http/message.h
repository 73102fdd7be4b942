#pragma once
// HTTP/1.1 message heads shared by the codec, the proxy and the small servers/clients (registry,
// admin, demo apps). Bodies are not part of a head: the proxy streams them, the simple
// server/client (server.h, client.h) carry them whole.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::http {

// Header list in arrival order; names keep their case for forwarding, lookups ignore case.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  // First value of `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  // All values of `name` joined with ", " (RFC 9110 list semantics); nullopt when absent.
  std::optional<std::string> getJoined(std::string_view name) const;
  bool has(std::string_view name) const;
  size_t count(std::string_view name) const;
  // Replaces every `name` with one entry.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  // Removes every `name`; returns how many were removed.
  size_t remove(std::string_view name);

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  void clear() { entries_.clear(); }

 private:
  std::vector<Entry> entries_;
};

enum class Version : uint8_t { kHttp10, kHttp11 };

struct RequestHead {
  std::string method;
  // Request target as sent: origin-form ("/a?b"), absolute-form ("http://h:p/a"), authority-form
  // (CONNECT) or "*".
  std::string target;
  Version version = Version::kHttp11;
  Headers headers;

  // Derived by the codec when the head is parsed (absolute-form split into parts).
  std::string scheme;     // "http" when absolute-form said so, empty for origin-form
  std::string authority;  // absolute-form authority, else the Host header
  std::string path;       // path + query, origin-form
};

struct ResponseHead {
  int status = 200;
  std::string reason;
  Version version = Version::kHttp11;
  Headers headers;
};

// Standard reason phrase for a status code ("OK", "Not Found"...); "Unknown" otherwise.
std::string_view reasonPhrase(int status);

}  // namespace sluice::http
