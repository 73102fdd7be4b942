#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan, a build dir of its own)
# and runs them one after the other, so at most one fuzzing process runs at a time.
#
#   scripts/fuzz.sh --each SECONDS [TARGET...]   every target SECONDS long (make fuzz)
#   scripts/fuzz.sh --total SECONDS [TARGET...]  all targets within SECONDS together (make test's
#                                                smoke: SECONDS split evenly, at least 1 s each)
#   scripts/fuzz.sh --list                       the target names
#
# TARGET is a file name of tests/fuzz without .cc (http_request_head, ...); default: all.
# Seeds and regression inputs: tests/fuzz/corpus/<target>/ (read only here). New inputs libFuzzer
# finds go to $FUZZ_BUILD_DIR/corpus/<target>/ (kept between runs), crashes to
# $FUZZ_BUILD_DIR/artifacts/<target>/ and the whole output to $FUZZ_BUILD_DIR/logs/<target>.log.
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_NICE (0; 19 on a shared machine), FUZZ_JOBS (build
# jobs, nproc), FUZZ_ARGS (extra libFuzzer flags, e.g. -max_len=65536).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
NICE=${FUZZ_NICE:-0}
JOBS=${FUZZ_JOBS:-$(nproc)}
mode=${1:-}
seconds=${2:-}
all_targets() { ls tests/fuzz/*.cc | xargs -n1 basename | sed 's/\.cc$//'; }

case "$mode" in
  --list) all_targets; exit 0 ;;
  --each|--total) [[ "$seconds" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: $mode needs seconds" >&2; exit 2; } ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
shift 2
targets=("$@")
if ((${#targets[@]} == 0)); then mapfile -t targets < <(all_targets); fi

start=$(date +%s)
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" -DSLUICE_FUZZ=ON -DSLUICE_WERROR=OFF \
    -DSLUICE_UI=OFF -DBUILD_TESTING=OFF >/dev/null
fi
nice -n "$NICE" cmake --build "$BUILD_DIR" -j "$JOBS" --target "${targets[@]/#/fuzz_}"
echo "fuzz: built ${#targets[@]} target(s) in $(($(date +%s) - start)) s"

per_target=$seconds
seed_args=()
if [[ "$mode" == --total ]]; then
  per_target=$((seconds / ${#targets[@]}))
  ((per_target >= 1)) || per_target=1
  # The smoke (make test) mutates from a fixed seed, so its verdict does not depend on which
  # random inputs one run happened to try; finding new inputs is `make fuzz`'s job.
  seed_args=(-seed="${FUZZ_SMOKE_SEED:-1}")
fi

passed=0 failed=0 failures=()
for t in "${targets[@]}"; do
  seeds="tests/fuzz/corpus/$t"
  work="$BUILD_DIR/corpus/$t"
  artifacts="$BUILD_DIR/artifacts/$t/"
  log="$BUILD_DIR/logs/$t.log"
  mkdir -p "$seeds" "$work" "$artifacts" "$(dirname "$log")"
  # ASan: report leaks too; UBSan: stop with a stack at the first finding.
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     nice -n "$NICE" "$BUILD_DIR/fuzz/fuzz_$t" -max_total_time="$per_target" -timeout=10 \
       -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts" "${seed_args[@]}" ${FUZZ_ARGS:-} \
       "$work" "$seeds" >"$log" 2>&1; then
    runs=$(grep -a -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz $t: ok, $runs runs in ${per_target} s ($cov)"
    passed=$((passed + 1))
  else
    echo "fuzz $t: FAILED (log: $log; input: $(ls -t "$artifacts" | head -1))"
    # The finding and its stack without libFuzzer's and libc's own frames.
    grep -E -A30 'ERROR: |runtime error|fuzz check failed' "$log" |
      grep -vE 'fuzzer::|libc\.so|libc_start|_start |__sanitizer_print|NOTE: |Combine libFuzzer' |
      head -30 || tail -30 "$log"
    failed=$((failed + 1))
    failures+=("$t")
  fi
done
echo "fuzz: $passed passed, $failed failed in $(($(date +%s) - start)) s${failures:+ (${failures[*]})}"
((failed == 0))
