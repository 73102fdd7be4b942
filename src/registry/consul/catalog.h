#pragma once
// The embedded Consul agent's state: one node ("sluice"), the services registered on it and their
// checks, with Consul's indexes so blocking queries can tell whether anything changed.
//
// Semantics follow Consul's agent where clients can tell:
// - a registration with the ID of a registered service replaces it (and its checks);
// - a new check is critical unless its registration gives Status; TTL checks turn critical when
//   no pass/warn/fail arrives within TTL; HTTP/TCP checks are probed by the server (server.h);
// - a service whose check stays critical longer than its DeregisterCriticalServiceAfter is
//   deregistered;
// - maintenance mode adds the critical check "_service_maintenance:<id>";
// - an update that changes neither status nor output bumps no index (so a heartbeat does not wake
//   blocking queries).
// Indexes: `index()` grows on every change; `catalogIndex()` on service set/tag changes (what
// /v1/catalog/services reports); `serviceIndex(name)` on any change to that service name,
// deregistration included (what /v1/health/service/<name> reports). All are >= 1.
//
// Threading: not thread-safe; the server calls it from its one io_context thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace sluice::registry::consul {

enum class CheckKind { kTtl, kHttp, kTcp, kNone };

struct ConsulCheck {
  std::string id;  // "service:<service id>" by default
  std::string name;
  std::string notes;
  CheckKind kind = CheckKind::kNone;
  std::string target;  // HTTP: URL; TCP: host:port
  std::string method;  // HTTP method ("" = GET)
  int64_t ttl_ms = 0;
  int64_t interval_ms = 0;
  int64_t timeout_ms = 0;
  int64_t deregister_after_ms = 0;  // 0 = never
  std::string status = "critical";  // passing | warning | critical
  std::string output;
  int64_t ttl_deadline_ms = 0;    // TTL checks: critical after this
  int64_t critical_since_ms = 0;  // when it last turned critical (0 = not critical)
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

struct ConsulService {
  std::string id;
  std::string name;
  std::vector<std::string> tags;
  std::string address;
  uint16_t port = 0;
  std::map<std::string, std::string> meta;
  bool enable_tag_override = false;
  bool maintenance = false;
  std::string maintenance_reason;
  std::vector<ConsulCheck> checks;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
};

// Parses a Go duration ("10s", "1m30s", "250ms", "1h") or a bare number of nanoseconds; nullopt
// when malformed.
std::optional<int64_t> parseGoDurationMs(std::string_view text);

class ConsulCatalog {
 public:
  // `now_ms`: milliseconds of a monotonic-enough clock (tests inject a fake one).
  explicit ConsulCatalog(std::function<int64_t()> now_ms = {});

  // PUT /v1/agent/service/register with Consul's JSON (field names case-insensitive, like Go).
  // Errors (kInvalidArgument) carry Consul's message ("Missing service name", "Invalid check:
  // ..."); the catalog is unchanged then.
  Status registerService(std::string_view json_body);
  bool deregisterService(const std::string& id);
  bool setMaintenance(const std::string& id, bool enable, const std::string& reason);
  // pass | warn | fail | update: status "passing"/"warning"/"critical". False: no such check.
  bool updateCheck(const std::string& check_id, const std::string& status,
                   const std::string& output);
  // Like updateCheck for probes run by the server; ignores a check that has gone since.
  void probeResult(const std::string& check_id, bool passing, const std::string& output);

  // Expires TTL checks and reaps services critical for longer than their
  // DeregisterCriticalServiceAfter. Returns true when something changed.
  bool tick();

  uint64_t index() const { return index_; }
  uint64_t catalogIndex() const { return catalog_index_; }
  uint64_t serviceIndex(const std::string& name) const;

  const std::map<std::string, ConsulService>& services() const { return services_; }

  // Persistence (--data-dir): the whole state as JSON and back. load() errors name the problem.
  std::string snapshot() const;
  Status load(std::string_view json);

 private:
  void bump(const std::string& name, bool catalog_changed);
  void setStatus(ConsulCheck& check, const std::string& status, const std::string& output,
                 const std::string& service_name);

  std::function<int64_t()> now_ms_;
  std::map<std::string, ConsulService> services_;  // by service ID
  std::map<std::string, uint64_t> name_index_;     // service name -> last index touching it
  uint64_t index_ = 1;
  uint64_t catalog_index_ = 1;
};

}  // namespace sluice::registry::consul
