#pragma once
// ZooKeeperWatcher: `--registry zookeeper://HOST:PORT[,HOST:PORT...][/ROOT]` — the services
// registered in Curator's service-discovery layout (what Spring Cloud Zookeeper writes), kept
// current with ZooKeeper watches, for the mesh.
//
// Life of a watcher: start() opens a session (the C client connects in the background and fails
// over between the servers of the connect string). On every (re)connect the whole tree is read
// again (TreeMirror::resyncAll) while the last view stays; watch events schedule the reads that
// follow them. on_change gets the full service list once the first complete read is done and
// then after every batch of events that changed it — never a half-read tree.
//
// Outages keep the last view: a lost connection is re-established by the client within the same
// session (watches survive); an expired session is closed and a new one opened (with backoff if
// even that fails). status() reports reachable only while connected.
//
// Threads: one thread of its own (started by start(), joined by stop()) owns the session and the
// mirror and calls on_change. The C client's threads only append events to a queue.

#include <chrono>
#include <memory>
#include <string>

#include "core/result.h"
#include "registry/registry.h"
#include "registry/zookeeper/session.h"
#include "registry/zookeeper/source.h"

namespace sluice::registry::zookeeper {

struct WatcherOptions {
  // Not connected after this long (at start, or since the connection was lost) -> status()
  // carries an error, so start-up stops waiting for this registry.
  std::chrono::milliseconds connect_timeout{3000};
  // Between failed attempts to create a session at all.
  std::chrono::milliseconds reopen_backoff{500};
  std::chrono::milliseconds max_reopen_backoff{10'000};
};

class ZooKeeperWatcher : public Watcher {
 public:
  // `open_session` is openCClientSession in production; tests pass an in-memory ZooKeeper.
  ZooKeeperWatcher(ZooKeeperSource source, ZkSessionFactory open_session,
                   WatcherOptions options = {});
  ~ZooKeeperWatcher() override;

  // Call once.
  void start(OnChange on_change) override;
  // No on_change call starts after stop() returns (it may wait for a read in flight, bounded by
  // the session's receive timeout). Safe from any thread, including inside on_change.
  void stop() override;
  // Waits until the watcher has seen every change the server had applied when it is taken up
  // (one cheap read as a barrier, then the events it flushed), then runs `done` on the watcher's
  // thread, after on_change if something changed. Not connected: `done` runs at once.
  void refreshNow(OnRefreshed done) override;
  // Thread-safe.
  SourceStatus status() const override;
  // Only the wanted services' znodes are read and watched (TreeMirror::setInterest); thread-safe.
  void setInterest(Interest interest) override;

 private:
  struct State;
  static void run(std::shared_ptr<State> st);
  std::shared_ptr<State> state_;
};

// What control's registry factory calls: parses the URL and builds a watcher on the C client.
Result<std::unique_ptr<Watcher>> makeWatcher(const std::string& url);

}  // namespace sluice::registry::zookeeper
