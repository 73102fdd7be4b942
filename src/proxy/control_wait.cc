#include "proxy/control_wait.h"

#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>

namespace sluice::proxy {

asio::awaitable<bool> awaitControlPlane(asio::io_context& io, std::chrono::milliseconds max_wait,
                                        const std::function<void(std::function<void()>)>& ask) {
  // `done` may come from any thread, after the request gave up: it only cancels the timer if the
  // request still waits on it (the weak pointer is read on this loop's thread).
  auto timer = std::make_shared<asio::steady_timer>(io, max_wait);
  std::weak_ptr<asio::steady_timer> waiting = timer;
  asio::io_context* loop = &io;
  ask([loop, waiting] {
    asio::post(*loop, [waiting] {
      if (auto t = waiting.lock()) t->cancel();
    });
  });
  asio::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return ec == asio::error::operation_aborted;
}

bool ExpiringKeys::contains(const std::string& key) {
  auto it = until_.find(key);
  if (it == until_.end()) return false;
  if (it->second > Clock::now()) return true;
  until_.erase(it);
  return false;
}

void ExpiringKeys::remember(std::string key, Clock::time_point until) {
  if (until_.size() >= max_keys_ && until_.count(key) == 0) {
    const auto now = Clock::now();
    std::erase_if(until_, [&](const auto& entry) { return entry.second <= now; });
    if (until_.size() >= max_keys_) until_.clear();
  }
  until_[std::move(key)] = until;
}

}  // namespace sluice::proxy
