#pragma once
// A registry::Watcher the test drives: it reports what the test hands it, from a thread of its
// own as a real watcher would.

#include <atomic>
#include <mutex>
#include <vector>

#include "registry/registry.h"

namespace sluice::testutil {

class FakeWatcher : public registry::Watcher {
 public:
  void start(OnChange on_change) override;
  void stop() override;
  registry::SourceStatus status() const override;
  // From another thread (joined before it returns): on_change with the list setNextRefresh()
  // gave, if any, then `done`. Counts the calls in refreshes.
  void refreshNow(OnRefreshed done) override;
  void setInterest(registry::Interest interest) override;
  registry::Interest interest() const;

  // Calls on_change with `services` from another thread; returns after it ran.
  void emitFromThread(std::vector<registry::Service> services);
  void setStatus(registry::SourceStatus status);
  // What the next refreshNow() reports (nothing while empty).
  void setNextRefresh(std::vector<registry::Service> services);

  std::atomic<int> refreshes{0};

 private:
  mutable std::mutex mu_;
  OnChange on_change_;
  registry::SourceStatus status_;
  std::vector<registry::Service> next_;
  registry::Interest interest_;
};

}  // namespace sluice::testutil
