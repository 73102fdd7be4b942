#include "registry/zookeeper/source.h"

#include "core/strings.h"
#include "http/url.h"
#include "registry/registry_url.h"

namespace sluice::registry::zookeeper {

namespace {

constexpr std::string_view kScheme = "zookeeper://";
constexpr int kDefaultPort = 2181;
// What the server accepts is bounded by its tickTime (2x..20x); this only rejects nonsense.
constexpr uint64_t kMinSessionTimeoutMs = 100;
constexpr uint64_t kMaxSessionTimeoutMs = 600'000;

}  // namespace

std::string ZooKeeperSource::connectString() const {
  std::string out;
  for (const auto& server : servers) {
    if (!out.empty()) out += ',';
    out += server.toString();
  }
  return out;
}

Result<ZooKeeperSource> parseZooKeeperUrl(std::string_view url) {
  auto bad = [&](const std::string& what) {
    return registryUrlError(url, what,
                            "zookeeper://HOST:PORT[,HOST:PORT...][/ROOT][?sessionTimeoutMs=N]");
  };
  auto parts = splitRegistryUrl(url, kScheme);
  if (!parts) return bad("not a zookeeper:// URL");
  std::string_view rest = parts->rest;
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  ZooKeeperSource source;
  source.url = std::string(url);
  if (rest.empty()) return bad("no server");
  for (std::string_view server : split(rest, ',')) {
    auto hp = net::parseHostPort(trim(server), kDefaultPort);
    if (!hp) return bad(hp.error().message);
    if (hp->port == 0) return bad(fmt::format("'{}': port 0", server));
    source.servers.push_back(std::move(*hp));
  }
  // A lone or trailing "/" is no path (as in http URLs): the default root stays.
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) {
    for (std::string_view segment : split(path.substr(1), '/')) {
      if (segment.empty() || segment == "." || segment == "..") {
        return bad(fmt::format("bad root path '{}'", path));
      }
    }
    source.root = std::string(path);
  }
  for (auto& [key, value] : parts->query) {
    if (key == "sessionTimeoutMs") {
      auto ms = parseUint(trim(value), kMaxSessionTimeoutMs);
      if (!ms || *ms < kMinSessionTimeoutMs) {
        return bad(fmt::format("sessionTimeoutMs must be {}..{}", kMinSessionTimeoutMs,
                               kMaxSessionTimeoutMs));
      }
      source.session_timeout_ms = static_cast<int>(*ms);
    } else {
      return bad(fmt::format("unknown parameter '{}'", key));
    }
  }
  return source;
}

}  // namespace sluice::registry::zookeeper
