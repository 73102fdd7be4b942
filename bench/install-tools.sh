#!/usr/bin/env bash
# The benchmark's load generator: fortio, Istio's own, built with `go install` from the Go module
# proxy at a pinned version into bench/.tools/bin (not part of `make test`).
# v1.66.5: the newest release whose dependencies the module proxy here serves (v1.69+ need
# grol.io/grol, which it refuses).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
FORTIO_VERSION=v1.66.5
if [[ -x "$here/.tools/bin/fortio" ]] && "$here/.tools/bin/fortio" version 2>/dev/null | grep -q "${FORTIO_VERSION#v}"; then
  exit 0
fi
command -v go >/dev/null || { echo "install-tools.sh: go is missing" >&2; exit 1; }
GOBIN="$here/.tools/bin" go install "fortio.org/fortio@$FORTIO_VERSION"
"$here/.tools/bin/fortio" version
