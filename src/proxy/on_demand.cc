#include "proxy/on_demand.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

#include "core/log.h"
#include "core/strings.h"
#include "proxy/service_resolver.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace sluice::proxy {

bool OnDemandLoader::rememberedAbsent(const std::string& host) {
  auto it = absent_.find(host);
  if (it == absent_.end()) return false;
  if (it->second > std::chrono::steady_clock::now()) return true;
  absent_.erase(it);
  return false;
}

asio::awaitable<bool> OnDemandLoader::load(std::string host, std::function<bool()> known) {
  if (!enabled() || rememberedAbsent(host)) co_return false;
  ++loads_;
  auto now = std::chrono::steady_clock::now();
  // `done` may come from any thread, after this request gave up: it only cancels the timer if
  // the request still waits on it (the weak pointer is read on this loop's thread).
  auto timer = std::make_shared<asio::steady_timer>(io_, now + options_.max_wait);
  std::weak_ptr<asio::steady_timer> waiting = timer;
  asio::io_context* io = &io_;
  options_.load(host, [io, waiting] {
    asio::post(*io, [waiting] {
      if (auto t = waiting.lock()) t->cancel();
    });
  });
  asio::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) ++timeouts_;  // expired: the load did not finish in time
  if (known && known()) co_return true;
  now = std::chrono::steady_clock::now();
  if (absent_.size() >= options_.max_absent) {
    std::erase_if(absent_, [&](const auto& entry) { return entry.second <= now; });
    if (absent_.size() >= options_.max_absent) absent_.clear();
  }
  absent_[std::move(host)] = now + options_.absent_for;
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
