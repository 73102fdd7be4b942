#!/usr/bin/env bash
# The e2e suite against an AddressSanitizer + UndefinedBehaviorSanitizer `sluice` (make
# e2e-sanitized; part of `make test` when CI=true).
#
# Builds the sluice binary in build-asan (the tree `make sanitize` uses for the unit tests, so
# the libraries are shared) and runs ctest's e2e label there: build-asan's tests point SLUICE_BIN
# at build-asan/sluice. SLUICE_E2E_SANITIZED=1 tells the tests (a few memory figures are relaxed
# under the sanitizer allocator, and only there). Every sluice process writes its sanitizer
# reports to $REPORT_DIR/<tool>.<pid> instead of stderr: a report from a child that a test stops at
# its end, or one a test does not look at, would otherwise go unseen. Any report fails the run.
#
# Environment: E2E_SANITIZED_EXCLUDE (ctest labels left out, regex; default "jvm", the tests
# whose subject is a JVM peer, see tests/CMakeLists.txt), JOBS (ctest -j and build jobs, nproc),
# E2E_SANITIZED_ARGS (more ctest arguments, e.g. "-R large_bodies").
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=build-asan
JOBS=${JOBS:-$(nproc)}
EXCLUDE=${E2E_SANITIZED_EXCLUDE-jvm}
REPORT_DIR=$PWD/$BUILD_DIR/sanitizer-reports

cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS" --target sluice

rm -rf "$REPORT_DIR"
mkdir -p "$REPORT_DIR"
# detect_leaks=0: the e2e tests stop most processes with SIGTERM/SIGKILL mid-flight; leaks are the
# unit tests' business (make sanitize). abort_on_error: a report ends the process at once, so the
# test that caused it fails too.
export ASAN_OPTIONS="log_path=$REPORT_DIR/asan:detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="log_path=$REPORT_DIR/ubsan:print_stacktrace=1:halt_on_error=1"
export SLUICE_E2E_SANITIZED=1

exclude=()
[[ -n "$EXCLUDE" ]] && exclude=(-LE "$EXCLUDE")
status=0
start=$(date +%s)
# shellcheck disable=SC2086  # E2E_SANITIZED_ARGS is a list of arguments
(cd "$BUILD_DIR" && ctest --output-on-failure -j "$JOBS" -L e2e "${exclude[@]}" \
  ${E2E_SANITIZED_ARGS:-}) || status=$?
echo "e2e-sanitized: $(($(date +%s) - start)) s (ctest -j $JOBS, excluded labels: ${EXCLUDE:-none})"

reports=$(find "$REPORT_DIR" -type f | sort)
if [[ -n "$reports" ]]; then
  for r in $reports; do
    echo "=== $r"
    head -c 20000 "$r"
  done
  echo "e2e-sanitized: $(echo "$reports" | wc -l) sanitizer report(s), see above" >&2
  exit 1
fi
exit "$status"
