#!/usr/bin/env node
// Fixed-rate latency and CPU per request, the way Istio publishes its sidecar figures: fortio
// (Istio's load generator) at a fixed rate over keep-alive connections, 1 KiB responses, through
// each path to the same upstream, taken in the same run:
//
//   direct        fortio -> upstream nginx (the baseline every "added" figure subtracts)
//   sluice        fortio -> sluice proxy -> upstream (VirtualService match + subset + ROUND_ROBIN)
//   sluice-2hop   fortio -> sluice (client side) -> sluice (server side) -> upstream, both doing
//                 the full L7 routing, as Istio's client-sidecar -> server-sidecar measurement
//   nginx         fortio -> nginx reverse proxy (1 worker, upstream keep-alive) -> upstream
//   haproxy       fortio -> HAProxy (1 thread, http-reuse always) -> upstream
//
// Per path: p50/p90/p99/p99.9 (the median of BENCH_RUNS runs, with the p99 spread), the added
// latency over direct, CPU per request (utime+stime of the proxy processes from /proc/PID/stat
// over the measured window, divided by the requests served), vCPU per 1,000 req/s, RSS idle and
// peak. Then, separately, CPU per request at saturation (fortio -qps 0).
//
//   bench/fixed_rate.mjs [path/to/sluice]       (`make bench` runs it)
//   BENCH_DURATION=2 BENCH_RUNS=1 bench/fixed_rate.mjs   (a smoke run)
//
// Knobs (env): BENCH_QPS (1000), BENCH_CONNS (16), BENCH_DURATION seconds (60), BENCH_RUNS (3),
// BENCH_SAT_DURATION seconds (10; 0 = skip saturation), BENCH_ONLY (space-separated subset),
// PROXY_CPU (0), LOAD_CPU (1), BENCH_SLUICE_B (a second sluice binary, measured as path `sluice-b`
// right after `sluice` in the same run, e.g. another build of the tree), FORTIO (path; default bench/.tools/bin/fortio, see
// bench/install-tools.sh), BENCH_KEEP=1 keeps the work directory, BENCH_SYSCALLS=1 adds one more
// run per proxy (min(BENCH_DURATION, 10) s, not in the CPU figures) that counts the proxy's
// system calls per request with `perf stat` on the kernel's syscall tracepoints (root), plus the
// reads that found nothing (EAGAIN) and the epoll_waits that did not block (timeout 0): a count
// that depends far less than CPU time on how loaded the machine is.
// Not a test: nothing asserts. Everything listens on 127.0.0.1; every process started here is
// stopped on exit.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import {
  benchRun, cpuSeconds, meshYaml, fmtNum as f, freePort, median, nginxConf, statusKb,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const env = process.env;
const SLUICE = resolve(process.argv[2] || env.SLUICE_BIN || join(root, 'build/sluice'));
const QPS = Number(env.BENCH_QPS || 1000);
const CONNS = Number(env.BENCH_CONNS || 16);
const DURATION = Number(env.BENCH_DURATION || 60);
const RUNS = Number(env.BENCH_RUNS || 3);
const SAT_DURATION = Number(env.BENCH_SAT_DURATION ?? 10);
const PROXY_CPU = env.PROXY_CPU || '0';
const LOAD_CPU = env.LOAD_CPU || (cpus().length > 1 ? '1' : '0');
const FORTIO = env.FORTIO || join(here, '.tools/bin/fortio');
const SLUICE_B = env.BENCH_SLUICE_B ? resolve(env.BENCH_SLUICE_B) : null;
const ONLY = (env.BENCH_ONLY || 'direct sluice sluice-2hop nginx haproxy').split(/\s+/);
if (SLUICE_B && !ONLY.includes('sluice-b')) ONLY.push('sluice-b');
const MESH_HOST = 'bench.mesh.local';

for (const tool of ['nginx', 'haproxy', 'taskset', ...(env.BENCH_SYSCALLS ? ['perf'] : [])]) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`fixed_rate: ${tool} is missing (scripts/install-deps.sh)`);
    process.exit(1);
  }
}
if (!existsSync(FORTIO)) {
  console.error(`fixed_rate: ${FORTIO} not found: run bench/install-tools.sh (go install, pinned)`);
  process.exit(1);
}

const { work, startPinned, waitPort, waitOutput } = benchRun('sluice-bench-rate-');

async function startSluice(name, endpoints, bin = SLUICE) {
  const cfg = join(work, name, 'config');
  mkdirSync(cfg, { recursive: true });
  writeFileSync(join(cfg, 'mesh.yaml'), meshYaml({ host: MESH_HOST, ports: endpoints, prefix: '/bench' }));
  const child = startPinned(PROXY_CPU, bin, ['--log-level', 'warn', 'proxy', '--config', cfg,
    '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--concurrency', '1'], name);
  const m = await waitOutput(child, /ready: listen 127\.0\.0\.1:(\d+)/, name);
  return { child, port: Number(m[1]) };
}

// One fortio run; returns { count, ok, qps, p: {50,90,99,99.9} in ms }. `wrap`: a command that
// runs fortio (perf stat attached to the proxies for exactly the run).
function fortio(url, qps, seconds, label, wrap = []) {
  const out = join(work, `${label}.json`);
  const args = ['-c', LOAD_CPU, FORTIO, 'load', '-quiet', '-qps', String(qps), '-c', String(CONNS),
    '-t', `${seconds}s`, '-p', '50,90,99,99.9', '-json', out, '-H', `Host: ${MESH_HOST}`, url];
  const cmd = wrap.length ? [...wrap, 'taskset', ...args] : ['taskset', ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0 || !existsSync(out)) {
    throw new Error(`fortio failed for ${label}: ${r.stderr}`);
  }
  const j = JSON.parse(readFileSync(out, 'utf8'));
  const p = {};
  for (const x of j.DurationHistogram.Percentiles) p[x.Percentile] = x.Value * 1000;
  return { count: j.DurationHistogram.Count, ok: j.RetCodes?.['200'] ?? 0, qps: j.ActualQPS, p };
}

const SYSCALLS = ['recvfrom', 'recvmsg', 'sendto', 'sendmsg', 'writev', 'readv', 'read', 'write',
  'epoll_wait', 'epoll_ctl', 'ioctl', 'clock_gettime', 'getsockopt', 'setsockopt',
  'timerfd_settime', 'io_uring_enter'];
const TRACEPOINTS = ['/sys/kernel/tracing/events/syscalls', '/sys/kernel/debug/tracing/events/syscalls']
  .find((d) => existsSync(d));

// One fortio run at QPS with perf stat counting the proxies' system calls; returns
// { name: calls per request }, 'recv EAGAIN' and 'epoll_wait timeout 0' included.
function syscallRun(path, name) {
  if (!TRACEPOINTS) throw new Error('BENCH_SYSCALLS: no syscall tracepoints (tracefs, root)');
  const seconds = Math.min(DURATION, 10);
  const out = join(work, `${name}-syscalls.csv`);
  const names = SYSCALLS.filter((c) => existsSync(join(TRACEPOINTS, `sys_enter_${c}`)));
  const events = names.flatMap((c) => ['-e', `syscalls:sys_enter_${c}`]);
  const wrap = ['perf', 'stat', '-x,', '-o', out, ...events,
    '-e', 'syscalls:sys_exit_recvfrom', '--filter', 'ret == -11',
    '-e', 'syscalls:sys_enter_epoll_wait', '--filter', 'timeout == 0',
    '-p', path.pids.join(','), '--'];
  const r = fortio(path.url, QPS, seconds, `${name}-syscalls`, wrap);
  // perf stat -x, lines: value,unit,event,... in the order the events were given.
  const values = readFileSync(out, 'utf8').split('\n').filter((l) => /^[0-9<]/.test(l))
    .map((l) => Number(l.split(',')[0]) || 0);
  const perReq = {};
  [...names, 'recv EAGAIN', 'epoll_wait timeout 0'].forEach((n, i) => {
    if (values[i] > 0) perReq[n] = values[i] / r.count;
  });
  return perReq;
}

async function main() {
  const body = 'x'.repeat(1023) + '\n';  // 1 KiB responses
  const up = [await freePort(), await freePort()];
  const upDir = join(work, 'upstream');
  mkdirSync(upDir, { recursive: true });
  writeFileSync(join(upDir, 'nginx.conf'), nginxConf(upDir,
    up.map((p) => `  server { listen 127.0.0.1:${p}; location / { return 200 "${body.trimEnd()}\\n"; } }`).join('\n')));
  const upstream = startPinned(LOAD_CPU, 'nginx', ['-c', join(upDir, 'nginx.conf'), '-p', upDir], 'upstream');
  for (const p of up) await waitPort(p, upstream, 'upstream nginx');

  // Each path: { url, pids (the proxy processes whose CPU counts) }.
  const paths = {};
  if (ONLY.includes('direct')) paths.direct = { url: `http://127.0.0.1:${up[0]}/bench/x`, pids: [] };
  if (ONLY.includes('sluice')) {
    const s = await startSluice('sluice', up);
    paths.sluice = { url: `http://127.0.0.1:${s.port}/bench/x`, pids: [s.child.pid] };
  }
  if (SLUICE_B) {
    const s = await startSluice('sluice-b', up, SLUICE_B);
    paths['sluice-b'] = { url: `http://127.0.0.1:${s.port}/bench/x`, pids: [s.child.pid] };
  }
  if (ONLY.includes('sluice-2hop')) {
    const server = await startSluice('sluice-server', up);
    const client = await startSluice('sluice-client', [server.port]);
    paths['sluice-2hop'] = { url: `http://127.0.0.1:${client.port}/bench/x`,
      pids: [client.child.pid, server.child.pid], hops: 2 };
  }
  if (ONLY.includes('nginx')) {
    const port = await freePort();
    const dir = join(work, 'nginx');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, `  upstream backend {
    server 127.0.0.1:${up[0]};
    server 127.0.0.1:${up[1]};
    keepalive 64;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${port};
    location /bench { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`));
    const c = startPinned(PROXY_CPU, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], 'nginx');
    await waitPort(port, c, 'nginx');
    paths.nginx = { url: `http://127.0.0.1:${port}/bench/x`, pids: [c.pid] };
  }
  if (ONLY.includes('haproxy')) {
    const port = await freePort();
    const dir = join(work, 'haproxy');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'haproxy.cfg'), `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port}
  acl is_bench path_beg /bench
  use_backend be if is_bench
backend be
  balance roundrobin
  server s1 127.0.0.1:${up[0]}
  server s2 127.0.0.1:${up[1]}
`);
    const c = startPinned(PROXY_CPU, 'haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], 'haproxy');
    await waitPort(port, c, 'haproxy');
    paths.haproxy = { url: `http://127.0.0.1:${port}/bench/x`, pids: [c.pid] };
  }

  const results = {};
  for (const [name, path] of Object.entries(paths)) {
    // A path that does not return the upstream's body measures an error path, not a proxy.
    const probe = fortio(path.url, 10, 1, `${name}-probe`);
    if (probe.ok !== probe.count || probe.count === 0) {
      throw new Error(`${name}: ${probe.count - probe.ok} of ${probe.count} probe requests were not 200`);
    }
    const rssIdle = path.pids.reduce((a, pid) => a + statusKb(pid, 'VmRSS'), 0);
    fortio(path.url, QPS, 2, `${name}-warmup`);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const before = path.pids.map(cpuSeconds);
      const r = fortio(path.url, QPS, DURATION, `${name}-run${i}`);
      const cpu = path.pids.map(cpuSeconds).reduce((a, v, k) => a + v - before[k], 0);
      runs.push({ ...r, cpuUsPerReq: path.pids.length ? (cpu * 1e6) / r.count : NaN });
    }
    let sat = null;
    if (SAT_DURATION > 0 && path.pids.length) {
      const before = path.pids.map(cpuSeconds);
      const r = fortio(path.url, 0, SAT_DURATION, `${name}-sat`);
      const cpu = path.pids.map(cpuSeconds).reduce((a, v, k) => a + v - before[k], 0);
      sat = { qps: r.qps, cpuUsPerReq: (cpu * 1e6) / r.count };
    }
    const syscalls = env.BENCH_SYSCALLS && path.pids.length ? syscallRun(path, name) : null;
    const rssPeak = path.pids.reduce((a, pid) => a + statusKb(pid, 'VmHWM'), 0);
    results[name] = { runs, sat, rssIdle, rssPeak, hops: path.hops || 1, syscalls };
    process.stderr.write(`fixed_rate: ${name} done\n`);
  }
  report(results);
}


// System calls per request, one column per proxy (BENCH_SYSCALLS=1).
function reportSyscalls(results) {
  const withCounts = Object.entries(results).filter(([, r]) => r.syscalls);
  if (!withCounts.length) return;
  console.log(`\nsystem calls per request at ${QPS} req/s (perf stat, syscalls tracepoints; ` +
    `one extra run of ${Math.min(DURATION, 10)} s per proxy)`);
  console.log(['syscall'.padEnd(22), ...withCounts.map(([n]) => n.padStart(12))].join(' '));
  const present = (n) => withCounts.some(([, r]) => r.syscalls[n]);
  const rows = SYSCALLS.filter(present).flatMap((n) => [[n, n],
    ...(n === 'recvfrom' ? [['  of which EAGAIN', 'recv EAGAIN']] : []),
    ...(n === 'epoll_wait' ? [['  of which timeout 0', 'epoll_wait timeout 0']] : [])]);
  for (const [label, n] of rows) {
    console.log([label.padEnd(22), ...withCounts.map(([, r]) => f(r.syscalls[n] ?? 0, 2).padStart(12))].join(' '));
  }
  const isPart = (n) => n === 'recv EAGAIN' || n === 'epoll_wait timeout 0';
  const total = (r) => Object.entries(r.syscalls).reduce((a, [n, v]) => a + (isPart(n) ? 0 : v), 0);
  console.log(['total'.padEnd(22), ...withCounts.map(([, r]) => f(total(r), 2).padStart(12))].join(' '));
}

function report(results) {
  const rows = {};
  for (const [name, r] of Object.entries(results)) {
    const pick = (k) => median(r.runs.map((x) => x.p[k]));
    rows[name] = { p50: pick('50'), p90: pick('90'), p99: pick('99'), p999: pick('99.9'),
      p99min: Math.min(...r.runs.map((x) => x.p['99'])), p99max: Math.max(...r.runs.map((x) => x.p['99'])),
      cpu: median(r.runs.map((x) => x.cpuUsPerReq)), qps: median(r.runs.map((x) => x.qps)),
      errors: r.runs.reduce((a, x) => a + x.count - x.ok, 0), ...r };
  }
  const d = rows.direct;
  console.log(`\nfortio ${QPS} req/s fixed rate, ${CONNS} keep-alive connections, ${DURATION} s x ${RUNS} runs (median; p99 spread min-max), 1 KiB responses`);
  console.log(`proxies on cpu ${PROXY_CPU}, fortio + upstream nginx on cpu ${LOAD_CPU}; ${cpus().length} cores; sluice ${SLUICE}` +
    (SLUICE_B ? `; sluice-b ${SLUICE_B}` : ''));
  const head = ['path', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'p99 spread', '+p50/hop', '+p99/hop', 'cpu us/req', 'vCPU/1k rps', 'sat us/req', 'RSS idle', 'RSS peak', 'non-200'];
  console.log(head.map((h, i) => (i === 0 ? h.padEnd(12) : h.padStart(11))).join(' '));
  for (const [name, r] of Object.entries(rows)) {
    const added = (k) => (d && name !== 'direct' ? (r[k] - d[k]) / r.hops : NaN);
    const cells = [f(r.p50), f(r.p90), f(r.p99), f(r.p999), `${f(r.p99min, 2)}-${f(r.p99max, 2)}`,
      f(added('p50')), f(added('p99')), f(r.cpu, 1), f(r.cpu / 1000, 3), r.sat ? f(r.sat.cpuUsPerReq, 1) : '-',
      r.rssIdle ? `${(r.rssIdle / 1024).toFixed(1)}M` : '-',
      r.rssPeak ? `${(r.rssPeak / 1024).toFixed(1)}M` : '-', String(r.errors)];
    console.log([name.padEnd(12), ...cells.map((c) => c.padStart(11))].join(' '));
  }
  for (const mine of ['sluice', 'sluice-b']) {
    const s = rows[mine];
    if (!s || !d) continue;
    for (const peer of ['haproxy', 'nginx', ...(mine === 'sluice-b' ? ['sluice'] : [])]) {
      const p = rows[peer];
      if (!p) continue;
      console.log(`${mine}/${peer}: added p99 ${f((s.p99 - d.p99) / (p.p99 - d.p99), 2)}x, cpu/req ${f(s.cpu / p.cpu, 2)}x` +
        (s.sat && p.sat ? `, cpu/req at saturation ${f(s.sat.cpuUsPerReq / p.sat.cpuUsPerReq, 2)}x` : '') +
        `, RSS peak ${f(s.rssPeak / p.rssPeak, 2)}x`);
    }
  }
  reportSyscalls(results);
}

main().then(() => process.exit(0), (e) => { console.error(`fixed_rate: ${e.message}`); process.exit(1); });
