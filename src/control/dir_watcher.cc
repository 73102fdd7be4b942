#include "control/dir_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

#include "core/log.h"

namespace sluice::control {

namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE | IN_ATTRIB |
                              IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                              IN_ONLYDIR;

}  // namespace

struct DirWatcher::Impl : std::enable_shared_from_this<DirWatcher::Impl> {
  Impl(asio::io_context& io, std::string dir, DirWatcherOptions options, OnChange on_change)
      : io(io),
        dir(std::move(dir)),
        options(options),
        on_change(std::move(on_change)),
        descriptor(io),
        debounce_timer(io),
        rearm_timer(io) {}

  asio::io_context& io;
  std::string dir;
  DirWatcherOptions options;
  OnChange on_change;
  asio::posix::stream_descriptor descriptor;
  asio::steady_timer debounce_timer;
  asio::steady_timer rearm_timer;
  std::map<int, std::string> watches;  // watch descriptor -> directory path
  int root_wd = -1;
  bool stopped = false;
  // First event of the burst being debounced; empty when no burst is pending.
  std::optional<std::chrono::steady_clock::time_point> burst_start;
  uint64_t notifications = 0;

  Status armRoot() {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
      return makeError(ErrorCode::kNotFound, ErrorSource::kConfig,
                       fmt::format("config directory {} does not exist", dir));
    }
    int wd = inotify_add_watch(descriptor.native_handle(), dir.c_str(), kDirMask);
    if (wd < 0) {
      return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                       fmt::format("inotify_add_watch({}): {}", dir, std::strerror(errno)));
    }
    root_wd = wd;
    watches[wd] = dir;
    addSubdirectories(dir);
    return ok();
  }

  // Watches every directory below `path` (bounded by the filesystem; symlinked dirs are not
  // followed, so a loop cannot make this run forever).
  void addSubdirectories(const std::string& path) {
    std::error_code ec;
    auto it = std::filesystem::recursive_directory_iterator(
        path, std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec) return;
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_symlink(ec) || !it->is_directory(ec)) continue;
      addWatch(it->path().string());
    }
  }

  void addWatch(const std::string& path) {
    int wd = inotify_add_watch(descriptor.native_handle(), path.c_str(), kDirMask);
    if (wd < 0) {
      SLUICE_LOG_WARN("config watch: cannot watch {}: {}", path, std::strerror(errno));
      return;
    }
    watches[wd] = path;
  }

  void waitForEvents() {
    if (stopped) return;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](const std::error_code& ec) {
                            if (ec || self->stopped) return;
                            self->drainEvents();
                            self->waitForEvents();
                          });
  }

  void drainEvents() {
    alignas(inotify_event) char buf[16 * 1024];
    bool changed = false;
    bool root_gone = false;
    // Bounded: the fd is non-blocking, so this ends at EAGAIN; the count caps a flood.
    for (int round = 0; round < 64; ++round) {
      ssize_t n = ::read(descriptor.native_handle(), buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if (ev->mask & IN_Q_OVERFLOW) {
          changed = true;
          continue;
        }
        if (ev->mask & IN_IGNORED) {
          watches.erase(ev->wd);
          if (ev->wd == root_wd) root_gone = true;
          continue;
        }
        if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && ev->wd == root_wd) {
          root_gone = true;
          changed = true;
          continue;
        }
        changed = true;
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len > 0) {
          auto parent = watches.find(ev->wd);
          if (parent != watches.end()) {
            std::string sub = parent->second + "/" + ev->name;
            addWatch(sub);
            addSubdirectories(sub);
          }
        }
      }
    }
    if (root_gone) rearmLater();
    if (changed) noteEvent();
  }

  void rearmLater() {
    for (auto& [wd, path] : watches) inotify_rm_watch(descriptor.native_handle(), wd);
    watches.clear();
    root_wd = -1;
    SLUICE_LOG_WARN("config watch: directory {} went away; waiting for it to come back", dir);
    pollForRoot();
  }

  void pollForRoot() {
    rearm_timer.expires_after(options.debounce);
    rearm_timer.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->stopped) return;
      if (self->armRoot()) {
        SLUICE_LOG_INFO("config watch: directory {} is back", self->dir);
        self->noteEvent();
      } else {
        self->pollForRoot();
      }
    });
  }

  void noteEvent() {
    auto now = std::chrono::steady_clock::now();
    if (!burst_start) burst_start = now;
    auto deadline = std::min(now + options.debounce, *burst_start + options.max_delay);
    debounce_timer.expires_at(deadline);
    debounce_timer.async_wait([self = shared_from_this()](const std::error_code& ec) {
      if (ec || self->stopped) return;  // operation_aborted: re-armed by a newer event
      self->burst_start.reset();
      ++self->notifications;
      if (self->on_change) self->on_change();
    });
  }
};

DirWatcher::DirWatcher(asio::io_context& io, std::string dir, DirWatcherOptions options,
                       OnChange on_change)
    : impl_(std::make_shared<Impl>(io, std::move(dir), options, std::move(on_change))) {}

DirWatcher::~DirWatcher() { stop(); }

Status DirWatcher::start() {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                     fmt::format("inotify_init1: {}", std::strerror(errno)));
  }
  impl_->descriptor.assign(fd);
  impl_->stopped = false;
  if (auto st = impl_->armRoot(); !st) {
    std::error_code ignored;
    impl_->descriptor.close(ignored);
    return st;
  }
  impl_->waitForEvents();
  return ok();
}

void DirWatcher::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  std::error_code ignored;
  impl_->debounce_timer.cancel();
  impl_->rearm_timer.cancel();
  impl_->descriptor.close(ignored);
  impl_->watches.clear();
}

uint64_t DirWatcher::notifications() const { return impl_->notifications; }

}  // namespace sluice::control
