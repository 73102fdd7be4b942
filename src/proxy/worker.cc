#include "proxy/worker.h"

#include <sys/socket.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include "core/log.h"
#include "proxy/connection_manager.h"
#include "proxy/transparent.h"

namespace sluice::proxy {

Worker::Worker(int id, const ProxyOptions& options, GatewayPorts& gateway_ports)
    : id_(id),
      options_(options),
      gateway_ports_(gateway_ports),
      rng_(std::random_device{}() ^ (uint64_t(id) << 32)),
      io_(1),
      upstream_pool_(io_, stats_),
      access_log_(io_),
      refresher_(
          io_, RegistryRefresher::Options{options.registry_refresh, options.registry_refresh_wait}),
      on_demand_(io_, OnDemandLoader::Options{options.service_load, options.service_load_wait}) {}

Worker::~Worker() {
  stop();
  join();
  acceptors_.clear();
  // io_ is destroyed before states_ (see worker.h), so pooled sockets must go now, while the
  // io_context they belong to still exists (ASan: heap-use-after-free otherwise).
  for (auto& [name, state] : states_) state->closeIdleConnections();
  for (auto& [name, state] : passthrough_) state->closeIdleConnections();
}

void Worker::setSnapshot(std::shared_ptr<const MeshSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  cluster_index_.assign(snapshot_->clusters.size(), nullptr);
  // Only the clusters this worker has used have a state; each one still in the snapshot is
  // rebound to it (ejections and counters carry over), the others are retired.
  for (auto& [name, state] : states_) {
    auto it = snapshot_->cluster_by_name.find(name);
    state->retired = it == snapshot_->cluster_by_name.end();
    if (state->retired) continue;
    state->update(snapshot_->clusters[it->second]);
    cluster_index_[it->second] = state.get();
  }
  // States of clusters gone from the snapshot live on while a request still holds them.
  for (auto it = states_.begin(); it != states_.end();) {
    if (it->second->retired && it->second->pins == 0 && it->second->inflight() == 0) {
      it = states_.erase(it);
    } else {
      ++it;
    }
  }
  if (options_.mode == ProxyOptions::Mode::kGateway && !draining_) reconcileGatewayListeners();
}

ClusterState& Worker::makeClusterState(int index) {
  const Cluster& c = snapshot_->clusters[index];
  auto& slot = states_[c.name];
  // A retired state of the same name (an older snapshot's, still pinned) is rebound.
  if (!slot) slot = std::make_unique<ClusterState>(rng_());
  slot->retired = false;
  slot->update(c);
  cluster_index_[index] = slot.get();
  return *slot;
}

ClusterState& Worker::passthroughState(const asio::ip::tcp::endpoint& destination) {
  constexpr size_t kMaxPassthroughStates = 256;
  Endpoint ep;
  ep.ip = destination.address().to_string();
  ep.port = destination.port();
  std::string address = ep.address();
  auto it = passthrough_.find(address);
  if (it != passthrough_.end()) return *it->second;
  if (passthrough_.size() >= kMaxPassthroughStates) {
    for (auto p = passthrough_.begin(); p != passthrough_.end();) {
      if (p->second->pins == 0 && p->second->inflight() == 0) {
        p->second->closeIdleConnections();
        p = passthrough_.erase(p);
      } else {
        ++p;
      }
    }
  }
  Cluster c;
  c.name = "PassthroughCluster|" + address;
  c.host = address;
  c.endpoints.push_back(std::move(ep));
  auto state = std::make_unique<ClusterState>(rng_());
  state->update(c);
  return *passthrough_.emplace(address, std::move(state)).first->second;
}

ClusterState* Worker::clusterStateByName(const std::string& name) {
  auto it = states_.find(name);
  return it == states_.end() ? nullptr : it->second.get();
}

Worker::ConnectionHandle Worker::addConnection(std::function<void(bool)> close) {
  connections_.push_front(std::move(close));
  connection_count.store(static_cast<uint32_t>(connections_.size()), std::memory_order_relaxed);
  return connections_.begin();
}

void Worker::removeConnection(ConnectionHandle h) {
  connections_.erase(h);
  connection_count.store(static_cast<uint32_t>(connections_.size()), std::memory_order_relaxed);
}

std::vector<ClusterDump> Worker::dumpClusters() const {
  std::vector<ClusterDump> out;
  if (!snapshot_) return out;
  auto now = Clock::now();
  out.reserve(snapshot_->clusters.size());
  for (size_t i = 0; i < snapshot_->clusters.size(); ++i) {
    const ClusterState* state = cluster_index_[i];
    ClusterDump c;
    c.name = snapshot_->clusters[i].name;
    if (state == nullptr) {
      // Not used by this worker yet: the snapshot's endpoints, nothing counted.
      for (const auto& e : snapshot_->clusters[i].endpoints) {
        ClusterDump::EndpointDump d;
        d.address = e.address();
        d.labels = e.labels;
        d.healthy = e.healthy;
        c.endpoints.push_back(std::move(d));
      }
      out.push_back(std::move(c));
      continue;
    }
    c.pending_requests = state->pending_requests;
    c.overflows = state->overflows;
    for (const auto* e : state->endpoints()) {
      ClusterDump::EndpointDump d;
      d.address = e->address;
      d.labels = e->endpoint.labels;
      d.healthy = e->endpoint.healthy;
      d.ejected = e->ejected && now < e->ejected_until;
      d.active_requests = e->active_requests;
      d.connections = e->open_connections;
      d.requests = e->requests_total;
      d.failures = e->failures_total;
      c.endpoints.push_back(std::move(d));
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<net::HostPort> Worker::listen(const net::HostPort& address, ListenerContext context) {
  asio::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (ec) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kConfig,
                     fmt::format("listen address '{}' is not an IP address", address.host));
  }
  auto acc = std::make_unique<Acceptor>(Acceptor{asio::ip::tcp::acceptor(io_), context, address});
  asio::ip::tcp::endpoint ep(ip, address.port);
  acc->acceptor.open(ep.protocol(), ec);
  if (!ec) acc->acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(acc->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) !=
        0) {
      ec = asio::error_code(errno, asio::system_category());
    }
  }
  if (!ec) acc->acceptor.bind(ep, ec);
  if (!ec) acc->acceptor.listen(1024, ec);
  if (ec) {
    return makeError(ErrorCode::kIo, ErrorSource::kConfig,
                     fmt::format("cannot listen on {}: {}", address.toString(), ec.message()));
  }
  auto local = acc->acceptor.local_endpoint(ec);
  acc->address.port = local.port();
  acc->context.local_port = local.port();
  net::HostPort bound = acc->address;
  Acceptor* raw = acc.get();
  acceptors_.push_back(std::move(acc));
  listening_count.store(static_cast<uint32_t>(acceptors_.size()), std::memory_order_relaxed);
  accept(raw);
  return bound;
}

void Worker::accept(Acceptor* a) {
  a->acceptor.async_accept([this, a](asio::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !a->acceptor.is_open()) return;
    if (!ec) {
      // Refused connections are accepted and closed at once, before any byte is read or any
      // buffer allocated.
      asio::error_code ignored;
      if (overloaded_) {
        ++stats_.overload_refused_connections_total;
        socket.close(ignored);
      } else if (budget_ == nullptr || budget_->tryAcquire()) {
        serve(a, std::move(socket));
      } else if (idle_.closeOldest(1) == 1) {
        ++stats_.idle_closed_max_connections_total;
        budget_->acquireOver();
        serve(a, std::move(socket));
      } else {
        ++stats_.downstream_connections_overflow_total;
        socket.close(ignored);
      }
    } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
      SLUICE_LOG_WARN("accept on {}: {}", a->address.toString(), ec.message());
    }
    accept(a);
  });
}

void Worker::serve(Acceptor* a, asio::ip::tcp::socket socket) {
  asio::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  ++stats_.downstream_connections_total;
  // The slot is given back when the connection's coroutine ends.
  auto done = [budget = budget_](std::exception_ptr) {
    if (budget != nullptr) budget->release();
  };
  if (a->context.transparent) {
    asio::co_spawn(io_, serveTransparent(*this, std::move(socket), a->context), done);
  } else {
    std::string received;
    std::string peer_ip;
    asio::co_spawn(io_,
                   serveConnection(*this, std::move(socket), a->context, std::move(received),
                                   std::move(peer_ip)),
                   done);
  }
}

void Worker::setOverloaded(bool on) {
  overloaded_ = on;
  if (!on) return;
  // A batch per check, oldest first: the monitor measures again before the next one, so no more
  // connections are closed than it takes to get under the cap (give or take one batch).
  constexpr size_t kMinBatch = 16;
  size_t batch = std::max(kMinBatch, idle_.size() / 4);
  stats_.idle_closed_overload_total += idle_.closeOldest(batch);
}

void Worker::reconcileGatewayListeners() {
  struct Wanted {
    uint32_t server_port;
    uint16_t port;  // 0: ephemeral, not opened by any worker yet
  };
  std::vector<Wanted> want;
  for (const auto& gl : snapshot_->gateway_listeners) {
    auto port = gateway_ports_.port(gl.port);
    if (!port) {
      SLUICE_LOG_WARN("gateway port {} + offset {} is out of range; not served", gl.port,
                      options_.port_offset);
      continue;
    }
    want.push_back({gl.port, *port});
  }
  // Close listeners no longer wanted.
  for (auto it = acceptors_.begin(); it != acceptors_.end();) {
    bool keep = false;
    for (const auto& w : want) {
      keep =
          keep || ((*it)->address.port == w.port && (*it)->context.gateway_port == w.server_port);
    }
    if (!keep) {
      asio::error_code ignored;
      (*it)->acceptor.close(ignored);
      // The pending accept handler still references the acceptor: free it after it ran.
      asio::post(io_, [a = std::shared_ptr<Acceptor>(std::move(*it))] {});
      it = acceptors_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& w : want) {
    bool have = false;
    for (const auto& a : acceptors_) have = have || (w.port != 0 && a->address.port == w.port);
    if (have) continue;
    ListenerContext ctx;
    ctx.gateway = true;
    ctx.gateway_port = w.server_port;
    auto r = gateway_ports_.open(w.server_port, [&](uint16_t port) -> Result<uint16_t> {
      auto bound = listen(net::HostPort{options_.listen_host, port}, ctx);
      if (!bound) return tl::unexpected(bound.error());
      return bound->port;
    });
    if (!r) SLUICE_LOG_ERROR("gateway listener: {}", r.error().message);
  }
  listening_count.store(static_cast<uint32_t>(acceptors_.size()), std::memory_order_relaxed);
}

std::vector<net::HostPort> Worker::listening() const {
  std::vector<net::HostPort> out;
  for (const auto& a : acceptors_) out.push_back(a->address);
  return out;
}

void Worker::stopAccepting() {
  draining_ = true;
  for (auto& a : acceptors_) {
    asio::error_code ignored;
    a->acceptor.close(ignored);
  }
  // Idle keep-alive connections close now; busy ones close after their current response.
  for (auto& close : connections_) close(false);
}

void Worker::closeAllConnections() {
  auto copy = connections_;
  for (auto& close : copy) close(true);
}

void Worker::run() {
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

void Worker::stop() { io_.stop(); }

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::proxy
