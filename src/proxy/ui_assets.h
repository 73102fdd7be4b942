#pragma once
// The files of the mesh page (/ui), embedded into the binary at build time: ui/ is bundled by
// scripts/build-ui.sh and cmake/embed_files.cmake generates the definition of embeddedUiAssets()
// (library sluice_ui_assets, ui/CMakeLists.txt). Static, immutable data: any thread.

#include <span>
#include <string_view>

namespace sluice::proxy {

struct UiAsset {
  std::string_view path;          // "/ui/index.html", "/ui/app.js", ...
  std::string_view content_type;  // from the file's extension
  std::string_view body;
};

// Every embedded file; empty when the build was configured with -DSLUICE_UI=OFF.
std::span<const UiAsset> embeddedUiAssets();

}  // namespace sluice::proxy
