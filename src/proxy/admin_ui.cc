#include "proxy/admin_ui.h"

#include "proxy/ui_assets.h"

namespace sluice::proxy {

std::optional<http::Response> serveUi(std::string_view path) {
  if (path != "/ui" && !path.starts_with("/ui/")) return std::nullopt;
  if (path == "/ui" || path == "/ui/") path = "/ui/index.html";
  auto assets = embeddedUiAssets();
  if (assets.empty()) {
    return http::Response::text(
        404, "this binary was built without the mesh page (configured with -DSLUICE_UI=OFF)\n");
  }
  for (const UiAsset& asset : assets) {
    if (asset.path != path) continue;
    http::Response r = http::Response::text(200, std::string(asset.body), asset.content_type);
    // Small and served from memory: always revalidate, so a new binary's page is never stale.
    r.head.headers.set("cache-control", "no-cache");
    r.head.headers.set("x-content-type-options", "nosniff");
    return r;
  }
  return http::Response::text(404, "no such file of the mesh page; the page is /ui\n");
}

}  // namespace sluice::proxy
