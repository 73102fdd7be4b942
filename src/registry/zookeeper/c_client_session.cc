#include "registry/zookeeper/c_client_session.h"

// libzookeeper_mt is the threaded build; its header declares the synchronous calls only then.
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/log.h"

namespace sluice::registry::zookeeper {

namespace {

// Big enough for every Curator instance record; larger data is read again at its real size.
constexpr int kInitialDataBuffer = 16 * 1024;

void logFromClient(const char* message) { SLUICE_LOG_DEBUG("zookeeper client: {}", message); }

class CClientSession final : public ZkSession {
 public:
  explicit CClientSession(ZkEventSink sink) : sink_(std::move(sink)) {}

  ~CClientSession() override {
    // Joins the client's threads: no watcher call runs after this.
    if (zh_ != nullptr) zookeeper_close(zh_);
  }

  Status open(const ZooKeeperSource& source) {
    // The global level only gates what reaches logFromClient.
    static std::once_flag level_once;
    std::call_once(level_once, [] { zoo_set_debug_level(ZOO_LOG_LEVEL_WARN); });
    std::string hosts = source.connectString();
    zh_ = zookeeper_init2(hosts.c_str(), &CClientSession::onWatch, source.session_timeout_ms,
                          nullptr, this, 0, &logFromClient);
    if (zh_ == nullptr) {
      int err = errno;
      return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                       fmt::format("{}: cannot create a ZooKeeper session for '{}': {}", source.url,
                                   hosts, std::strerror(err)),
                       /*retryable=*/true);
    }
    return ok();
  }

  ChildrenReply getChildren(const std::string& path) override {
    ChildrenReply reply;
    String_vector children{0, nullptr};
    int rc = zoo_get_children(zh_, path.c_str(), /*watch=*/1, &children);
    reply.status = classify(rc, reply.error);
    if (rc == ZOK) {
      reply.children.reserve(static_cast<size_t>(children.count));
      for (int i = 0; i < children.count; ++i) reply.children.emplace_back(children.data[i]);
      deallocate_String_vector(&children);
    }
    return reply;
  }

  DataReply getData(const std::string& path) override {
    DataReply reply;
    std::string buffer(kInitialDataBuffer, '\0');
    for (int attempt = 0; attempt < 2; ++attempt) {
      int len = static_cast<int>(buffer.size());
      struct Stat stat {};
      int rc = zoo_get(zh_, path.c_str(), /*watch=*/1, buffer.data(), &len, &stat);
      reply.status = classify(rc, reply.error);
      if (rc != ZOK) return reply;
      if (stat.dataLength > static_cast<int>(buffer.size()) && attempt == 0) {
        buffer.assign(static_cast<size_t>(stat.dataLength), '\0');
        continue;  // truncated: read again at the size the server reported
      }
      buffer.resize(len < 0 ? 0 : static_cast<size_t>(len));  // -1: the node has null data
      reply.data = std::move(buffer);
      reply.created_zxid = stat.czxid;
      return reply;
    }
    return reply;
  }

  ExistsReply exists(const std::string& path) override {
    ExistsReply reply;
    struct Stat stat {};
    int rc = zoo_exists(zh_, path.c_str(), /*watch=*/1, &stat);
    reply.status = classify(rc, reply.error);
    return reply;
  }

  bool connected() const override { return zoo_state(zh_) == ZOO_CONNECTED_STATE; }

  std::string sessionId() const override {
    const clientid_t* id = zoo_client_id(zh_);
    if (id == nullptr || id->client_id == 0) return {};
    return fmt::format("0x{:x}", id->client_id);
  }

 private:
  ZkStatus classify(int rc, std::string& error) const {
    if (rc == ZOK) return ZkStatus::kOk;
    if (rc == ZNONODE) return ZkStatus::kNoNode;
    error = zerror(rc);
    switch (rc) {
      case ZCONNECTIONLOSS:
      case ZOPERATIONTIMEOUT:
      case ZSESSIONMOVED:
        return ZkStatus::kConnectionLoss;
      case ZSESSIONEXPIRED:
      case ZAUTHFAILED:
      case ZCLOSING:
        return ZkStatus::kSessionExpired;
      case ZINVALIDSTATE:
        // Expired or auth-failed handles refuse every call; any other state is a transient.
        return is_unrecoverable(zh_) ? ZkStatus::kSessionExpired : ZkStatus::kConnectionLoss;
      default:
        return ZkStatus::kFailed;
    }
  }

  // On the client's completion thread.
  static void onWatch(zhandle_t* /*zh*/, int type, int state, const char* path, void* ctx) {
    auto* self = static_cast<CClientSession*>(ctx);
    std::string node = path != nullptr ? path : "";
    if (type == ZOO_SESSION_EVENT) {
      if (state == ZOO_CONNECTED_STATE) {
        self->sink_(ZkEvent{ZkEvent::Kind::kConnected, {}});
      } else if (state == ZOO_EXPIRED_SESSION_STATE) {
        self->sink_(ZkEvent{ZkEvent::Kind::kExpired, {}});
      } else if (state == ZOO_AUTH_FAILED_STATE) {
        self->sink_(ZkEvent{ZkEvent::Kind::kAuthFailed, {}});
      } else if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
        self->sink_(ZkEvent{ZkEvent::Kind::kDisconnected, {}});
      }
      return;
    }
    if (type == ZOO_CREATED_EVENT) {
      self->sink_(ZkEvent{ZkEvent::Kind::kCreated, std::move(node)});
    } else if (type == ZOO_DELETED_EVENT) {
      self->sink_(ZkEvent{ZkEvent::Kind::kDeleted, std::move(node)});
    } else if (type == ZOO_CHANGED_EVENT) {
      self->sink_(ZkEvent{ZkEvent::Kind::kDataChanged, std::move(node)});
    } else if (type == ZOO_CHILD_EVENT) {
      self->sink_(ZkEvent{ZkEvent::Kind::kChildrenChanged, std::move(node)});
    }
    // ZOO_NOTWATCHING_EVENT (a removed watch) needs nothing: we never remove watches.
  }

  ZkEventSink sink_;
  zhandle_t* zh_ = nullptr;
};

}  // namespace

Result<std::unique_ptr<ZkSession>> openCClientSession(const ZooKeeperSource& source,
                                                      ZkEventSink sink) {
  auto session = std::make_unique<CClientSession>(std::move(sink));
  SLUICE_RETURN_IF_ERROR(session->open(source));
  return std::unique_ptr<ZkSession>(std::move(session));
}

}  // namespace sluice::registry::zookeeper
