#pragma once
// ZkSession: the watcher's view of one ZooKeeper session — the three reads a mirror of Curator's
// service-discovery tree needs, each leaving a one-shot watch, and the events the session and
// those watches produce. The production implementation wraps the official C client
// (c_client_session.h); unit tests put an in-memory tree behind the same interface.
//
// Threads: the reads block and are called from one thread (the watcher's own), never from the
// event sink. The sink is called on a thread of the session's (the C client's completion thread),
// must not block and must not call back into the session. No sink call starts after the
// session's destructor returns.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace sluice::registry::zookeeper {

enum class ZkStatus {
  kOk,
  kNoNode,
  kConnectionLoss,  // the session may live on: the client reconnects by itself (kConnected)
  kSessionExpired,  // the session is gone: open a new one
  kFailed,          // anything else (no auth, bad path): this read failed, the session is fine
};

const char* toString(ZkStatus status);

struct ChildrenReply {
  ZkStatus status = ZkStatus::kOk;
  std::vector<std::string> children;  // names, not paths; order as the server sent them
  std::string error;                  // for kFailed and the connection errors
};

struct DataReply {
  ZkStatus status = ZkStatus::kOk;
  std::string data;
  int64_t created_zxid = 0;  // Stat.czxid: orders registrations (a newer one wins a duplicate)
  std::string error;
};

struct ExistsReply {
  ZkStatus status = ZkStatus::kOk;  // kOk: the node exists; kNoNode: it does not (watch still set)
  std::string error;
};

struct ZkEvent {
  enum class Kind {
    kConnected,        // (re)connected, session valid; watches set before are still armed
    kDisconnected,     // connection lost, the client is trying the servers again
    kExpired,          // the session expired (or was closed by the server): it is dead
    kAuthFailed,       // unrecoverable, like kExpired
    kCreated,          // exists watch: path created
    kDeleted,          // data, exists or child watch: path deleted
    kDataChanged,      // data watch: path's data set
    kChildrenChanged,  // child watch: a child of path created or deleted
  };
  Kind kind;
  std::string path;  // node events only
};

using ZkEventSink = std::function<void(ZkEvent)>;

class ZkSession {
 public:
  virtual ~ZkSession() = default;
  // Each read sets the watch named: a child watch, a data watch, an exists watch (also when the
  // node does not exist, so its creation is reported).
  virtual ChildrenReply getChildren(const std::string& path) = 0;
  virtual DataReply getData(const std::string& path) = 0;
  virtual ExistsReply exists(const std::string& path) = 0;
  // The client's own view: connected to a server with a valid session right now. May be called
  // from the reading thread at any time.
  virtual bool connected() const = 0;
  // "0x1000b2c3d4e50000" or similar, for logs; empty before the first connect.
  virtual std::string sessionId() const = 0;
};

struct ZooKeeperSource;
// Opens a session to `source` (connecting in the background: kConnected arrives on the sink).
// An error means no session could be created at all (e.g. no server address resolves).
using ZkSessionFactory = std::function<Result<std::unique_ptr<ZkSession>>(
    const ZooKeeperSource& source, ZkEventSink sink)>;

}  // namespace sluice::registry::zookeeper
