#include "proxy/load_balancer.h"

#include <algorithm>
#include <numeric>

#include "core/strings.h"
#include "proxy/h2_upstream.h"

namespace sluice::proxy {

namespace {

uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

uint64_t fnv1a(std::string_view s, uint64_t seed = 0xcbf29ce484222325ULL) {
  uint64_t h = seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

uint64_t hashKey(std::string_view key) { return mix64(fnv1a(key)); }

ClusterState::ClusterState(uint64_t seed) : rng_(seed) {}

void ClusterState::update(const Cluster& cluster) {
  name_ = cluster.name;
  lb_ = cluster.lb;
  pool_ = cluster.pool;
  outlier_ = cluster.outlier;
  retired = false;
  for (auto& [addr, state] : by_address_) state->present = false;
  current_.clear();
  current_.reserve(cluster.endpoints.size());
  for (const auto& ep : cluster.endpoints) {
    std::string addr = ep.address();
    auto& slot = by_address_[addr];
    if (!slot) {
      slot = std::make_unique<EndpointState>();
      slot->address = addr;
      slot->present = false;
    }
    if (slot->present) continue;  // the same address listed twice: keep the first
    slot->endpoint = ep;
    slot->present = true;
    if (!outlier_.enabled) slot->ejected = false;
    current_.push_back(slot.get());
  }
  // Endpoints gone from the snapshot: free now when idle, else on their last release().
  for (auto it = by_address_.begin(); it != by_address_.end();) {
    if (!it->second->present && it->second->active_requests == 0) {
      it = by_address_.erase(it);
    } else {
      ++it;
    }
  }
  equal_weights_ = std::all_of(current_.begin(), current_.end(), [&](const EndpointState* e) {
    return e->endpoint.weight == current_.front()->endpoint.weight;
  });
  wrr_current_.assign(current_.size(), 0);
  if (!current_.empty()) rr_cursor_ %= current_.size();
  ring_.clear();
  maglev_.clear();
  if (lb_.policy == LbPolicy::kRingHash) buildRing();
  if (lb_.policy == LbPolicy::kMaglev) buildMaglev();
}

void ClusterState::release(EndpointState& endpoint) {
  if (endpoint.active_requests > 0) --endpoint.active_requests;
  if (inflight_ > 0) --inflight_;
  if (!endpoint.present && endpoint.active_requests == 0) {
    // Retired endpoint: its pooled connections go with it.
    by_address_.erase(endpoint.address);
  }
}

void ClusterState::maybeUneject(EndpointState& e, Clock::time_point now) {
  if (e.ejected && now >= e.ejected_until) {
    e.ejected = false;
    e.consecutive_5xx = 0;
    e.consecutive_gateway = 0;
    e.last_decay = now;
  }
  // The ejection multiplier decays by one per healthy interval (Envoy's behaviour), so a host
  // that behaves again gets back to the base ejection time.
  if (!e.ejected && e.ejection_count > 0 && outlier_.interval.count() > 0 &&
      now - e.last_decay >= outlier_.interval) {
    auto steps = (now - e.last_decay) / outlier_.interval;
    e.ejection_count =
        steps >= e.ejection_count ? 0 : e.ejection_count - static_cast<uint32_t>(steps);
    e.last_decay = now;
  }
}

size_t ClusterState::ejectedCount(Clock::time_point now) const {
  size_t n = 0;
  for (const auto* e : current_) n += (e->ejected && now < e->ejected_until) ? 1 : 0;
  return n;
}

void ClusterState::recordResult(EndpointState& e, int status, bool local, Clock::time_point now) {
  ++e.requests_total;
  bool is_5xx = status >= 500;
  bool is_gateway = status == 502 || status == 503 || status == 504;
  if (is_5xx) ++e.failures_total;
  (void)local;  // local origin errors count like the status they map to (no split)
  if (!outlier_.enabled) return;
  maybeUneject(e, now);
  if (!is_5xx) {
    e.consecutive_5xx = 0;
    e.consecutive_gateway = 0;
    return;
  }
  ++e.consecutive_5xx;
  if (is_gateway)
    ++e.consecutive_gateway;
  else
    e.consecutive_gateway = 0;
  bool trip =
      (outlier_.consecutive_5xx > 0 && e.consecutive_5xx >= outlier_.consecutive_5xx) ||
      (outlier_.consecutive_gateway > 0 && e.consecutive_gateway >= outlier_.consecutive_gateway);
  if (!trip || e.ejected) return;
  // maxEjectionPercent caps the share of ejected hosts; Envoy still ejects at least one.
  size_t allowed = outlier_.max_ejection_percent == 0
                       ? 0
                       : std::max<size_t>(1, current_.size() * outlier_.max_ejection_percent / 100);
  if (ejectedCount(now) >= allowed) return;
  ++e.ejection_count;
  e.ejected = true;
  e.ejected_until = now + outlier_.base_ejection * e.ejection_count;
  e.consecutive_5xx = 0;
  e.consecutive_gateway = 0;
}

EndpointState* ClusterState::pick(const PickContext& context, Clock::time_point now) {
  if (current_.empty()) return nullptr;
  for (auto* e : current_) maybeUneject(*e, now);
  switch (lb_.policy) {
    case LbPolicy::kRingHash:
    case LbPolicy::kMaglev:
      // Without a hash key (header absent...) Envoy falls back to a random pick.
      if (context.hash) return pickHashed(*context.hash, now);
      return pickRandom(now, context.avoid);
    case LbPolicy::kRandom:
      return pickRandom(now, context.avoid);
    case LbPolicy::kLeastRequest:
      return pickLeastRequest(now, context.avoid);
    case LbPolicy::kRoundRobin:
    case LbPolicy::kPassthrough:
      return pickRoundRobin(now, context.avoid);
  }
  return nullptr;
}

// The host a retry wanted to avoid, when it is the only one left. `avoid` may be a retired (freed)
// endpoint, so it is only compared, never dereferenced, unless found in current_.
EndpointState* ClusterState::availableAvoided(const EndpointState* avoid, Clock::time_point now) {
  for (auto* e : current_) {
    if (e == avoid && e->available(now)) return e;
  }
  return nullptr;
}

EndpointState* ClusterState::pickRoundRobin(Clock::time_point now, const EndpointState* avoid) {
  size_t n = current_.size();
  if (equal_weights_) {
    EndpointState* fallback = nullptr;
    for (size_t i = 0; i < n; ++i) {
      EndpointState* e = current_[(rr_cursor_ + i) % n];
      if (!e->available(now)) continue;
      if (e == avoid && n > 1) {
        if (fallback == nullptr) fallback = e;
        continue;
      }
      rr_cursor_ = (rr_cursor_ + i + 1) % n;
      return e;
    }
    return fallback;
  }
  // Smooth weighted round robin (nginx's algorithm): deterministic, spreads picks evenly.
  int64_t total = 0;
  int best = -1;
  for (size_t i = 0; i < n; ++i) {
    EndpointState* e = current_[i];
    if (!e->available(now) || (e == avoid && n > 1)) continue;
    int64_t w = std::max<uint32_t>(1, e->endpoint.weight);
    wrr_current_[i] += w;
    total += w;
    if (best < 0 || wrr_current_[i] > wrr_current_[best]) best = static_cast<int>(i);
  }
  if (best < 0) {
    return availableAvoided(avoid, now);
  }
  wrr_current_[best] -= total;
  return current_[best];
}

EndpointState* ClusterState::pickRandom(Clock::time_point now, const EndpointState* avoid) {
  uint64_t total = 0;
  for (auto* e : current_) {
    if (e->available(now) && e != avoid) total += std::max<uint32_t>(1, e->endpoint.weight);
  }
  if (total == 0) {
    return availableAvoided(avoid, now);
  }
  uint64_t roll = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng_);
  for (auto* e : current_) {
    if (!e->available(now) || e == avoid) continue;
    uint64_t w = std::max<uint32_t>(1, e->endpoint.weight);
    if (roll < w) return e;
    roll -= w;
  }
  return nullptr;
}

EndpointState* ClusterState::pickLeastRequest(Clock::time_point now, const EndpointState* avoid) {
  // Power of two choices among available hosts.
  EndpointState* candidates[2] = {nullptr, nullptr};
  size_t available = 0;
  for (auto* e : current_) available += (e->available(now) && e != avoid) ? 1 : 0;
  if (available == 0) {
    return availableAvoided(avoid, now);
  }
  for (auto& c : candidates) {
    uint64_t k = std::uniform_int_distribution<uint64_t>(0, available - 1)(rng_);
    for (auto* e : current_) {
      if (!e->available(now) || e == avoid) continue;
      if (k == 0) {
        c = e;
        break;
      }
      --k;
    }
  }
  if (candidates[1] != nullptr && candidates[1]->active_requests < candidates[0]->active_requests) {
    return candidates[1];
  }
  return candidates[0];
}

void ClusterState::buildRing() {
  if (current_.empty()) return;
  uint64_t size = std::max<uint64_t>(lb_.ring_size, current_.size());
  size = std::min<uint64_t>(size, 8 * 1024 * 1024);
  uint64_t total_weight = 0;
  for (auto* e : current_) total_weight += std::max<uint32_t>(1, e->endpoint.weight);
  ring_.reserve(size + current_.size());
  for (uint32_t i = 0; i < current_.size(); ++i) {
    uint64_t w = std::max<uint32_t>(1, current_[i]->endpoint.weight);
    uint64_t replicas = std::max<uint64_t>(1, size * w / total_weight);
    std::string key = current_[i]->address + "_";
    size_t base = key.size();
    for (uint64_t r = 0; r < replicas; ++r) {
      key.resize(base);
      key += std::to_string(r);
      ring_.emplace_back(hashKey(key), i);
    }
  }
  std::sort(ring_.begin(), ring_.end());
}

void ClusterState::buildMaglev() {
  size_t n = current_.size();
  if (n == 0) return;
  uint64_t m = lb_.maglev_size;
  if (m < n) m = n;
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    offset[i] = fnv1a(current_[i]->address) % m;
    skip[i] = mix64(fnv1a(current_[i]->address, 0x9e3779b97f4a7c15ULL)) % (m - 1) + 1;
  }
  // Weighted Maglev: a host with a higher weight takes more turns per round.
  uint32_t max_weight = 1;
  for (auto* e : current_)
    max_weight = std::max(max_weight, std::max<uint32_t>(1, e->endpoint.weight));
  maglev_.assign(m, UINT32_MAX);
  uint64_t filled = 0;
  for (uint64_t round = 1; filled < m; ++round) {
    for (size_t i = 0; i < n && filled < m; ++i) {
      uint32_t w = std::max<uint32_t>(1, current_[i]->endpoint.weight);
      // Host i takes a turn in `round` when its weight share says so.
      if ((round * w) / max_weight == ((round - 1) * w) / max_weight) continue;
      for (;;) {
        uint64_t c = (offset[i] + next[i] * skip[i]) % m;
        ++next[i];
        if (maglev_[c] == UINT32_MAX) {
          maglev_[c] = static_cast<uint32_t>(i);
          ++filled;
          break;
        }
      }
    }
  }
}

EndpointState* ClusterState::pickHashed(uint64_t hash, Clock::time_point now) {
  size_t n = current_.size();
  uint32_t start = 0;
  if (lb_.policy == LbPolicy::kMaglev && !maglev_.empty()) {
    start = maglev_[hash % maglev_.size()];
  } else if (!ring_.empty()) {
    auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(hash, uint32_t{0}));
    if (it == ring_.end()) it = ring_.begin();
    // Walk the ring past unavailable hosts, like Envoy does.
    for (size_t step = 0; step < ring_.size(); ++step) {
      EndpointState* e = current_[it->second];
      if (e->available(now)) return e;
      if (++it == ring_.end()) it = ring_.begin();
    }
    return nullptr;
  }
  for (size_t i = 0; i < n; ++i) {
    EndpointState* e = current_[(start + i) % n];
    if (e->available(now)) return e;
  }
  return nullptr;
}

namespace {

std::optional<std::string_view> cookieValue(const http::Headers& h, std::string_view name) {
  for (const auto& [k, v] : h.entries()) {
    if (!equalsIgnoreCase(k, "cookie")) continue;
    for (auto part : split(v, ';')) {
      part = trim(part);
      auto eq = part.find('=');
      if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> requestHash(const LbSettings& lb, const http::RequestHead& head,
                                    std::string_view peer_ip) {
  switch (lb.hash_key.kind) {
    case ConsistentHashKey::Kind::kNone:
      return std::nullopt;
    case ConsistentHashKey::Kind::kHeader:
      if (auto v = head.headers.get(lb.hash_key.name)) return hashKey(*v);
      return std::nullopt;
    case ConsistentHashKey::Kind::kCookie:
      if (auto v = cookieValue(head.headers, lb.hash_key.name)) return hashKey(*v);
      return std::nullopt;
    case ConsistentHashKey::Kind::kSourceIp:
      return hashKey(peer_ip);
    case ConsistentHashKey::Kind::kQueryParameter: {
      std::string_view path = head.path;
      auto q = path.find('?');
      if (q == std::string_view::npos) return std::nullopt;
      for (auto pair : split(path.substr(q + 1), '&')) {
        auto eq = pair.find('=');
        if (pair.substr(0, eq) == lb.hash_key.name) {
          return hashKey(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

void ClusterState::closeIdleConnections() {
  for (auto& [address, endpoint] : by_address_) {
    endpoint->open_connections -= std::min<uint32_t>(endpoint->open_connections,
                                                     static_cast<uint32_t>(endpoint->idle.size()));
    endpoint->idle.clear();
    closeHttp2Connections(*endpoint);
  }
}

}  // namespace sluice::proxy
