#include "control/registry_damper.h"

#include <set>

#include "net/address.h"

namespace sluice::control {
namespace {

std::string serviceKey(const registry::Service& s) {
  return s.namespace_id + "/" + s.group + "/" + s.name;
}

std::map<std::string, std::string> addresses(const std::vector<registry::Service>& services) {
  std::map<std::string, std::string> out;
  for (const auto& s : services) {
    for (const auto& i : s.instances) out.emplace(net::HostPort{i.ip, i.port}.toString(), s.name);
  }
  return out;
}

}  // namespace

void RegistryDamper::update(const std::vector<registry::Service>& raw, Clock::time_point now) {
  std::map<std::string, const registry::Service*> fresh;
  for (const auto& s : raw) {
    if (!s.instances.empty()) fresh.emplace(serviceKey(s), &s);
  }
  // Services that had instances and now have none start their protection.
  for (const auto& s : effective_) {
    auto key = serviceKey(s);
    if (s.instances.empty() || fresh.contains(key) || protected_.contains(key)) continue;
    protected_.emplace(key, Protected{s, now + options_.empty_protection});
  }
  for (const auto& [key, service] : fresh) protected_.erase(key);
  raw_ = raw;
  recompute(now);
}

bool RegistryDamper::refresh(Clock::time_point now) {
  auto before = effective_;
  recompute(now);
  return before != effective_;
}

void RegistryDamper::recompute(Clock::time_point now) {
  std::erase_if(protected_, [&](const auto& entry) { return entry.second.until <= now; });
  std::erase_if(retired_, [&](const auto& entry) { return entry.second.until <= now; });
  auto previous = addresses(effective_);

  std::vector<registry::Service> next;
  std::set<std::string> seen;
  for (const auto& s : raw_) {
    auto key = serviceKey(s);
    auto p = protected_.find(key);
    next.push_back(p != protected_.end() && s.instances.empty() ? p->second.service : s);
    seen.insert(key);
  }
  for (const auto& [key, p] : protected_) {
    if (!seen.contains(key)) next.push_back(p.service);
  }
  effective_ = std::move(next);

  auto current = addresses(effective_);
  for (const auto& [address, service] : previous) {
    if (current.contains(address)) continue;
    auto hp = net::parseHostPort(address);
    if (!hp) continue;
    retired_[address] = Retired{{service, hp->host, hp->port}, now + options_.retired_grace};
  }
  for (const auto& [address, service] : current) retired_.erase(address);
}

std::vector<RetiredInstance> RegistryDamper::retired() const {
  std::vector<RetiredInstance> out;
  out.reserve(retired_.size());
  for (const auto& [address, r] : retired_) out.push_back(r.instance);
  return out;
}

std::optional<RegistryDamper::Clock::time_point> RegistryDamper::nextExpiry() const {
  std::optional<Clock::time_point> next;
  for (const auto& [k, p] : protected_) {
    if (!next || p.until < *next) next = p.until;
  }
  for (const auto& [k, r] : retired_) {
    if (!next || r.until < *next) next = r.until;
  }
  return next;
}

void RegistryDamper::keepOnly(const registry::Interest& interest) {
  if (interest.all) return;
  auto unwanted = [&](const registry::Service& s) { return !interest.wants(s.name); };
  std::erase_if(raw_, unwanted);
  std::erase_if(effective_, unwanted);
  std::erase_if(protected_, [&](const auto& entry) { return unwanted(entry.second.service); });
  std::erase_if(retired_,
                [&](const auto& entry) { return !interest.wants(entry.second.instance.service); });
}

std::vector<std::string> RegistryDamper::protectedServices() const {
  std::vector<std::string> out;
  for (const auto& [key, p] : protected_) out.push_back(key);
  return out;
}

}  // namespace sluice::control
