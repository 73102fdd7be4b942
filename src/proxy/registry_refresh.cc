#include "proxy/registry_refresh.h"

#include "core/log.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace sluice::proxy {

asio::awaitable<bool> RegistryRefresher::refreshFor(const std::string& address) {
  if (!enabled() || recent_.contains(address)) co_return false;
  recent_.remember(address, std::chrono::steady_clock::now() + options_.retry_after);
  ++refreshes_;
  bool in_time = co_await awaitControlPlane(
      io_, options_.max_wait,
      [this](std::function<void()> done) { options_.refresh(std::move(done)); });
  if (!in_time) ++timeouts_;
  co_return true;
}

asio::awaitable<bool> refreshForUnknownPodAddress(Worker& w, const MeshSnapshot& snapshot,
                                                  const asio::ip::tcp::endpoint& destination) {
  RegistryRefresher& refresher = w.registryRefresher();
  if (!refresher.enabled()) co_return false;
  std::string ip = destination.address().to_string();
  if (!snapshot.reverseDnsCovers(ip, destination.port())) co_return false;
  if (snapshot.findByAddress(ip, destination.port()) != nullptr) co_return false;
  std::string address = net::HostPort{ip, destination.port()}.toString();
  auto started = std::chrono::steady_clock::now();
  uint64_t timeouts = refresher.timeouts();
  if (!co_await refresher.refreshFor(address)) co_return false;
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  const MeshSnapshot& now = *w.snapshot();
  if (const MeshService* found = now.findByAddress(ip, destination.port())) {
    SLUICE_LOG_INFO("reverse DNS: {} was unknown; after a registry refresh ({} ms) it is {}",
                    address, took.count(), found->fqdn);
  } else {
    SLUICE_LOG_INFO(
        "reverse DNS: {} is in the pod CIDRs but no registry instance has it{} "
        "({} ms); passed through",
        address, refresher.timeouts() > timeouts ? " yet (refresh timed out)" : "", took.count());
  }
  co_return true;
}

}  // namespace sluice::proxy
