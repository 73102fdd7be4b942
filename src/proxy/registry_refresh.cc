#include "proxy/registry_refresh.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "core/log.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace sluice::proxy {

namespace {
constexpr size_t kMaxRemembered = 4096;
}  // namespace

asio::awaitable<bool> RegistryRefresher::refreshFor(const std::string& address) {
  if (!enabled()) co_return false;
  auto now = std::chrono::steady_clock::now();
  if (auto it = recent_.find(address); it != recent_.end() && it->second > now) co_return false;
  if (recent_.size() >= kMaxRemembered) {
    std::erase_if(recent_, [&](const auto& entry) { return entry.second <= now; });
    if (recent_.size() >= kMaxRemembered) recent_.clear();
  }
  recent_[address] = now + options_.retry_after;
  ++refreshes_;

  // `done` may come from any thread, after this request gave up: it only cancels the timer if
  // the request still waits on it (the weak pointer is read on this worker's thread).
  auto timer = std::make_shared<asio::steady_timer>(io_, now + options_.max_wait);
  std::weak_ptr<asio::steady_timer> waiting = timer;
  asio::io_context* io = &io_;
  options_.refresh([io, waiting] {
    asio::post(*io, [waiting] {
      if (auto t = waiting.lock()) t->cancel();
    });
  });
  asio::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) ++timeouts_;  // expired: the refresh did not finish in time
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
