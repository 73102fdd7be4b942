#include "testutil/fake_watcher.h"

#include <thread>

namespace sluice::testutil {

void FakeWatcher::start(OnChange on_change) {
  std::lock_guard lock(mu_);
  on_change_ = std::move(on_change);
}

void FakeWatcher::stop() {
  std::lock_guard lock(mu_);
  on_change_ = nullptr;
}

registry::SourceStatus FakeWatcher::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

void FakeWatcher::refreshNow(OnRefreshed done) {
  ++refreshes;
  std::thread([this, done = std::move(done)] {
    std::lock_guard lock(mu_);
    if (on_change_ && !next_.empty()) on_change_(next_);
    if (done) done();
  }).join();
}

void FakeWatcher::emitFromThread(std::vector<registry::Service> services) {
  std::thread([this, services = std::move(services)] {
    std::lock_guard lock(mu_);
    if (on_change_) on_change_(services);
  }).join();
}

void FakeWatcher::setStatus(registry::SourceStatus status) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
}

void FakeWatcher::setNextRefresh(std::vector<registry::Service> services) {
  std::lock_guard lock(mu_);
  next_ = std::move(services);
}

void FakeWatcher::setInterest(registry::Interest interest) {
  std::lock_guard lock(mu_);
  interest_ = std::move(interest);
}

registry::Interest FakeWatcher::interest() const {
  std::lock_guard lock(mu_);
  return interest_;
}

}  // namespace sluice::testutil
