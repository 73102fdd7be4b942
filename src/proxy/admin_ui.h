#pragma once
// GET /ui on the admin endpoint of every proxy and gateway: the mesh page (services and versions
// with live rates, routes, endpoints, registries, config problems). The page is static and
// embedded in the binary (proxy/ui_assets.h); it polls the JSON endpoints of the same admin
// server (/stats/json, /config_dump, /clusters?format=json), so nothing is fetched from outside.

#include <optional>
#include <string_view>

#include "http/server.h"

namespace sluice::proxy {

// The response for `path` when it names the page ("/ui", "/ui/", "/ui/index.html") or one of its
// files ("/ui/app.js"); 404 with a message for another path under /ui/ or when the binary was
// built without the page; nullopt when `path` is not under /ui at all.
std::optional<http::Response> serveUi(std::string_view path);

}  // namespace sluice::proxy
