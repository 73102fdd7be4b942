#include "proxy/on_demand.h"

#include "core/log.h"
#include "core/strings.h"
#include "proxy/service_resolver.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace sluice::proxy {

bool OnDemandLoader::rememberedAbsent(const std::string& host) { return absent_.contains(host); }

asio::awaitable<bool> OnDemandLoader::load(std::string host, std::function<bool()> known) {
  if (!enabled() || rememberedAbsent(host)) co_return false;
  ++loads_;
  // (`host` by reference: `ask` runs before the wait first suspends, and ServiceLoad takes
  // its own copy.)
  bool in_time = co_await awaitControlPlane(
      io_, options_.max_wait,
      [this, &host](std::function<void()> done) { options_.load(host, std::move(done)); });
  if (!in_time) ++timeouts_;
  if (known && known()) co_return true;
  absent_.remember(std::move(host), std::chrono::steady_clock::now() + options_.absent_for);
  co_return true;
}

asio::awaitable<bool> loadUnknownHost(Worker& w, const Resolution& res,
                                      std::string_view authority) {
  OnDemandLoader& loader = w.onDemandLoader();
  if (!loader.enabled() || res.vhost != nullptr) co_return false;
  if (!res.passthrough && !res.reply) co_return false;
  std::string host = toLower(splitAuthority(authority).first);
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty() || host.find_first_of("[:") != std::string::npos || net::IpAddress::parse(host))
    co_return false;
  auto started = std::chrono::steady_clock::now();
  uint64_t timeouts = loader.timeouts();
  bool found = false;
  auto known = [&w, &host, &found] {
    const MeshSnapshot& now = *w.snapshot();
    found = now.findService(host) != nullptr || now.mesh_routes.findVirtualHost(host) != nullptr;
    return found;
  };
  if (!co_await loader.load(host, known)) co_return false;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (found) {
    SLUICE_LOG_INFO("on demand: {} was not loaded; loaded for this request ({} ms)", host,
                    took.count());
  } else {
    SLUICE_LOG_DEBUG("on demand: {} is not a mesh name{} ({} ms); not asked again for a while",
                     host, loader.timeouts() > timeouts ? " yet (load timed out)" : "",
                     took.count());
  }
  co_return true;
}

}  // namespace sluice::proxy
