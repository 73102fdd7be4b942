#!/usr/bin/env bash
# Builds the mesh page that the admin endpoint serves on /ui: ui/src bundled and minified by
# esbuild into OUT_DIR/{index.html,app.js,app.css}, which the build embeds into the binary
# (ui/CMakeLists.txt). CMake runs it; by hand: scripts/build-ui.sh /tmp/ui-dist.
#
# ui/node_modules comes from `npm ci` (pinned by ui/package-lock.json; scripts/install-deps.sh
# runs it). When it is missing or older than the lock file, this script runs `npm ci
# --prefer-offline` itself (npm's cache serves it offline once fetched). Without npm it stops with
# what to do: install it (scripts/install-deps.sh), or configure with -DSLUICE_UI=OFF.
set -euo pipefail
out=${1:?usage: scripts/build-ui.sh OUT_DIR}
ui="$(cd "$(dirname "$0")/.." && pwd)/ui"

if [[ ! -x "$ui/node_modules/.bin/esbuild" ]] ||
   [[ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "build-ui: npm not found, so the mesh page (/ui) cannot be built." >&2
    echo "build-ui: run scripts/install-deps.sh (installs Node.js and npm and the page's" >&2
    echo "build-ui: packages), or configure with -DSLUICE_UI=OFF to build without the page." >&2
    exit 1
  fi
  echo "build-ui: npm ci in ui/ (ui/package-lock.json)"
  (cd "$ui" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$out"
# app.js and app.css (the CSS main.js imports) in one pass; ES2020 for any current browser.
"$ui/node_modules/.bin/esbuild" "$ui/src/main.js" --bundle --minify --format=iife \
  --target=es2020 --legal-comments=eof --log-level=warning --outfile="$out/app.js"
cp "$ui/index.html" "$out/index.html"
