#pragma once
// Steady background requests for `sluice demo --keep`: one GET of `url` every `interval` on a
// thread of its own, so the mesh page (/ui) has live rates to show while a person watches the
// seed's split move. Not a benchmark: a bounded, gentle rate. start() once; stop() (or the
// destructor) ends the thread within one request timeout.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::demo {

class SteadyTraffic {
 public:
  SteadyTraffic() = default;
  ~SteadyTraffic() { stop(); }
  SteadyTraffic(const SteadyTraffic&) = delete;
  SteadyTraffic& operator=(const SteadyTraffic&) = delete;

  void start(std::string url, std::chrono::milliseconds interval);
  void stop();
  uint64_t sent() const { return sent_.load(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace sluice::demo
