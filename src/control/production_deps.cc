// The real dependencies of MeshController, kept in their own file so unit tests that inject
// fakes do not link the config loader, the snapshot builder or the registry clients.
#include "config/loader.h"
#include "control/mesh_controller.h"
#include "control/registry_factory.h"
#include "control/snapshot/build_snapshot.h"

namespace sluice::control {

ControllerDeps ControllerDeps::production() {
  ControllerDeps deps;
  deps.load_config = [](const std::vector<std::string>& paths) { return config::loadPaths(paths); };
  deps.build_snapshot = [](const SnapshotInputs& inputs) { return buildSnapshot(inputs); };
  deps.make_watcher = makeRegistryWatcher;
  return deps;
}

}  // namespace sluice::control
