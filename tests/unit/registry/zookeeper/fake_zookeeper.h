#pragma once
// An in-memory ZooKeeper behind the ZkSession interface, for testing the watcher without a
// server: a tree of nodes, one-shot data/child/exists watches per session fired as the real
// server fires them, and the session events of outages (disconnect, reconnect, expiry).
//
// Thread-safe: the test thread mutates the tree while the watcher's thread reads it. Events are
// delivered while the fake's lock is held, before the change is visible to reads, as ZooKeeper
// orders a watch event before the data that triggered it.
//
// Simplification: events of changes made while a session is disconnected are lost (the real
// client gets them on reconnect); the watcher must find such changes by re-reading.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "registry/zookeeper/session.h"
#include "registry/zookeeper/source.h"

namespace sluice::registry::zookeeper::testing {

class FakeZooKeeper {
 public:
  // Creates `path` and any missing parents (Curator's creatingParentsIfNeeded).
  void create(const std::string& path, const std::string& data = "") {
    std::lock_guard lock(mu_);
    std::string parent = parentOf(path);
    if (!parent.empty() && !nodes_.contains(parent)) createLocked(parent, "");
    createLocked(path, data);
  }
  void set(const std::string& path, const std::string& data) {
    std::lock_guard lock(mu_);
    nodes_.at(path).data = data;
    fire(path, /*data=*/true, /*child=*/false, /*exists=*/true, ZkEvent::Kind::kDataChanged);
  }
  // Removes `path` and everything below it.
  void remove(const std::string& path) {
    std::lock_guard lock(mu_);
    std::vector<std::string> doomed;
    for (const auto& [p, node] : nodes_) {
      if (p == path || p.starts_with(path + "/")) doomed.push_back(p);
    }
    for (auto it = doomed.rbegin(); it != doomed.rend(); ++it) {
      nodes_.erase(*it);
      fire(*it, true, true, true, ZkEvent::Kind::kDeleted);
      fire(parentOf(*it), false, true, false, ZkEvent::Kind::kChildrenChanged);
    }
  }

  // Every session loses its connection; reads fail with kConnectionLoss until reconnect().
  void disconnect() {
    std::lock_guard lock(mu_);
    up_ = false;
    for (auto& [id, s] : sessions_) {
      if (s.connected) s.sink(ZkEvent{ZkEvent::Kind::kDisconnected, {}});
      s.connected = false;
    }
  }
  void reconnect() {
    std::lock_guard lock(mu_);
    up_ = true;
    for (auto& [id, s] : sessions_) {
      if (s.expired || s.connected) continue;
      s.connected = true;
      s.sink(ZkEvent{ZkEvent::Kind::kConnected, {}});
    }
  }
  // Every session expires: its watches are gone and its reads fail with kSessionExpired.
  void expireSessions() {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sessions_) {
      if (s.expired) continue;
      s.expired = true;
      s.connected = false;
      s.data_watches.clear();
      s.child_watches.clear();
      s.exists_watches.clear();
      s.sink(ZkEvent{ZkEvent::Kind::kExpired, {}});
    }
  }
  int sessionsOpened() {
    std::lock_guard lock(mu_);
    return next_id_;
  }
  int liveSessions() {
    std::lock_guard lock(mu_);
    return static_cast<int>(sessions_.size());
  }
  int reads() {
    std::lock_guard lock(mu_);
    return reads_;
  }
  // The next `n` reads fail with kConnectionLoss while every session stays connected (no event).
  void failReads(int n) {
    std::lock_guard lock(mu_);
    failing_reads_ = n;
  }
  // The next `n` attempts to open a session fail outright.
  void failOpens(int n) {
    std::lock_guard lock(mu_);
    failing_opens_ = n;
  }

  ZkSessionFactory factory() {
    return [this](const ZooKeeperSource&, ZkEventSink sink) -> Result<std::unique_ptr<ZkSession>> {
      std::lock_guard lock(mu_);
      if (failing_opens_ > 0) {
        --failing_opens_;
        return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry, "fake: cannot open");
      }
      int id = ++next_id_;
      SessionState& s = sessions_[id];
      s.sink = std::move(sink);
      if (up_) {
        s.connected = true;
        s.sink(ZkEvent{ZkEvent::Kind::kConnected, {}});
      }
      return std::unique_ptr<ZkSession>(std::make_unique<Session>(this, id));
    };
  }

 private:
  struct Node {
    std::string data;
    int64_t czxid = 0;
  };
  struct SessionState {
    ZkEventSink sink;
    bool connected = false;
    bool expired = false;
    std::set<std::string> data_watches, child_watches, exists_watches;
  };

  class Session : public ZkSession {
   public:
    Session(FakeZooKeeper* zk, int id) : zk_(zk), id_(id) {}
    ~Session() override {
      std::lock_guard lock(zk_->mu_);
      zk_->sessions_.erase(id_);
    }
    ChildrenReply getChildren(const std::string& path) override {
      std::lock_guard lock(zk_->mu_);
      ChildrenReply reply;
      SessionState& s = zk_->sessions_.at(id_);
      if ((reply.status = zk_->usable(s)) != ZkStatus::kOk) return reply;
      if (!zk_->nodes_.contains(path)) {
        reply.status = ZkStatus::kNoNode;
        return reply;
      }
      s.child_watches.insert(path);
      std::string prefix = path == "/" ? "/" : path + "/";
      for (const auto& [p, node] : zk_->nodes_) {
        if (p.starts_with(prefix) && p.size() > prefix.size() &&
            p.find('/', prefix.size()) == std::string::npos) {
          reply.children.push_back(p.substr(prefix.size()));
        }
      }
      return reply;
    }
    DataReply getData(const std::string& path) override {
      std::lock_guard lock(zk_->mu_);
      DataReply reply;
      SessionState& s = zk_->sessions_.at(id_);
      if ((reply.status = zk_->usable(s)) != ZkStatus::kOk) return reply;
      auto it = zk_->nodes_.find(path);
      if (it == zk_->nodes_.end()) {
        reply.status = ZkStatus::kNoNode;
        return reply;
      }
      s.data_watches.insert(path);
      reply.data = it->second.data;
      reply.created_zxid = it->second.czxid;
      return reply;
    }
    ExistsReply exists(const std::string& path) override {
      std::lock_guard lock(zk_->mu_);
      ExistsReply reply;
      SessionState& s = zk_->sessions_.at(id_);
      if ((reply.status = zk_->usable(s)) != ZkStatus::kOk) return reply;
      s.exists_watches.insert(path);
      if (!zk_->nodes_.contains(path)) reply.status = ZkStatus::kNoNode;
      return reply;
    }
    bool connected() const override {
      std::lock_guard lock(zk_->mu_);
      return zk_->sessions_.at(id_).connected;
    }
    std::string sessionId() const override { return "0xfake" + std::to_string(id_); }

   private:
    FakeZooKeeper* zk_;
    int id_;
  };

  static std::string parentOf(const std::string& path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos || path == "/") return {};
    return slash == 0 ? "/" : path.substr(0, slash);
  }

  ZkStatus usable(SessionState& s) {
    ++reads_;
    if (failing_reads_ > 0) {
      --failing_reads_;
      return ZkStatus::kConnectionLoss;  // e.g. an operation timeout: the session stays connected
    }
    if (s.expired) return ZkStatus::kSessionExpired;
    if (!s.connected) return ZkStatus::kConnectionLoss;
    return ZkStatus::kOk;
  }

  void createLocked(const std::string& path, const std::string& data) {
    if (path.empty() || path == "/") return;
    std::string parent = parentOf(path);
    if (!parent.empty() && parent != "/" && !nodes_.contains(parent)) createLocked(parent, "");
    nodes_[path] = Node{data, ++zxid_};
    fire(path, false, false, true, ZkEvent::Kind::kCreated);
    fire(parent, false, true, false, ZkEvent::Kind::kChildrenChanged);
  }

  void fire(const std::string& path, bool data, bool child, bool exists, ZkEvent::Kind kind) {
    for (auto& [id, s] : sessions_) {
      if (!s.connected) {
        // Lost while disconnected (see the header); the watch stays armed.
        continue;
      }
      bool hit = (data && s.data_watches.erase(path) > 0) |
                 (child && s.child_watches.erase(path) > 0) |
                 (exists && s.exists_watches.erase(path) > 0);
      if (hit) s.sink(ZkEvent{kind, path});
    }
  }

  std::mutex mu_;
  std::map<std::string, Node> nodes_{{"/", Node{}}};
  std::map<int, SessionState> sessions_;
  int next_id_ = 0;
  int reads_ = 0;
  int failing_opens_ = 0;
  int failing_reads_ = 0;
  bool up_ = true;
  int64_t zxid_ = 0;
};

}  // namespace sluice::registry::zookeeper::testing
