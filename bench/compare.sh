#!/usr/bin/env bash
# Side-by-side throughput/latency/memory of `sluice proxy` against nginx and HAProxy, all
# forwarding the same keep-alive wrk load to the same upstream on this machine.
#
#   bench/compare.sh [path/to/sluice]        (what `make bench` runs)
#
# Layout on a 2-core machine: the proxy under test is pinned to PROXY_CPU (default 0); wrk and
# the upstream nginx share LOAD_CPU (default 1). Every proxy runs one worker / one thread and
# round-robins over the same 2 upstream ports with upstream keep-alive. "direct" is wrk straight
# to the upstream (the ceiling of this load generator on its core).
#
# Knobs (env): BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_CONNS (32), BENCH_THREADS (1),
# PROXY_CPU, LOAD_CPU, BENCH_ONLY ("direct sluice nginx haproxy", any subset).
# Not a test: it prints a table and exits 0 unless a tool is missing or a server will not start.
# Traffic stays on 127.0.0.1; every process started here is stopped on exit (trap).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
SLUICE_BIN="${1:-${SLUICE_BIN:-$root/build/sluice}}"
DURATION="${BENCH_DURATION:-10s}"
WARMUP="${BENCH_WARMUP:-2s}"
CONNS="${BENCH_CONNS:-32}"
THREADS="${BENCH_THREADS:-1}"
PROXY_CPU="${PROXY_CPU:-0}"
LOAD_CPU="${LOAD_CPU:-1}"
ONLY="${BENCH_ONLY:-direct sluice nginx haproxy}"
MESH_HOST="bench.mesh.local"

for tool in wrk nginx haproxy taskset ss; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work="$(mktemp -d /tmp/sluice-bench-XXXXXX)"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  [[ -n "${BENCH_KEEP:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Sets PORT to a loopback port no socket uses (random high port checked with ss; bounded
# tries; never the same port twice in one run). Not run in a subshell so the list sticks.
used_ports=" "
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))  # below the usual ephemeral range (32768-60999)
    [[ "$used_ports" == *" $p "* ]] && continue
    if ! ss -Htan "sport = :$p" | grep -q .; then used_ports+="$p "; PORT=$p; return 0; fi
  done
  echo "compare.sh: no free port found" >&2; return 1
}

# Waits (bounded, ~10 s) until something accepts on 127.0.0.1:$1; $2 is the server's pid and $3
# its log, shown if it dies or never listens.
wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  echo "compare.sh: nothing listening on 127.0.0.1:$1" >&2
  cat "$3" >&2 2>/dev/null || true
  return 1
}

hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

free_port; UP1=$PORT; free_port; UP2=$PORT
body="hello from the bench upstream"

# --- upstream: nginx, one process, fixed small body on two ports ------------------------------
mkdir -p "$work/up"
cat >"$work/up/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/up/nginx.pid;
error_log $work/up/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/up/body;
  proxy_temp_path $work/up/proxy;
  fastcgi_temp_path $work/up/fastcgi;
  uwsgi_temp_path $work/up/uwsgi;
  scgi_temp_path $work/up/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
  server { listen 127.0.0.1:$UP1; location / { return 200 "$body v1\n"; } }
  server { listen 127.0.0.1:$UP2; location / { return 200 "$body v2\n"; } }
}
EOF
taskset -c "$LOAD_CPU" nginx -c "$work/up/nginx.conf" -p "$work/up" >"$work/up/out.log" 2>&1 &
pids+=($!)
uppid=${pids[-1]}
wait_port "$UP1" "$uppid" "$work/up/out.log"; wait_port "$UP2" "$uppid" "$work/up/out.log"

# wrk script: absolute-form target when $BENCH_TARGET is set (explicit-proxy mode), and a
# machine-readable summary line.
cat >"$work/report.lua" <<'EOF'
local target = os.getenv("BENCH_TARGET")
if target and target ~= "" then wrk.path = target end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH rps=%.1f p50_ms=%.3f p99_ms=%.3f requests=%d non2xx=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout))
end
EOF

declare -A RPS P50 P99 REQS NON2XX ERRS RSS
run_wrk() {  # name url [target] [host-header]
  local name="$1" url="$2" target="${3:-}" host="${4:-}"
  local args=(-t"$THREADS" -c"$CONNS" -s "$work/report.lua")
  [[ -n "$host" ]] && args+=(-H "Host: $host")
  BENCH_TARGET="$target" taskset -c "$LOAD_CPU" wrk "${args[@]}" -d"$WARMUP" "$url" >/dev/null 2>&1 || true
  local out
  out=$(BENCH_TARGET="$target" taskset -c "$LOAD_CPU" wrk "${args[@]}" -d"$DURATION" "$url" 2>&1 || true)
  local line; line=$(grep '^BENCH ' <<<"$out" || true)
  if [[ -z "$line" ]]; then
    echo "compare.sh: wrk gave no result for $name:" >&2; echo "$out" >&2
    RPS[$name]=0; P50[$name]=-; P99[$name]=-; REQS[$name]=0; NON2XX[$name]=-; ERRS[$name]=-
    return
  fi
  RPS[$name]=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
  P50[$name]=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  P99[$name]=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  REQS[$name]=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  NON2XX[$name]=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  ERRS[$name]=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
}

# Checks that a proxy really routes (a fast 404 is not a result): one request must return the
# upstream's body.
check_route() {  # name url [target] [host]
  local name="$1" url="$2" target="${3:-}" host="${4:-}"
  local got
  if [[ -n "$target" ]]; then
    got=$(curl -s -m 5 -x "$url" "$target" || true)
  elif [[ -n "$host" ]]; then
    got=$(curl -s -m 5 -H "Host: $host" "$url" || true)
  else
    got=$(curl -s -m 5 "$url" || true)
  fi
  if [[ "$got" != "$body"* ]]; then
    echo "compare.sh: WARNING: $name did not return the upstream body (got: ${got:0:200})" >&2
    return 1
  fi
}

RSS[direct]=-
if [[ " $ONLY " == *" direct "* ]]; then
  check_route direct "http://127.0.0.1:$UP1/bench/x"
  run_wrk direct "http://127.0.0.1:$UP1/bench/x"
fi

# --- sluice proxy: VirtualService uri match -> DestinationRule subset, ROUND_ROBIN over 2 ------
if [[ " $ONLY " == *" sluice "* ]]; then
  if [[ ! -x "$SLUICE_BIN" ]]; then
    echo "compare.sh: $SLUICE_BIN not built; skipping sluice" >&2
  else
    mkdir -p "$work/sluice/config"
    cat >"$work/sluice/config/mesh.yaml" <<EOF
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: bench, namespace: default}
spec:
  hosts: [$MESH_HOST]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {http: $UP1}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {http: $UP2}, labels: {version: v1}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: bench, namespace: default}
spec:
  host: $MESH_HOST
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
  - {name: v1, labels: {version: v1}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bench, namespace: default}
spec:
  hosts: [$MESH_HOST]
  http:
  - match: [{uri: {prefix: /bench}}]
    route: [{destination: {host: $MESH_HOST, subset: v1}}]
EOF
    # Port 0 for both: sluice binds and reports the real ports on its readiness line.
    taskset -c "$PROXY_CPU" "$SLUICE_BIN" --log-level warn proxy --config "$work/sluice/config" \
      --listen 127.0.0.1:0 --admin 127.0.0.1:0 --concurrency 1 \
      >"$work/sluice/out.log" 2>"$work/sluice/err.log" &
    spid=$!; pids+=($spid)
    ready=0
    for _ in $(seq 1 100); do
      if grep -q 'ready:' "$work/sluice/out.log" 2>/dev/null; then ready=1; break; fi
      kill -0 "$spid" 2>/dev/null || break
      sleep 0.1
    done
    if (( ready )); then
      SP=$(sed -nE 's/.*ready: listen 127\.0\.0\.1:([0-9]+) .*/\1/p' "$work/sluice/out.log" | head -1)
      target="http://$MESH_HOST/bench/x"
      if check_route sluice "http://127.0.0.1:$SP" "$target"; then :; else
        echo "compare.sh: sluice proxy is not routing yet; numbers below measure its error path" >&2
        SLUICE_BROKEN=1
      fi
      run_wrk sluice "http://127.0.0.1:$SP/bench/x" "$target"
      RSS[sluice]=$(hwm_kb "$spid")
    else
      echo "compare.sh: sluice proxy did not become ready:" >&2
      cat "$work/sluice/out.log" "$work/sluice/err.log" >&2 || true
      SLUICE_BROKEN=1
    fi
  fi
fi

# --- nginx as a reverse proxy: 1 worker, upstream keepalive ------------------------------------
if [[ " $ONLY " == *" nginx "* ]]; then
  mkdir -p "$work/nginx"
  free_port; NP=$PORT
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  keepalive_requests 100000000;
  upstream backend {
    server 127.0.0.1:$UP1;
    server 127.0.0.1:$UP2;
    keepalive 64;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:$NP;
    location /bench {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  taskset -c "$PROXY_CPU" nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$work/nginx/out.log" 2>&1 &
  npid=$!; pids+=($npid)
  wait_port "$NP" "$npid" "$work/nginx/out.log"
  check_route nginx "http://127.0.0.1:$NP/bench/x" || true
  run_wrk nginx "http://127.0.0.1:$NP/bench/x"
  RSS[nginx]=$(hwm_kb "$npid")
fi

# --- HAProxy: nbthread 1, http-reuse always ------------------------------------------------------
if [[ " $ONLY " == *" haproxy "* ]]; then
  mkdir -p "$work/haproxy"
  free_port; HP=$PORT
  cat >"$work/haproxy/haproxy.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  pidfile $work/haproxy/haproxy.pid
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:$HP
  acl is_bench path_beg /bench
  use_backend be if is_bench
backend be
  balance roundrobin
  server s1 127.0.0.1:$UP1
  server s2 127.0.0.1:$UP2
EOF
  taskset -c "$PROXY_CPU" haproxy -db -f "$work/haproxy/haproxy.cfg" >"$work/haproxy/out.log" 2>&1 &
  hpid=$!; pids+=($hpid)
  wait_port "$HP" "$hpid" "$work/haproxy/out.log"
  check_route haproxy "http://127.0.0.1:$HP/bench/x" || true
  run_wrk haproxy "http://127.0.0.1:$HP/bench/x"
  RSS[haproxy]=$(hwm_kb "$hpid")
fi

# --- report ----------------------------------------------------------------------------------
echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION (keep-alive) on cpu $LOAD_CPU; proxies pinned to cpu $PROXY_CPU, 1 worker"
echo "upstream: nginx (1 process, cpu $LOAD_CPU) on 2 ports, $(( ${#body} + 4 ))-byte body; $(nproc) cores, $(uname -r)"
printf '%-10s %12s %10s %10s %12s %9s %8s %12s\n' target "req/s" "p50 ms" "p99 ms" requests non-2xx errors "RSS (VmHWM)"
for n in direct sluice nginx haproxy; do
  [[ -n "${RPS[$n]:-}" ]] || continue
  rss="${RSS[$n]:--}"
  [[ "$rss" != "-" ]] && rss="$(awk -v k="$rss" 'BEGIN {printf "%.1f MiB", k/1024}')"
  printf '%-10s %12s %10s %10s %12s %9s %8s %12s\n' "$n" "${RPS[$n]}" "${P50[$n]}" "${P99[$n]}" \
    "${REQS[$n]}" "${NON2XX[$n]}" "${ERRS[$n]}" "$rss"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }
if [[ -n "${RPS[sluice]:-}" ]]; then
  for peer in nginx haproxy; do
    [[ -n "${RPS[$peer]:-}" ]] || continue
    echo "sluice/$peer: req/s $(ratio "${RPS[sluice]}" "${RPS[$peer]}")," \
      "p99 $(ratio "${P99[sluice]}" "${P99[$peer]}")," \
      "RSS $(ratio "${RSS[sluice]:-0}" "${RSS[$peer]:-0}")"
  done
  if [[ -n "${SLUICE_BROKEN:-}" ]]; then
    echo "NOTE: sluice was not routing to the upstream during this run; its row is not a valid result."
  fi
fi
