#!/usr/bin/env node
// gRPC unary calls through each path to the same gRPC server, at a fixed rate, taken in the same
// run: CPU per call of the proxy and the latency percentiles of the calls.
//
//   direct    h2load -> gRPC server (bench/grpc_echo_server.mjs, @grpc/grpc-js)
//   sluice    h2load -> sluice proxy (h2c downstream, VirtualService match on /echo.Echo/ + subset
//             + ROUND_ROBIN, h2 upstream per the ServiceEntry's GRPC port) -> gRPC server
//   nginx     h2load -> nginx grpc_pass (1 worker) -> gRPC server
//   haproxy   h2load -> HAProxy (1 thread, proto h2 both sides) -> gRPC server
//
// The load generator is nghttp2's h2load (Debian's nghttp2-client), the well-kept HTTP/2 one: it
// sends the gRPC call (POST /echo.Echo/Say, content-type application/grpc, te: trailers, one
// length-prefixed Msg{text} as the body) at --rps per connection and logs every call's duration
// (--log-file), from which the percentiles come. Its rate is per connection with up to
// H2LOAD_STREAMS calls in flight each, so a stall delays later sends (coordinated omission): the
// p99 here is not fortio's open-loop figure. CPU per call: utime+stime of the proxy process from
// /proc/PID/stat over the measured window, divided by the calls answered.
//
//   bench/grpc_unary.mjs [path/to/sluice]
//   BENCH_DURATION=2 BENCH_RUNS=1 bench/grpc_unary.mjs   (a smoke run)
//
// Knobs (env): BENCH_QPS (1000), BENCH_CONNS (16), BENCH_DURATION seconds (30), BENCH_RUNS (3),
// BENCH_ONLY (space-separated subset), PROXY_CPU (0), LOAD_CPU (1), H2LOAD_STREAMS (4),
// BENCH_KEEP=1 keeps the work directory. Needs tests/e2e/node_modules (npm install there; the
// project's scripts/install-deps.sh does it). Not a test: nothing asserts. Loopback only.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';
import {
  benchRun, cpuSeconds, meshYaml, fmtNum as f, freePort, median, nginxConf, quantile, statusKb,
} from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const env = process.env;
const SLUICE = resolve(process.argv[2] || env.SLUICE_BIN || join(root, 'build/sluice'));
const QPS = Number(env.BENCH_QPS || 1000);
const CONNS = Number(env.BENCH_CONNS || 16);
const DURATION = Number(env.BENCH_DURATION || 30);
const RUNS = Number(env.BENCH_RUNS || 3);
const STREAMS = Number(env.H2LOAD_STREAMS || 4);
const PROXY_CPU = env.PROXY_CPU || '0';
const LOAD_CPU = env.LOAD_CPU || (cpus().length > 1 ? '1' : '0');
const ONLY = (env.BENCH_ONLY || 'direct sluice nginx haproxy').split(/\s+/);
const HOST = 'bench.grpc.local';
const METHOD = '/echo.Echo/Say';

for (const tool of ['h2load', 'nginx', 'haproxy', 'taskset']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`grpc_unary: ${tool} is missing (scripts/install-deps.sh)`);
    process.exit(1);
  }
}

const { work, startPinned, waitPort, waitOutput } = benchRun('sluice-bench-grpc-');

// The call's body: a gRPC message (uncompressed flag, 4-byte big-endian length) holding
// Msg{text: "hello"} (field 1, length-delimited).
function callBody() {
  const msg = Buffer.concat([Buffer.from([0x0a, 5]), Buffer.from('hello')]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(msg.length, 1);
  const file = join(work, 'call.bin');
  writeFileSync(file, Buffer.concat([prefix, msg]));
  return file;
}

// One h2load run; returns { count, ok, p: {50,90,99,99.9} in ms }.
function h2load(url, seconds, label, bodyFile) {
  const log = join(work, `${label}.log`);
  const rps = Math.max(1, Math.round(QPS / CONNS));
  const args = ['-c', LOAD_CPU, 'h2load', '-c', String(CONNS), '-m', String(STREAMS),
    '--rps', String(rps), '-D', String(seconds), '-d', bodyFile,
    '-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', `:authority: ${HOST}`,
    '--log-file', log, url];
  const r = spawnSync('taskset', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`h2load failed for ${label}: ${r.stderr}${r.stdout}`);
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
  const ms = lines.map((c) => Number(c[2]) / 1000).sort((a, b) => a - b);
  const ok = lines.filter((c) => c[1] === '200').length;
  const p = {};
  for (const q of [50, 90, 99, 99.9]) p[q] = quantile(ms, q / 100);
  return { count: lines.length, ok, p };
}

async function main() {
  const bodyFile = callBody();
  const server = startPinned(LOAD_CPU, process.execPath, [join(here, 'grpc_echo_server.mjs')], 'upstream');
  const up = Number((await waitOutput(server, /listening (\d+)/, 'gRPC server'))[1]);

  const paths = {};
  if (ONLY.includes('direct')) paths.direct = { url: `http://127.0.0.1:${up}${METHOD}`, pids: [] };
  if (ONLY.includes('sluice')) {
    const cfg = join(work, 'sluice', 'config');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'mesh.yaml'), meshYaml({ host: HOST, portName: 'grpc', protocol: 'GRPC', ports: [up], prefix: '/echo.Echo/' }));
    const c = startPinned(PROXY_CPU, SLUICE, ['--log-level', 'warn', 'proxy', '--config', cfg,
      '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--concurrency', '1'], 'sluice');
    const m = await waitOutput(c, /ready: listen 127\.0\.0\.1:(\d+)/, 'sluice');
    paths.sluice = { url: `http://127.0.0.1:${m[1]}${METHOD}`, pids: [c.pid] };
  }
  if (ONLY.includes('nginx')) {
    const port = await freePort();
    const dir = join(work, 'nginx');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, `  upstream grpcbackend {
    server 127.0.0.1:${up};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} http2;
    http2_max_requests 100000000;
    location /echo.Echo/ { grpc_pass grpc://grpcbackend; }
  }`));
    const c = startPinned(PROXY_CPU, 'nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], 'nginx');
    await waitPort(port, c, 'nginx');
    paths.nginx = { url: `http://127.0.0.1:${port}${METHOD}`, pids: [c.pid] };
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
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:${port} proto h2
  acl is_echo path_beg /echo.Echo/
  use_backend be if is_echo
backend be
  balance roundrobin
  server s1 127.0.0.1:${up} proto h2
`);
    const c = startPinned(PROXY_CPU, 'haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], 'haproxy');
    await waitPort(port, c, 'haproxy');
    paths.haproxy = { url: `http://127.0.0.1:${port}${METHOD}`, pids: [c.pid] };
  }

  const results = {};
  for (const [name, path] of Object.entries(paths)) {
    // A path whose calls fail measures an error path, not a proxy.
    const probe = h2load(path.url, 1, `${name}-probe`, bodyFile);
    if (probe.ok !== probe.count || probe.count === 0) {
      throw new Error(`${name}: ${probe.count - probe.ok} of ${probe.count} probe calls were not 200`);
    }
    const rssIdle = path.pids.reduce((a, pid) => a + statusKb(pid, 'VmRSS'), 0);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const before = path.pids.map(cpuSeconds);
      const r = h2load(path.url, DURATION, `${name}-run${i}`, bodyFile);
      const cpu = path.pids.map(cpuSeconds).reduce((a, v, k) => a + v - before[k], 0);
      runs.push({ ...r, cpuUsPerCall: path.pids.length ? (cpu * 1e6) / r.count : NaN });
    }
    const rssPeak = path.pids.reduce((a, pid) => a + statusKb(pid, 'VmHWM'), 0);
    results[name] = { runs, rssIdle, rssPeak };
    process.stderr.write(`grpc_unary: ${name} done\n`);
  }
  report(results);
}

function report(results) {
  const rows = {};
  for (const [name, r] of Object.entries(results)) {
    const pick = (k) => median(r.runs.map((x) => x.p[k]));
    rows[name] = { p50: pick(50), p90: pick(90), p99: pick(99), p999: pick(99.9),
      cpu: median(r.runs.map((x) => x.cpuUsPerCall)),
      calls: median(r.runs.map((x) => x.count)),
      errors: r.runs.reduce((a, x) => a + x.count - x.ok, 0), ...r };
  }
  const d = rows.direct;
  console.log(`\nh2load gRPC unary ${METHOD}, ${QPS} calls/s fixed rate (${CONNS} connections, up to ${STREAMS} calls in flight each), ${DURATION} s x ${RUNS} runs (median)`);
  console.log(`proxies on cpu ${PROXY_CPU}, h2load + gRPC server on cpu ${LOAD_CPU}; ${cpus().length} cores; sluice ${SLUICE}`);
  const head = ['path', 'calls/run', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', '+p50', '+p99', 'cpu us/call', 'RSS idle', 'RSS peak', 'non-200'];
  console.log(head.map((h, i) => (i === 0 ? h.padEnd(10) : h.padStart(11))).join(' '));
  for (const [name, r] of Object.entries(rows)) {
    const added = (k) => (d && name !== 'direct' ? r[k] - d[k] : NaN);
    const cells = [String(r.calls), f(r.p50), f(r.p90), f(r.p99), f(r.p999), f(added('p50')),
      f(added('p99')), f(r.cpu, 1), r.rssIdle ? `${(r.rssIdle / 1024).toFixed(1)}M` : '-',
      r.rssPeak ? `${(r.rssPeak / 1024).toFixed(1)}M` : '-', String(r.errors)];
    console.log([name.padEnd(10), ...cells.map((c) => c.padStart(11))].join(' '));
  }
  const s = rows.sluice;
  if (s) {
    for (const peer of ['haproxy', 'nginx']) {
      const p = rows[peer];
      if (!p) continue;
      console.log(`sluice/${peer}: cpu/call ${f(s.cpu / p.cpu, 2)}x` +
        (d ? `, added p99 ${f((s.p99 - d.p99) / (p.p99 - d.p99), 2)}x` : '') +
        `, RSS peak ${f(s.rssPeak / p.rssPeak, 2)}x`);
    }
  }
}

main().then(() => process.exit(0), (e) => { console.error(`grpc_unary: ${e.message}`); process.exit(1); });
