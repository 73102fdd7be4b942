#pragma once
// Which ZooKeeper ensemble and which part of its tree a `--registry zookeeper://...` URL means:
//   zookeeper://HOST[:PORT][,HOST[:PORT]...][/ROOT][?sessionTimeoutMs=N]
// PORT defaults to 2181, ROOT to /services (Curator's and Spring Cloud Zookeeper's default,
// `spring.cloud.zookeeper.discovery.root`); a trailing "/" is ignored. Several servers form one
// ensemble: the client connects to one and fails over to the others.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/address.h"

namespace sluice::registry::zookeeper {

struct ZooKeeperSource {
  std::vector<net::HostPort> servers;
  std::string root = "/services";  // absolute, no trailing slash
  int session_timeout_ms = 10'000;
  std::string url;  // as given, for status and messages

  // The C client's connect string: "h1:p1,h2:p2" (IPv6 literals bracketed).
  std::string connectString() const;
};

// Unknown query parameters, empty hosts, bad ports and relative or empty path segments are
// errors naming the URL, so a typo does not silently watch the wrong tree.
Result<ZooKeeperSource> parseZooKeeperUrl(std::string_view url);

}  // namespace sluice::registry::zookeeper
