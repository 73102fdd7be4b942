#pragma once
// Watches one Consul agent and reports its services to the mesh:
//   consul://HOST[:PORT][?dc=DC&token=TOKEN&wait=DURATION]   (port 8500, wait 60s)
//
// Blocking queries, as Consul's docs describe them: GET /v1/catalog/services?index=I&wait=W for
// the service set, and one GET /v1/health/service/<name>?passing=true&index=I&wait=W loop per
// service, so a registration or health change reaches on_change as soon as the agent answers.
// Index rules: the next index is the answer's X-Consul-Index; it resets to 0 when it goes
// backwards, and an answer without an index (or with 0) is retried after a pause (never a busy
// loop). An answer that comes back at once with an unchanged index is rate-limited too.
// Errors back off exponentially (200 ms doubling to 5 s), keep the last good view, and appear in
// status() (reachable=false, the error) until every query succeeds again.
//
// An instance is Service.Address (else Node.Address) : Service.Port, labelled with the
// `key=value` Tags (Spring Cloud Consul <= 2.x wrote metadata that way) overlaid by Service.Meta.
// Only entries whose checks all pass are healthy (the query asks for passing ones anyway).
// `token` is sent as X-Consul-Token; `dc` as the dc query parameter.
//
// Threads: self-threaded (start() starts the thread, stop() joins it); on_change and refreshNow
// callbacks run on that thread.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "net/address.h"
#include "registry/registry.h"

namespace sluice::registry::consul {

struct ConsulSource {
  net::HostPort server;
  std::string dc;
  std::string token;
  std::string url;  // as given, for status and messages
  std::chrono::milliseconds wait{60'000};
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
};

// Parses the URL; unknown parameters are errors naming the URL.
Result<ConsulSource> parseConsulUrl(std::string_view url);

// The instances of one /v1/health/service/<name> answer; errors name what is malformed.
Result<std::vector<Instance>> parseHealthService(std::string_view body);
// The service names of one /v1/catalog/services answer.
Result<std::vector<std::string>> parseCatalogServices(std::string_view body);

class ConsulWatcher : public Watcher {
 public:
  explicit ConsulWatcher(ConsulSource source);
  ~ConsulWatcher() override;
  void start(OnChange on_change) override;
  void stop() override;
  SourceStatus status() const override;
  void refreshNow(OnRefreshed done) override;
  // Only the wanted services get a health watch; the catalog query stays (it is the name list).
  void setInterest(Interest interest) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url);

}  // namespace sluice::registry::consul
