#pragma once
// TreeMirror: an in-memory copy of Curator's service-discovery tree under one root,
//   <root>/<service>/<instance id>   (instance data: Curator ServiceInstance JSON)
// kept current from ZooKeeper's one-shot watches, the way Curator's TreeCache does it: every read
// re-arms the watch on what it read, every watch event schedules the read that re-arms it.
//
// Drive it like this (ZooKeeperWatcher does):
//   resyncAll() on every (re)connect       — everything is read again; what is known stays
//                                             until its read replaces or removes it
//   onNodeEvent(e) for every watch event   — schedules the reads the event calls for
//   sync(session) while hasWork()          — performs them; stops at a connection error,
//                                             keeping the unfinished work for the next sync
//   services() once complete() and !hasWork() — the whole view, as the mesh wants it
//
// A znode whose data is not a usable ServiceInstance is left out with one warning per distinct
// content (naming the znode); its siblings are unaffected. Two znodes of one service with the
// same address and port (a re-registration while the old ephemeral node lingers) count once:
// the newer one (higher czxid) wins.
//
// Not thread-safe: one thread owns it.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "registry/registry.h"
#include "registry/zookeeper/session.h"

namespace sluice::registry::zookeeper {

class TreeMirror {
 public:
  // `root` as ZooKeeperSource::root; `source_name` prefixes log lines (the registry URL).
  TreeMirror(std::string root, std::string source_name);

  void resyncAll();
  // Only the wanted services below the root are read and watched (a getChildren watch on
  // <root>/<name> each); the root's listing is still read and watched, as the list of names.
  // Services no longer wanted leave the view at once; newly wanted ones are read by the next
  // sync().
  void setInterest(Interest interest);
  void onNodeEvent(const ZkEvent& event);
  bool hasWork() const;
  // Returns kOk when all work is done (or `should_stop` said so between reads), else the
  // connection status that interrupted it (kConnectionLoss, kSessionExpired).
  ZkStatus sync(ZkSession& session, const std::function<bool()>& should_stop = {});
  // True once the tree has been read completely at least once.
  bool complete() const { return root_read_ && !hasWork(); }
  // Services sorted by name, instances by address and port.
  std::vector<Service> services() const;
  // The last read that failed for a reason other than the connection ("" when none since).
  const std::string& lastReadError() const { return last_read_error_; }

 private:
  struct InstanceNode {
    bool loaded = false;
    std::string data;  // as last read; an identical re-read changes nothing and warns no more
    int64_t created_zxid = 0;
    std::optional<Instance> instance;  // nullopt: not loaded yet, or the data is unusable
  };
  using ServiceNode = std::map<std::string, InstanceNode>;  // instance id -> node

  ZkStatus readRoot(ZkSession& session);
  ZkStatus readService(ZkSession& session, const std::string& name, bool deep);
  ZkStatus readInstance(ZkSession& session, const std::string& name, const std::string& id);
  std::string servicePath(const std::string& name) const;
  std::string instancePath(const std::string& name, const std::string& id) const;
  void readFailed(const std::string& path, const std::string& error);

  std::string root_;
  std::string source_name_;
  std::map<std::string, ServiceNode> services_;
  Interest interest_;
  std::set<std::string> root_children_;  // the root's last listing, wanted or not

  // Pending reads. "deep": re-read what lies below even if already known (a resync).
  bool root_pending_ = false;
  bool root_deep_ = false;
  std::map<std::string, bool> service_pending_;
  std::set<std::pair<std::string, std::string>> instance_pending_;

  bool root_read_ = false;
  std::string last_read_error_;
};

}  // namespace sluice::registry::zookeeper
