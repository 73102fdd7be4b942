#pragma once
// What a registry watcher reported, for waiting on with a deadline (no sleeps), and lookups in a
// reported service list.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "registry/registry.h"

namespace sluice::testutil {

using registry::Service;

// Records every on_change call. Thread-safe: the watcher calls record() on its thread, the test
// waits on its own.
class ServiceRecorder {
 public:
  using Predicate = std::function<bool(const std::vector<Service>&)>;

  void record(const std::vector<Service>& services);
  // An on_change for Watcher::start that records here.
  registry::Watcher::OnChange onChange();
  // Waits until a call has been recorded and the latest one satisfies `pred`.
  bool waitFor(const Predicate& pred, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  size_t count() const;
  // The latest call's services (empty before the first).
  std::vector<Service> last() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<Service>> calls_;
};

// The service named `name`, or nullptr.
const Service* findService(const std::vector<Service>& services, const std::string& name);
// How many instances `name` has (0 when absent).
size_t instanceCount(const std::vector<Service>& services, const std::string& name);
// How many of them are healthy.
size_t healthyCount(const std::vector<Service>& services, const std::string& name);
// Whether `name` has an instance at `ip` (any port).
bool hasInstanceIp(const std::vector<Service>& services, const std::string& name,
                   const std::string& ip);
// Whether `name` has an instance on `port` (any address).
bool hasInstancePort(const std::vector<Service>& services, const std::string& name, int port);

}  // namespace sluice::testutil
