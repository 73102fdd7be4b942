#pragma once
// DirWatcher: tells its owner, once per burst, that something in a config directory changed.
//
// It watches the directory (and every subdirectory, added as they appear) with inotify for
// create, modify (close-after-write), delete, attribute changes and moves in or out. Those cover
// the ways configuration reaches a directory in practice:
//   - an editor writing in place, or writing a temp file and renaming it over the original;
//   - `cp`/`kubectl apply`-like tools that truncate and rewrite;
//   - Kubernetes ConfigMap volumes, which swap a `..data` symlink by rename.
// Events are debounced: `on_change` runs `debounce` after the last event of a burst, but no later
// than `max_delay` after the first one, so a steady trickle of writes still gets applied.
// If the watched directory itself is deleted or moved away, the watcher polls (every
// `debounce`, bounded by nothing but stop()) until it reappears, re-arms, and reports a change.
//
// Threading: everything runs on the io_context given to the constructor; `on_change` is called on
// it. start()/stop() must be called from that context's thread (or before it runs).

#include <asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace sluice::control {

struct DirWatcherOptions {
  std::chrono::milliseconds debounce{50};
  std::chrono::milliseconds max_delay{500};
};

class DirWatcher {
 public:
  using OnChange = std::function<void()>;

  DirWatcher(asio::io_context& io, std::string dir, DirWatcherOptions options, OnChange on_change);
  ~DirWatcher();
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // Sets up inotify on the directory. Errors: kNotFound if the directory does not exist,
  // kIo if inotify cannot be initialised (e.g. the per-user watch limit is reached).
  Status start();
  // Stops watching; no callback runs after this returns. Idempotent.
  void stop();

  // Number of debounced change notifications delivered so far (for tests and /config_dump).
  uint64_t notifications() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::control
