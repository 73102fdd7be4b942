#include "registry/zookeeper/tree_mirror.h"

#include <algorithm>
#include <string_view>

#include "core/log.h"
#include "registry/zookeeper/service_instance.h"

namespace sluice::registry::zookeeper {

namespace {

bool isConnectionError(ZkStatus status) {
  return status == ZkStatus::kConnectionLoss || status == ZkStatus::kSessionExpired;
}

}  // namespace

TreeMirror::TreeMirror(std::string root, std::string source_name)
    : root_(std::move(root)), source_name_(std::move(source_name)) {}

std::string TreeMirror::servicePath(const std::string& name) const {
  return root_ == "/" ? "/" + name : root_ + "/" + name;
}

std::string TreeMirror::instancePath(const std::string& name, const std::string& id) const {
  return servicePath(name) + "/" + id;
}

void TreeMirror::resyncAll() {
  root_pending_ = true;
  root_deep_ = true;
}

void TreeMirror::setInterest(Interest interest) {
  interest_ = std::move(interest);
  auto unwanted = [&](const std::string& name) { return !interest_.wants(name); };
  std::erase_if(services_, [&](const auto& entry) { return unwanted(entry.first); });
  std::erase_if(service_pending_, [&](const auto& entry) { return unwanted(entry.first); });
  std::erase_if(instance_pending_, [&](const auto& item) { return unwanted(item.first); });
  for (const std::string& name : root_children_) {
    if (unwanted(name)) continue;
    if (services_.try_emplace(name).second) service_pending_[name] = true;
  }
}

bool TreeMirror::hasWork() const {
  return root_pending_ || !service_pending_.empty() || !instance_pending_.empty();
}

void TreeMirror::onNodeEvent(const ZkEvent& event) {
  const std::string& path = event.path;
  if (path == root_) {
    if (event.kind != ZkEvent::Kind::kDataChanged) root_pending_ = true;
    return;
  }
  std::string_view rel = path;
  std::string_view prefix = root_ == "/" ? std::string_view("/") : std::string_view(root_);
  if (!rel.starts_with(prefix)) return;
  rel.remove_prefix(prefix.size());
  if (root_ != "/") {
    if (!rel.starts_with('/')) return;  // "/services2" is not below "/services"
    rel.remove_prefix(1);
  }
  size_t slash = rel.find('/');
  if (slash == std::string_view::npos) {
    // A service node: its children changed, or it went away (the read sees which).
    if (event.kind == ZkEvent::Kind::kDataChanged || rel.empty()) return;
    service_pending_.try_emplace(std::string(rel), false);
    return;
  }
  std::string_view name = rel.substr(0, slash);
  std::string_view id = rel.substr(slash + 1);
  if (name.empty() || id.empty() || id.find('/') != std::string_view::npos) return;
  if (event.kind == ZkEvent::Kind::kChildrenChanged) return;  // below an instance: not ours
  instance_pending_.emplace(std::string(name), std::string(id));
}

ZkStatus TreeMirror::sync(ZkSession& session, const std::function<bool()>& should_stop) {
  while (hasWork()) {
    if (should_stop && should_stop()) return ZkStatus::kOk;
    ZkStatus status = ZkStatus::kOk;
    if (root_pending_) {
      status = readRoot(session);
    } else if (!service_pending_.empty()) {
      auto [name, deep] = *service_pending_.begin();
      service_pending_.erase(service_pending_.begin());
      status = readService(session, name, deep);
      if (isConnectionError(status)) {
        auto [it, inserted] = service_pending_.try_emplace(name, deep);
        if (!inserted) it->second = it->second || deep;
      }
    } else {
      auto item = *instance_pending_.begin();
      instance_pending_.erase(instance_pending_.begin());
      status = readInstance(session, item.first, item.second);
      if (isConnectionError(status)) instance_pending_.insert(item);
    }
    if (isConnectionError(status)) return status;
  }
  return ZkStatus::kOk;
}

void TreeMirror::readFailed(const std::string& path, const std::string& error) {
  last_read_error_ = fmt::format("reading {}: {}", path, error);
  SLUICE_LOG_WARN("{}: cannot read {} ({}); leaving it as it was", source_name_, path, error);
}

ZkStatus TreeMirror::readRoot(ZkSession& session) {
  ChildrenReply reply = session.getChildren(root_);
  if (isConnectionError(reply.status)) return reply.status;
  if (reply.status == ZkStatus::kNoNode) {
    if (!services_.empty()) {
      SLUICE_LOG_WARN("{}: {} was deleted; its {} service(s) are gone", source_name_, root_,
                      services_.size());
    }
    services_.clear();
    root_children_.clear();
    service_pending_.clear();
    instance_pending_.clear();
    // Arms a watch for the root's creation; if it appeared meanwhile, list it again.
    ExistsReply exists = session.exists(root_);
    if (isConnectionError(exists.status)) return exists.status;
    root_pending_ = exists.status == ZkStatus::kOk;
    root_deep_ = root_pending_;
    root_read_ = true;
    return ZkStatus::kOk;
  }
  root_pending_ = false;
  bool deep = std::exchange(root_deep_, false);
  root_read_ = true;
  if (reply.status != ZkStatus::kOk) {
    readFailed(root_, reply.error);
    return ZkStatus::kOk;
  }
  last_read_error_.clear();
  root_children_ = std::set<std::string>(reply.children.begin(), reply.children.end());
  std::set<std::string> names;
  for (const auto& n : root_children_) {
    if (interest_.wants(n)) names.insert(n);
  }
  std::erase_if(services_, [&](const auto& entry) { return !names.contains(entry.first); });
  std::erase_if(service_pending_, [&](const auto& entry) { return !names.contains(entry.first); });
  std::erase_if(instance_pending_, [&](const auto& item) { return !names.contains(item.first); });
  for (const std::string& name : names) {
    auto [it, added] = services_.try_emplace(name);
    if (added || deep) service_pending_[name] = true;
  }
  return ZkStatus::kOk;
}

ZkStatus TreeMirror::readService(ZkSession& session, const std::string& name, bool deep) {
  auto service = services_.find(name);
  if (service == services_.end()) return ZkStatus::kOk;  // the root's listing dropped it
  ChildrenReply reply = session.getChildren(servicePath(name));
  if (isConnectionError(reply.status)) return reply.status;
  if (reply.status == ZkStatus::kNoNode) {
    services_.erase(service);
    std::erase_if(instance_pending_, [&](const auto& item) { return item.first == name; });
    return ZkStatus::kOk;
  }
  if (reply.status != ZkStatus::kOk) {
    readFailed(servicePath(name), reply.error);
    return ZkStatus::kOk;
  }
  std::set<std::string> ids(reply.children.begin(), reply.children.end());
  ServiceNode& instances = service->second;
  std::erase_if(instances, [&](const auto& entry) { return !ids.contains(entry.first); });
  std::erase_if(instance_pending_,
                [&](const auto& item) { return item.first == name && !ids.contains(item.second); });
  for (const std::string& id : ids) {
    auto [it, added] = instances.try_emplace(id);
    if (added || deep) instance_pending_.emplace(name, id);
  }
  return ZkStatus::kOk;
}

ZkStatus TreeMirror::readInstance(ZkSession& session, const std::string& name,
                                  const std::string& id) {
  auto service = services_.find(name);
  if (service == services_.end()) return ZkStatus::kOk;
  auto node = service->second.find(id);
  if (node == service->second.end()) return ZkStatus::kOk;  // its service's listing dropped it
  std::string path = instancePath(name, id);
  DataReply reply = session.getData(path);
  if (isConnectionError(reply.status)) return reply.status;
  if (reply.status == ZkStatus::kNoNode) {
    service->second.erase(node);
    return ZkStatus::kOk;
  }
  if (reply.status != ZkStatus::kOk) {
    readFailed(path, reply.error);
    return ZkStatus::kOk;
  }
  InstanceNode& entry = node->second;
  entry.created_zxid = reply.created_zxid;
  if (entry.loaded && entry.data == reply.data) return ZkStatus::kOk;
  entry.loaded = true;
  entry.data = std::move(reply.data);
  auto parsed = parseServiceInstance(entry.data);
  if (parsed) {
    entry.instance = std::move(*parsed);
  } else {
    entry.instance.reset();
    SLUICE_LOG_WARN(
        "{}: skipping instance znode {}: {}; the service's other instances keep "
        "routing",
        source_name_, path, parsed.error().message);
  }
  return ZkStatus::kOk;
}

std::vector<Service> TreeMirror::services() const {
  std::vector<Service> out;
  out.reserve(services_.size());
  for (const auto& [name, instances] : services_) {
    Service service;
    service.name = name;
    // (address, port) -> the newest registration of it.
    std::map<std::pair<std::string, uint16_t>, const InstanceNode*> by_address;
    for (const auto& [id, node] : instances) {
      if (!node.instance) continue;
      auto key = std::make_pair(node.instance->ip, node.instance->port);
      auto [it, added] = by_address.try_emplace(key, &node);
      if (!added && node.created_zxid > it->second->created_zxid) it->second = &node;
    }
    service.instances.reserve(by_address.size());
    for (const auto& [key, node] : by_address) service.instances.push_back(*node->instance);
    out.push_back(std::move(service));
  }
  return out;
}

}  // namespace sluice::registry::zookeeper
