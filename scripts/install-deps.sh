#!/usr/bin/env bash
# Installs every Debian and npm package (test peers, the mesh page's build) the build, the tests,
# the benchmark and the demo need. Idempotent and non-interactive: apt-get runs only when
# something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libasio-dev libyaml-cpp-dev nlohmann-json3-dev libre2-dev libspdlog-dev libfmt-dev
  libcli11-dev libexpected-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  ccache clang-format
  clang libclang-rt-14-dev
  libnghttp2-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libzookeeper-mt-dev zookeeper
  nodejs iproute2 iptables curl
  nginx-light haproxy wrk nghttp2-client
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Java 17 and Maven build the Spring Cloud test peers (examples/spring-cloud). A machine that
# already has a JDK 17+ and Maven on PATH (not necessarily Debian's) keeps them.
if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "install-deps: installing openjdk-17-jdk-headless maven"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    openjdk-17-jdk-headless maven
fi

# The official registry client SDKs used as real peers by the end-to-end tests. nodesource's
# nodejs ships npm; Debian's nodejs does not, so Debian's npm package is added only then.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing npm"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
fi
# The mesh page's front-end build (ui/: esbuild + dagre, pinned by ui/package-lock.json); the build
# bundles it into the binary (scripts/build-ui.sh).
if [[ ! -x ui/node_modules/.bin/esbuild ]] || \
   [[ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]]; then
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi
if [[ ! -f tests/e2e/node_modules/.sluice-installed ]] || \
   [[ tests/e2e/package.json -nt tests/e2e/node_modules/.sluice-installed ]]; then
  (cd tests/e2e && npm install --no-audit --no-fund --loglevel=error)
  touch tests/e2e/node_modules/.sluice-installed
fi
