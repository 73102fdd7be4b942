#pragma once
// Smooths one registry's service lists before they reach routing, for the two moments when a
// list is true but acting on it at once would break traffic:
//
// - Empty protection (what Nacos clients call push-empty protection): a service that had
//   instances and suddenly has none, or vanished, keeps its last instances for
//   `empty_protection`. A registry that restarts loses its ephemeral instances until their next
//   beats; without this, routing would drop whole services for those seconds.
// - Retired addresses: an instance that left is remembered for `retired_grace`, so reverse DNS
//   still maps its address to its service while applications use cached instance lists
//   (RetiredInstance).
//
// Not thread-safe: the controller calls it from its own io_context.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control/snapshot/inputs.h"
#include "registry/registry.h"

namespace sluice::control {

class RegistryDamper {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::chrono::milliseconds empty_protection{30'000};
    std::chrono::milliseconds retired_grace{60'000};
  };

  explicit RegistryDamper(Options options) : options_(options) {}

  // The latest raw list from the registry.
  void update(const std::vector<registry::Service>& raw, Clock::time_point now);
  // Applies expiries (protection ending, retired addresses forgotten); call when nextExpiry()
  // passes. Returns true when the effective list changed.
  bool refresh(Clock::time_point now);

  const std::vector<registry::Service>& effective() const { return effective_; }
  std::vector<RetiredInstance> retired() const;
  std::optional<Clock::time_point> nextExpiry() const;
  // Forgets the services `interest` does not want (no protection: they were not lost, this
  // proxy stopped asking for them).
  void keepOnly(const registry::Interest& interest);
  // Services currently served from protection (for logs and /clusters).
  std::vector<std::string> protectedServices() const;

 private:
  struct Protected {
    registry::Service service;
    Clock::time_point until;
  };
  struct Retired {
    RetiredInstance instance;
    Clock::time_point until;
  };

  void recompute(Clock::time_point now);

  Options options_;
  std::vector<registry::Service> raw_;
  std::vector<registry::Service> effective_;
  std::map<std::string, Protected> protected_;  // key: namespace/group/name
  std::map<std::string, Retired> retired_;      // key: "ip:port"
};

}  // namespace sluice::control
