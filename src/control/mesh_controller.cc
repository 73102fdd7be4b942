#include "control/mesh_controller.h"

#include <asio/post.hpp>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "control/snapshot/sidecar_scope.h"
#include "core/log.h"
#include "core/strings.h"
#include "net/address.h"

namespace sluice::control {

namespace {

bool sameStatus(const registry::SourceStatus& a, const registry::SourceStatus& b) {
  return a.source == b.source && a.reachable == b.reachable && a.last_error == b.last_error;
}

std::string statusLine(const registry::SourceStatus& s) {
  if (s.reachable) return fmt::format("{}: reachable", s.source);
  return fmt::format("{}: unreachable{}{}", s.source, s.last_error.empty() ? "" : ": ",
                     s.last_error);
}

}  // namespace

MeshController::MeshController(asio::io_context& io, ControllerOptions options, ControllerDeps deps)
    : io_(io),
      options_(std::move(options)),
      deps_(std::move(deps)),
      alive_(std::make_shared<bool>(true)),
      status_timer_(io),
      sync_timer_(io),
      damper_timer_(io) {}

MeshController::~MeshController() {
  stop();
  alive_.reset();
}

std::vector<std::string> MeshController::configPaths() const {
  if (options_.config_dir.empty()) return {};
  return {options_.config_dir};
}

Result<std::shared_ptr<const proxy::MeshSnapshot>> MeshController::initialize() {
  if (!options_.config_dir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(options_.config_dir, ec)) {
      return makeError(ErrorCode::kNotFound, ErrorSource::kConfig,
                       fmt::format("--config {}: not a directory", options_.config_dir));
    }
  }
  sources_.clear();
  for (const auto& url : options_.registry_urls) {
    auto watcher = deps_.make_watcher(url);
    if (!watcher) return tl::unexpected(watcher.error());
    Source source;
    source.url = url;
    source.watcher = std::move(*watcher);
    source.last_status.source = url;
    sources_.push_back(std::move(source));
  }
  if (!options_.config_dir.empty()) {
    acceptConfig(deps_.load_config(configPaths()));
    SLUICE_LOG_INFO("config: loaded {} resource(s) from {} file(s) in {}{}",
                    store_.accepted().resourceCount(), store_.accepted().files_read,
                    options_.config_dir,
                    config_errors_.empty()
                        ? ""
                        : fmt::format(" ({} error(s): the resources they name are not applied)",
                                      config_errors_.size()));
  }
  return rebuild();
}

Status MeshController::start(SnapshotSink* sink) {
  sink_ = sink;
  started_ = true;
  if (sink_) {
    sink_->setConfigErrors(config_errors_);
    pushConfigCounts();
    sink_->setRegistryStatus(registryStatus());
  }
  if (!options_.config_dir.empty()) {
    dir_watcher_ = std::make_unique<DirWatcher>(io_, options_.config_dir, options_.watch,
                                                [this] { reloadConfig(); });
    SLUICE_RETURN_IF_ERROR(dir_watcher_->start());
  }
  std::weak_ptr<bool> alive = alive_;
  for (size_t i = 0; i < sources_.size(); ++i) {
    // Watchers may call back on their own threads: hop onto the io_context first.
    sources_[i].watcher->start([this, i, alive](const std::vector<registry::Service>& services) {
      asio::post(io_, [this, i, alive, services]() mutable {
        if (alive.expired() || stopped_) return;
        onRegistryChange(i, std::move(services));
      });
    });
  }
  if (!sources_.empty()) pollRegistryStatus();
  return ok();
}

void MeshController::whenRegistriesSynced(std::chrono::milliseconds max_wait,
                                          std::function<void()> fn) {
  on_synced_ = std::move(fn);
  sync_timer_.expires_after(max_wait);
  std::weak_ptr<bool> alive = alive_;
  sync_timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired() || !on_synced_) return;
    SLUICE_LOG_WARN("registries: not all synced within the start-up wait; serving what is known");
    auto fn = std::move(on_synced_);
    on_synced_ = nullptr;
    fn();
  });
  checkSynced();
}

void MeshController::checkSynced() {
  if (!on_synced_) return;
  for (const auto& s : sources_) {
    bool failed = !s.last_status.reachable && !s.last_status.last_error.empty();
    if (!s.synced && !failed) return;
  }
  sync_timer_.cancel();
  // Run outside the caller's frame so the callback may freely call back into the controller.
  auto fn = std::move(on_synced_);
  on_synced_ = nullptr;
  asio::post(io_, std::move(fn));
}

bool MeshController::loadsOnDemand(const config::ConfigSet& config) const {
  return options_.load_on_demand && !options_.gateway && config.reverse_dns.empty();
}

bool MeshController::acceptConfig(const config::ConfigSet& all, bool partial) {
  SnapshotInputs identity;
  identity.default_namespace = options_.default_namespace;
  identity.domain_suffix = options_.domain_suffix;
  identity.workload_labels = options_.workload_labels;
  identity.gateway = options_.gateway;
  if (loadsOnDemand(all)) identity.on_demand_hosts = on_demand_hosts_;
  auto scoped = snapshot::configWithinEgress(all, identity);
  const bool on_demand = scoped && snapshot::scopeFor(all, identity)->on_demand;
  if (!partial) config_hosts_.clear();
  if (on_demand && !partial) {
    std::string file;
    auto index = [&](const std::string& h) { config_hosts_[toLower(h)].insert(file); };
    for (const auto& vs : all.virtual_services) {
      file = vs.meta.pos.file;
      for (const auto& h : vs.hosts) index(h);
      for (const auto& h : vs.hosts_fqdn) index(h);
    }
    for (const auto& se : all.service_entries) {
      file = se.meta.pos.file;
      for (const auto& h : se.hosts) index(h);
    }
    for (const auto& dr : all.destination_rules) {
      file = dr.meta.pos.file;
      index(dr.host);
      if (!dr.host_fqdn.empty()) index(dr.host_fqdn);
    }
  }
  if (scoped && scoped->resourceCount() != all.resourceCount()) {
    SLUICE_LOG_INFO("config: {} of {} resource(s) are outside the {}: not kept",
                    all.resourceCount() - scoped->resourceCount(), all.resourceCount(),
                    on_demand ? "hosts loaded on demand so far" : "Sidecar's egress hosts");
  }
  const config::ConfigSet& loaded = scoped ? *scoped : all;
  auto update = store_.update(loaded);
  for (const auto& e : update.errors) SLUICE_LOG_ERROR("config: {}", e);
  for (const auto& r : update.rejections) SLUICE_LOG_ERROR("config: {}", r);
  if (partial) {
    // Only some files were read: the errors of the others still stand.
    for (auto& e : update.errors) {
      if (std::find(config_errors_.begin(), config_errors_.end(), e) == config_errors_.end())
        config_errors_.push_back(std::move(e));
    }
    return update.changed;
  }
  config_errors_ = std::move(update.errors);
  rejected_now_ = update.rejections.size();
  rejected_total_ += rejected_now_;
  return update.changed;
}

void MeshController::pushConfigCounts() {
  if (sink_) sink_->setConfigCounts({rejected_now_, rejected_total_, store_.heldBack()});
}

void MeshController::reloadConfig() {
  if (stopped_ || options_.config_dir.empty()) return;
  const bool had_errors = !config_errors_.empty();
  const bool changed = acceptConfig(deps_.load_config(configPaths()));
  if (!config_errors_.empty()) ++reloads_rejected_;
  if (sink_ && (had_errors || !config_errors_.empty())) sink_->setConfigErrors(config_errors_);
  if (!changed) {
    if (!config_errors_.empty()) {
      SLUICE_LOG_ERROR(
          "config: reload changed no resource ({} error(s)); snapshot version {} keeps serving",
          config_errors_.size(), version_);
    }
    pushConfigCounts();
    if (on_reload_) on_reload_(false);
    return;
  }
  ++reloads_applied_;
  auto snapshot = rebuild();
  const auto& accepted = store_.accepted();
  SLUICE_LOG_INFO(
      "config: applied {} resource(s) from {} file(s) ({} rejected, {} held back); snapshot "
      "version {}",
      accepted.resourceCount(), accepted.files_read, rejected_now_, store_.heldBack(), version_);
  if (sink_) sink_->publish(std::move(snapshot));
  if (on_reload_) on_reload_(true);
}

void MeshController::onRegistryChange(size_t index, std::vector<registry::Service> services) {
  if (index >= sources_.size()) return;
  // A list read before the watcher took the latest interest in may still carry others.
  registry::keepWanted(services, interest_);
  Source& s = sources_[index];
  s.synced = true;
  if (s.services == services) {
    checkSynced();
    return;
  }
  s.services = std::move(services);
  s.damper.update(s.services, RegistryDamper::Clock::now());
  SLUICE_LOG_INFO("registry {}: {} service(s)", s.url, s.services.size());
  for (const auto& key : s.damper.protectedServices()) {
    SLUICE_LOG_WARN(
        "registry {}: {} has no instances now; keeping its last instances for a "
        "while (empty protection: a restarting registry loses instances until their "
        "next beat)",
        s.url, key);
  }
  scheduleRebuild();
  armDamperTimer();
  checkSynced();
}

void MeshController::refreshRegistries(std::function<void()> done) {
  if (!done) return;
  if (stopped_ || !started_ || sources_.empty()) {
    asio::post(io_, std::move(done));
    return;
  }
  struct Pending {
    size_t left;
    std::function<void()> done;
  };
  auto pending = std::make_shared<Pending>(Pending{sources_.size(), std::move(done)});
  std::weak_ptr<bool> alive = alive_;
  for (auto& s : sources_) {
    // The watcher reports a change (posted to io_) before it calls back (posted after it), so
    // when the last one has answered, onRegistryChange has run and any rebuild it scheduled is
    // queued ahead of the final post below.
    s.watcher->refreshNow([this, alive, pending] {
      asio::post(io_, [this, alive, pending] {
        if (alive.expired() || --pending->left > 0) return;
        asio::post(io_, std::move(pending->done));
      });
    });
  }
}

std::optional<std::string> MeshController::onDemandKey(std::string_view host) const {
  std::string h = toLower(trim(host));
  if (!h.empty() && h.back() == '.') h.pop_back();
  if (h.empty() || h.find_first_of("[:/") != std::string::npos || net::IpAddress::parse(h))
    return std::nullopt;
  const std::string& ns = options_.default_namespace;
  const std::string fqdn_tail = "." + ns + "." + options_.domain_suffix;
  std::string name;
  for (const std::string& tail : {fqdn_tail, "." + ns + ".svc", "." + ns}) {
    if (h.size() > tail.size() && h.ends_with(tail)) {
      name = h.substr(0, h.size() - tail.size());
      break;
    }
  }
  // A dotted name outside the registry's domain is an external host unless the config names it.
  if (name.empty() && h.find('.') == std::string::npos) name = h;
  if (!name.empty()) return name + fqdn_tail;
  if (config_hosts_.count(h) != 0) return h;
  return std::nullopt;
}

void MeshController::loadOnDemand(const std::string& host, std::function<void()> done) {
  if (!done) return;
  std::optional<std::string> key;
  if (!stopped_ && started_ && loadsOnDemand(store_.accepted())) key = onDemandKey(host);
  if (!key) {
    asio::post(io_, std::move(done));
    return;
  }
  if (auto it = loading_.find(*key); it != loading_.end()) {
    it->second.push_back(std::move(done));
    return;
  }
  if (on_demand_hosts_.count(*key) != 0) {
    // Loaded since the asking worker's snapshot was taken.
    asio::post(io_, std::move(done));
    return;
  }
  on_demand_hosts_.insert(*key);
  loading_[*key].push_back(std::move(done));
  SLUICE_LOG_INFO("on demand: {} is not loaded; reading the registries for it", *key);
  const auto started = std::chrono::steady_clock::now();
  loadConfigFor({toLower(trim(host)), *key});
  auto snapshot = rebuild();  // the interest now has it: the watchers start reading it
  if (sink_) sink_->publish(std::move(snapshot));
  std::weak_ptr<bool> alive = alive_;
  refreshRegistries([this, alive, key = *key, started] {
    if (!alive.expired()) finishLoad(key, started);
  });
}

void MeshController::loadConfigFor(std::set<std::string> hosts) {
  // Only the files that hold resources for these hosts (and for what their VirtualServices route
  // to) are read, added to what is kept: re-reading a 4,000-document directory for each name
  // took seconds, longer than a request waits.
  std::set<std::string> files;
  auto filesOf = [&](const std::string& h) {
    if (auto it = config_hosts_.find(toLower(h)); it != config_hosts_.end())
      files.insert(it->second.begin(), it->second.end());
  };
  for (const auto& h : hosts) filesOf(h);
  if (files.empty()) return;
  config::ConfigSet partial;
  for (int depth = 0; depth < 4; ++depth) {
    partial = deps_.load_config(std::vector<std::string>(files.begin(), files.end()));
    const size_t before = files.size();
    for (const auto& vs : partial.virtual_services) {
      snapshot::forEachDestination(vs, [&](const config::Destination& d) {
        filesOf(d.host);
        if (!d.host_fqdn.empty()) filesOf(d.host_fqdn);
      });
    }
    if (files.size() == before) break;
  }
  config::ConfigSet merged = store_.accepted();
  auto addNew = [](auto& into, const auto& from) {
    for (const auto& x : from) {
      bool present = false;
      for (const auto& y : into)
        present = present || (y.meta.ns == x.meta.ns && y.meta.name == x.meta.name);
      if (!present) into.push_back(x);
    }
  };
  addNew(merged.virtual_services, partial.virtual_services);
  addNew(merged.destination_rules, partial.destination_rules);
  addNew(merged.service_entries, partial.service_entries);
  acceptConfig(merged, /*partial=*/true);
}

void MeshController::finishLoad(const std::string& key,
                                std::chrono::steady_clock::time_point started) {
  auto it = loading_.find(key);
  if (it == loading_.end()) return;
  auto waiters = std::move(it->second);
  loading_.erase(it);
  const bool found =
      last_snapshot_ && (last_snapshot_->findService(key) != nullptr ||
                         last_snapshot_->mesh_routes.findVirtualHost(key) != nullptr);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (found) {
    SLUICE_LOG_INFO("on demand: {} loaded ({} ms); it stays loaded", key, took.count());
  } else {
    // Kept out of the interest, so names that are not the mesh's cost nothing after this.
    SLUICE_LOG_INFO("on demand: no registry or config has {} ({} ms); not loaded", key,
                    took.count());
    on_demand_hosts_.erase(key);
    scheduleRebuild();
  }
  for (auto& w : waiters) w();
}

void MeshController::armDamperTimer() {
  std::optional<RegistryDamper::Clock::time_point> next;
  for (const auto& s : sources_) {
    auto t = s.damper.nextExpiry();
    if (t && (!next || *t < *next)) next = t;
  }
  if (!next || stopped_) return;
  damper_timer_.expires_at(*next);
  std::weak_ptr<bool> alive = alive_;
  damper_timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired() || stopped_) return;
    for (auto& s : sources_) s.damper.refresh(RegistryDamper::Clock::now());
    scheduleRebuild();
    armDamperTimer();
  });
}

void MeshController::scheduleRebuild() {
  if (rebuild_scheduled_) return;
  rebuild_scheduled_ = true;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.expired()) return;
    rebuild_scheduled_ = false;
    if (stopped_) return;
    auto snapshot = rebuild();
    if (sink_) sink_->publish(std::move(snapshot));
  });
}

std::shared_ptr<const proxy::MeshSnapshot> MeshController::rebuild() {
  SnapshotInputs inputs;
  inputs.config = store_.accepted();
  for (const auto& s : sources_) {
    const auto& effective = s.damper.effective();
    inputs.registry_services.insert(inputs.registry_services.end(), effective.begin(),
                                    effective.end());
    auto retired = s.damper.retired();
    inputs.retired_instances.insert(inputs.retired_instances.end(), retired.begin(), retired.end());
  }
  inputs.version = ++version_;
  inputs.default_namespace = options_.default_namespace;
  inputs.domain_suffix = options_.domain_suffix;
  for (const auto& st : registryStatus()) inputs.registry_status.push_back(statusLine(st));
  inputs.vip_range = options_.vip_range;
  inputs.workload_labels = options_.workload_labels;
  inputs.gateway = options_.gateway;
  inputs.previous_vips = vips_;
  if (loadsOnDemand(inputs.config)) inputs.on_demand_hosts = on_demand_hosts_;
  auto scope = snapshot::scopeOf(inputs);
  applyInterest(snapshot::registryInterest(inputs), scope && scope->on_demand);
  auto snapshot = deps_.build_snapshot(inputs);
  // The services do not depend on VirtualServices, so this snapshot tells which destination
  // hosts exist; a second build is needed only when a VirtualService is held back. Outside the
  // Sidecar's egress hosts a VirtualService is not built at all, so its references do not count.
  std::function<bool(const config::VirtualService&)> in_scope;
  if (scope)
    in_scope = [&](const config::VirtualService& vs) { return scope->admitsVirtualService(vs); };
  auto resolved = store_.resolve(
      [&](const config::Destination& d) {
        if (!snapshot) return true;
        return snapshot->findService(d.host_fqdn) != nullptr ||
               snapshot->findService(d.host) != nullptr;
      },
      in_scope);
  if (resolved.differs) {
    inputs.config = std::move(resolved.config);
    inputs.held_back = std::move(resolved.held_back);
    snapshot = deps_.build_snapshot(inputs);
  }
  last_snapshot_ = snapshot;
  if (snapshot) {
    vips_ = snapshot->vipAssignments();
    logNewFindings(*snapshot);
  }
  if (held_back_reported_ != store_.heldBack()) {
    held_back_reported_ = store_.heldBack();
    pushConfigCounts();
  }
  return snapshot;
}

void MeshController::applyInterest(registry::Interest interest, bool on_demand) {
  if (interest == interest_) return;
  if (interest.all) {
    SLUICE_LOG_INFO("registries: every service is materialised (no Sidecar egress limit)");
  } else if (on_demand) {
    SLUICE_LOG_INFO(
        "registries: {} registry service(s) loaded on demand so far; only those are read",
        interest.names.size());
  } else {
    SLUICE_LOG_INFO(
        "registries: the Sidecar's egress hosts need {} registry service(s); only "
        "those are subscribed to",
        interest.names.size());
  }
  interest_ = std::move(interest);
  for (auto& s : sources_) {
    registry::keepWanted(s.services, interest_);
    s.damper.keepOnly(interest_);
    if (s.watcher) s.watcher->setInterest(interest_);
  }
}

// Snapshot diagnostics (a route to an unknown host, tcp routes bound only to gateways, an address
// range in a ServiceEntry...) and config accepted but not enforced are on /config_dump; each is
// also logged once, when it first appears, so nothing is ignored silently.
void MeshController::logNewFindings(const proxy::MeshSnapshot& snapshot) {
  std::set<std::string> now;
  for (const auto& d : snapshot.diagnostics) now.insert(d);
  for (const auto& u : snapshot.unenforced) now.insert("not enforced: " + u);
  for (const auto& h : snapshot.config_held_back) now.insert("config: " + h);
  for (const auto& f : now) {
    if (logged_findings_.count(f) == 0) SLUICE_LOG_WARN("mesh: {}", f);
  }
  logged_findings_ = std::move(now);
}

std::vector<registry::SourceStatus> MeshController::registryStatus() const {
  std::vector<registry::SourceStatus> out;
  out.reserve(sources_.size());
  for (const auto& s : sources_) {
    registry::SourceStatus st = s.watcher ? s.watcher->status() : s.last_status;
    if (st.source.empty()) st.source = s.url;
    out.push_back(std::move(st));
  }
  return out;
}

void MeshController::pollRegistryStatus() {
  if (stopped_) return;
  bool changed = false;
  auto now = registryStatus();
  for (size_t i = 0; i < sources_.size() && i < now.size(); ++i) {
    if (!sameStatus(sources_[i].last_status, now[i])) {
      changed = true;
      if (now[i].reachable) {
        SLUICE_LOG_INFO("registry {}: reachable", sources_[i].url);
      } else {
        SLUICE_LOG_WARN("registry {}: unreachable: {}", sources_[i].url, now[i].last_error);
      }
      sources_[i].last_status = now[i];
    }
  }
  if (changed && sink_) sink_->setRegistryStatus(now);
  checkSynced();
  status_timer_.expires_after(options_.registry_status_interval);
  std::weak_ptr<bool> alive = alive_;
  status_timer_.async_wait([this, alive](const std::error_code& ec) {
    if (ec || alive.expired()) return;
    pollRegistryStatus();
  });
}

void MeshController::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (dir_watcher_) dir_watcher_->stop();
  if (started_) {
    for (auto& s : sources_) {
      if (s.watcher) s.watcher->stop();
    }
  }
  status_timer_.cancel();
  sync_timer_.cancel();
  damper_timer_.cancel();
  on_synced_ = nullptr;
}

}  // namespace sluice::control
