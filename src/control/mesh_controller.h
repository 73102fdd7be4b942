#pragma once
// MeshController: the main-thread side of `sluice proxy` / `sluice gateway`. It folds the Istio
// config directory and the registries into MeshSnapshots and hands them to the data plane.
//
//   config dir --inotify--> DirWatcher --debounce--> reloadConfig() --> ConfigStore::update()
//        (per resource: valid ones apply, a rejected one keeps its last good version) --changed-->
//   rebuild(): ConfigStore::resolve() (VirtualServices with unresolved references held back)
//        --> build snapshot --> sink
//   registry::Watcher (one per --registry URL) --on_change--> merge --> rebuild() --> sink
//
// Contract:
// - Config is accepted per resource (control/config_store.h): a resource with errors never
//   replaces its last good version, every valid resource applies. The errors ("file:line:col:
//   Kind/ns/name: field: message") and what serves instead are logged and handed to
//   SnapshotSink::setConfigErrors; a load without errors clears them. Counts go to
//   SnapshotSink::setConfigCounts. A reload that changes no accepted resource publishes nothing.
// - A VirtualService whose new version references a subset, gateway or host that does not exist
//   (IST0101) is held back (its last good version serves; a new one waits) and applies at the
//   first rebuild after the reference resolves: a config reload or a registry change (a
//   registry-sourced host exists once the registry knows it). The reasons are on /config_dump
//   (MeshSnapshot::config_held_back) and logged once. At start-up a bad resource is simply
//   absent, so a sidecar comes up and reports rather than crash-looping.
// - Every publish carries a version one higher than the previous one (starting at 1).
// - A registry change is rebuilt and published on the next turn of the io_context (changes that
//   arrive together are coalesced into one publish), well within the 1 s budget.
// - With a Sidecar resource limiting this sidecar's egress hosts, the watchers subscribe to / keep
//   only the registry services those hosts (and the in-scope VirtualServices' destinations) name
//   (registry::Watcher::setInterest, recomputed on every rebuild); others are never materialised.
// - Without a Sidecar and with `load_on_demand`, the same holds for the hosts this sidecar was
//   asked for (loadOnDemand): the interest starts empty and grows as names are used, and the
//   config keeps only the VirtualServices, ServiceEntries and DestinationRules those hosts use.
//   The reverse-DNS EnvoyFilter (method 1: any pod address may be dialled) keeps the whole mesh.
// - Registry status (reachable, last error) is polled from each watcher every
//   `registry_status_interval` and pushed to the sink when it changes.
//
// Threading: everything runs on the io_context passed in; registry watchers may call back on any
// thread (the callback only posts to the io_context). Methods must be called on that context's
// thread (or before it runs). Dependencies (loader, snapshot builder, watcher factory) are
// injected so tests can drive the reload logic with fakes.

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/model.h"
#include "control/config_store.h"
#include "control/dir_watcher.h"
#include "control/registry_damper.h"
#include "control/snapshot/inputs.h"
#include "core/result.h"
#include "proxy/snapshot.h"
#include "registry/registry.h"

namespace sluice::control {

// Where snapshots go: ProxyServer in production (see ProxyServerSink), a recorder in tests.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual void publish(std::shared_ptr<const proxy::MeshSnapshot> snapshot) = 0;
  virtual void setConfigErrors(std::vector<std::string> errors) = 0;
  virtual void setRegistryStatus(std::vector<registry::SourceStatus> status) = 0;
  struct ConfigCounts {
    uint64_t rejected = 0;        // resources and documents the last load rejected
    uint64_t rejected_total = 0;  // summed over every load
    uint64_t held_back = 0;       // VirtualServices held back now
  };
  virtual void setConfigCounts(const ConfigCounts&) {}
};

struct ControllerDeps {
  std::function<config::ConfigSet(const std::vector<std::string>& paths)> load_config;
  std::function<std::shared_ptr<const proxy::MeshSnapshot>(const SnapshotInputs&)> build_snapshot;
  // Creates the watcher for one --registry URL; kInvalidArgument for an unknown scheme or a
  // malformed URL (a usage error).
  std::function<Result<std::unique_ptr<registry::Watcher>>(const std::string& url)> make_watcher;

  // config::loadPaths, buildSnapshot, and registry watchers by URL scheme (nacos://).
  static ControllerDeps production();
};

struct ControllerOptions {
  std::string config_dir;                  // watched; empty = no config (registries only)
  std::vector<std::string> registry_urls;  // one watcher each
  std::string default_namespace = "default";
  std::string domain_suffix = "svc.cluster.local";
  DirWatcherOptions watch;
  std::chrono::milliseconds registry_status_interval{250};
  // Virtual IPs for mesh services (the sidecar's DNS answers with them); unset = none.
  std::optional<net::Cidr> vip_range;
  // This proxy's workload labels (sourceLabels matches, Sidecar workloadSelector); its namespace
  // is default_namespace.
  std::map<std::string, std::string> workload_labels;
  // A gateway: Sidecar resources do not apply.
  bool gateway = false;
  // A sidecar without a Sidecar resource loads registry services (and the config for them) on
  // first use (loadOnDemand) instead of holding the whole mesh; ignored for gateways and while a
  // reverse-DNS EnvoyFilter (method 1) is present.
  bool load_on_demand = false;
};

class MeshController {
 public:
  MeshController(asio::io_context& io, ControllerOptions options, ControllerDeps deps);
  ~MeshController();
  MeshController(const MeshController&) = delete;
  MeshController& operator=(const MeshController&) = delete;

  // Loads the config once and creates the registry watchers (not started yet). Returns the
  // initial snapshot (version 1) for ProxyServer::start. Errors: kInvalidArgument for a
  // --registry URL that no watcher understands, kNotFound when the config dir is missing.
  // Config *content* errors are not errors here (see the contract above); configErrors() has them.
  Result<std::shared_ptr<const proxy::MeshSnapshot>> initialize();

  // Starts watching the config dir and the registries; later snapshots go to `sink`, which must
  // outlive the controller (or stop()). The current config errors and registry status are handed
  // to the sink right away.
  Status start(SnapshotSink* sink);

  // Calls `fn` once every registry watcher has delivered its first service list or reported an
  // error, or after `max_wait`, whichever comes first (immediately without registries). Used to
  // print the readiness line only once registry services are routable.
  void whenRegistriesSynced(std::chrono::milliseconds max_wait, std::function<void()> fn);

  // Re-reads the config dir now (what the DirWatcher triggers after its debounce).
  void reloadConfig();

  // Re-reads every registry now (Watcher::refreshNow; a sidecar saw a request to an address in
  // its pod CIDRs that no known instance has) and calls `done` on the io_context once every
  // watcher has answered and the snapshot carrying what changed went to the sink. Without
  // registries, or once stopped, `done` runs at once. Call on the io_context's thread; the
  // caller bounds its own wait (a registry that hangs delays `done` until its read times out).
  void refreshRegistries(std::function<void()> done);

  // On-demand loading: a sidecar was asked for `host` (a request's Host, a DNS query) and its
  // snapshot does not know it. When `host` can be a mesh name (a short name, NAME.<ns>,
  // NAME.<ns>.svc, NAME.<ns>.<domain>, or a VirtualService/ServiceEntry/DestinationRule host of
  // the config directory), it is added to the hosts this sidecar uses (its registry interest
  // grows, the config for it is read again), the registries are read, and `done` runs on the
  // io_context once the snapshot that carries it (if any registry has it) was published. A host
  // no registry or config has is dropped again (the proxy remembers it as absent for a while).
  // Hosts found stay loaded until the process ends. Not a mesh name, not in on-demand mode, or
  // stopped: `done` runs at once. Concurrent asks for one host share one load. Call on the
  // io_context's thread; the caller bounds its own wait.
  void loadOnDemand(const std::string& host, std::function<void()> done);

  // Stops the watchers and timers; no publish happens afterwards. Idempotent.
  void stop();

  // Observers (same thread).
  uint64_t version() const { return version_; }
  const std::vector<std::string>& configErrors() const { return config_errors_; }
  uint64_t reloadsApplied() const { return reloads_applied_; }
  // Reloads that rejected at least one resource or document (the rest of them applied).
  uint64_t reloadsRejected() const { return reloads_rejected_; }
  // The accepted resources and the VirtualServices held back (for tests).
  const ConfigStore& configStore() const { return store_; }
  // Called after every reload attempt: true when it changed the accepted config (and published).
  void setOnReload(std::function<void(bool applied)> fn) { on_reload_ = std::move(fn); }

 private:
  struct Source {
    std::string url;
    std::unique_ptr<registry::Watcher> watcher;
    std::vector<registry::Service> services;
    bool synced = false;  // first list delivered
    registry::SourceStatus last_status;
    RegistryDamper damper{RegistryDamper::Options{}};  // what routing sees of `services`
  };

  void onRegistryChange(size_t index, std::vector<registry::Service> services);
  void scheduleRebuild();
  void armDamperTimer();
  std::shared_ptr<const proxy::MeshSnapshot> rebuild();
  void logNewFindings(const proxy::MeshSnapshot& snapshot);
  // Folds a fresh load into store_ (only what this sidecar's Sidecar egress hosts can use: every
  // reload re-reads every file, so a Sidecar change finds the rest again), logs and reports its
  // errors; true when the accepted config changed.
  // `partial`: `loaded` is the kept config plus resources read from some files only
  // (loadConfigFor): the host index and the other files' errors stay.
  bool acceptConfig(const config::ConfigSet& loaded, bool partial = false);
  void pushConfigCounts();
  std::vector<registry::SourceStatus> registryStatus() const;
  void pollRegistryStatus();
  void checkSynced();
  std::vector<std::string> configPaths() const;
  // Hands the registry services the snapshot can use (Sidecar egress hosts) to the watchers.
  void applyInterest(registry::Interest interest, bool on_demand);
  // On-demand loading applies to `config` (the flag is set, a sidecar, no reverse-DNS filter).
  bool loadsOnDemand(const config::ConfigSet& config) const;
  // The on-demand host (an FQDN, lower-cased) `host` stands for, or nullopt when it cannot be a
  // mesh name.
  std::optional<std::string> onDemandKey(std::string_view host) const;
  // Reads the config files that name `hosts` and keeps what they add for the on-demand scope.
  void loadConfigFor(std::set<std::string> hosts);
  void finishLoad(const std::string& key, std::chrono::steady_clock::time_point started);

  asio::io_context& io_;
  ControllerOptions options_;
  ControllerDeps deps_;
  std::shared_ptr<bool> alive_;  // guards callbacks posted from other threads after destruction
  SnapshotSink* sink_ = nullptr;
  std::unique_ptr<DirWatcher> dir_watcher_;
  ConfigStore store_;
  uint64_t rejected_now_ = 0;
  uint64_t rejected_total_ = 0;
  size_t held_back_reported_ = 0;
  std::vector<std::string> config_errors_;
  std::vector<Source> sources_;
  uint64_t version_ = 0;
  registry::Interest interest_;  // what the watchers were asked for
  // On-demand loading: the hosts used (or being loaded), the waiters of the loads in progress,
  // and the hosts of every VirtualService, ServiceEntry and DestinationRule of the last config
  // load (lower-cased, as written and as FQDN), so an unknown host that the config names makes
  // the config be read again.
  std::set<std::string> on_demand_hosts_;
  std::map<std::string, std::vector<std::function<void()>>> loading_;
  std::map<std::string, std::set<std::string>> config_hosts_;  // host -> files naming it
  std::shared_ptr<const proxy::MeshSnapshot> last_snapshot_;
  std::map<std::string, std::string> vips_;  // FQDN -> VIP of the last snapshot (kept stable)
  std::set<std::string> logged_findings_;    // snapshot diagnostics already logged
  uint64_t reloads_applied_ = 0;
  uint64_t reloads_rejected_ = 0;
  bool rebuild_scheduled_ = false;
  bool started_ = false;
  bool stopped_ = false;
  asio::steady_timer status_timer_;
  asio::steady_timer sync_timer_;
  asio::steady_timer damper_timer_;
  std::function<void()> on_synced_;
  std::function<void(bool)> on_reload_;
};

}  // namespace sluice::control
