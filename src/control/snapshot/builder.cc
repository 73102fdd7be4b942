// Helpers shared by the files that assemble a snapshot.
#include "control/snapshot/builder.h"

#include <algorithm>

#include "core/strings.h"

namespace sluice::control::snapshot {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

milliseconds toMs(const config::Duration& d) { return duration_cast<milliseconds>(d.value); }

std::string where(const config::Position& pos) {
  return pos.file.empty() ? std::string() : pos.toString() + ": ";
}

std::string vsName(const config::VirtualService& vs) { return vs.meta.ns + "/" + vs.meta.name; }

// Does host pattern `pattern` (maybe "*" or "*.x.com") cover `host` (maybe itself a wildcard)?
bool hostCovers(std::string_view pattern, std::string_view host) {
  if (pattern == "*") return true;
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".x.com"
    if (host.starts_with("*.")) return host.substr(1).ends_with(suffix);
    return host.size() > suffix.size() && host.ends_with(suffix);
  }
  return pattern == host;
}

// Istio's symmetric host overlap.
bool hostsOverlap(std::string_view a, std::string_view b) {
  return hostCovers(a, b) || hostCovers(b, a);
}

bool labelsSuperset(const std::map<std::string, std::string>& have,
                    const std::map<std::string, std::string>& want) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

// Which sidecar/gateway contexts a VirtualService applies to: "mesh" and/or "ns/name".
std::vector<std::string> normalizeGateways(const std::vector<std::string>& gateways,
                                           const std::string& vs_ns) {
  std::vector<std::string> out;
  if (gateways.empty()) {
    out.emplace_back("mesh");
    return out;
  }
  for (const auto& g : gateways) {
    if (g == "mesh") {
      out.emplace_back("mesh");
    } else if (g.starts_with("./")) {
      out.push_back(vs_ns + "/" + g.substr(2));
    } else if (g.find('/') != std::string::npos) {
      out.push_back(g);
    } else if (g.find('.') != std::string::npos) {
      // Legacy FQDN form name.ns.svc.cluster.local -> ns/name.
      auto parts = split(g, '.');
      if (parts.size() >= 2) out.push_back(std::string(parts[1]) + "/" + std::string(parts[0]));
    } else {
      out.push_back(vs_ns + "/" + g);
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace sluice::control::snapshot
