#include "demo/steady_traffic.h"

#include "http/client.h"

namespace sluice::demo {

void SteadyTraffic::start(std::string url, std::chrono::milliseconds interval) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this, url = std::move(url), interval] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      http::ClientRequest request;
      request.url = url;
      request.timeout = std::chrono::milliseconds(2000);
      // The answer does not matter here: the proxies' metrics are what the page shows.
      (void)http::fetchBlocking(std::move(request));
      ++sent_;
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void SteadyTraffic::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::demo
