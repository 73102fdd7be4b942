#include "testutil/service_recorder.h"

#include <algorithm>

namespace sluice::testutil {

void ServiceRecorder::record(const std::vector<Service>& services) {
  std::lock_guard lock(mu_);
  calls_.push_back(services);
  cv_.notify_all();
}

registry::Watcher::OnChange ServiceRecorder::onChange() {
  return [this](const std::vector<Service>& services) { record(services); };
}

bool ServiceRecorder::waitFor(const Predicate& pred, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return !calls_.empty() && pred(calls_.back()); });
}

size_t ServiceRecorder::count() const {
  std::lock_guard lock(mu_);
  return calls_.size();
}

std::vector<Service> ServiceRecorder::last() const {
  std::lock_guard lock(mu_);
  return calls_.empty() ? std::vector<Service>{} : calls_.back();
}

const Service* findService(const std::vector<Service>& services, const std::string& name) {
  for (const auto& s : services) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

size_t instanceCount(const std::vector<Service>& services, const std::string& name) {
  const Service* s = findService(services, name);
  return s ? s->instances.size() : 0;
}

size_t healthyCount(const std::vector<Service>& services, const std::string& name) {
  const Service* s = findService(services, name);
  if (s == nullptr) return 0;
  return static_cast<size_t>(std::count_if(s->instances.begin(), s->instances.end(),
                                           [](const registry::Instance& i) { return i.healthy; }));
}

bool hasInstanceIp(const std::vector<Service>& services, const std::string& name,
                   const std::string& ip) {
  const Service* s = findService(services, name);
  return s && std::any_of(s->instances.begin(), s->instances.end(),
                          [&](const registry::Instance& i) { return i.ip == ip; });
}

bool hasInstancePort(const std::vector<Service>& services, const std::string& name, int port) {
  const Service* s = findService(services, name);
  return s && std::any_of(s->instances.begin(), s->instances.end(),
                          [&](const registry::Instance& i) { return i.port == port; });
}

}  // namespace sluice::testutil
