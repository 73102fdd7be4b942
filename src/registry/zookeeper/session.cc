#include "registry/zookeeper/session.h"

namespace sluice::registry::zookeeper {

const char* toString(ZkStatus status) {
  switch (status) {
    case ZkStatus::kOk:
      return "ok";
    case ZkStatus::kNoNode:
      return "no node";
    case ZkStatus::kConnectionLoss:
      return "connection lost";
    case ZkStatus::kSessionExpired:
      return "session expired";
    case ZkStatus::kFailed:
      return "failed";
  }
  return "?";
}

}  // namespace sluice::registry::zookeeper
