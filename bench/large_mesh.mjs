#!/usr/bin/env node
// Memory and CPU of one sidecar as the mesh grows (Istio's well-known pain: every sidecar holds
// the whole mesh). A Nacos registry (`sluice registry`) holds BENCH_SERVICES services x
// BENCH_INSTANCES instances, the sidecar's config directory holds BENCH_RESOURCES
// VirtualServices and as many DestinationRules, and the sidecar's workload uses 10 of the
// services. Reported: the time until the sidecar's view holds the whole registry, its RSS idle
// before and after the mesh loads and after traffic to the 10 services, its /config_dump size, and
// the CPU it burns per second while nothing changes (registry polling).
//
//   bench/large_mesh.mjs [path/to/sluice]
//   BENCH_SERVICES=1000 bench/large_mesh.mjs          (a smaller mesh)
//   BENCH_SIDECAR=1 bench/large_mesh.mjs              (an Istio Sidecar lists the 10 used services)
//   BENCH_LOAD=on-demand bench/large_mesh.mjs         (no Sidecar; --load-services=on-demand)
//
// With BENCH_SIDECAR=1 the config also holds a Sidecar whose egress.hosts are the 10 services the
// workload uses, as Istio recommends for large meshes: the sidecar then subscribes to and builds
// only those, and "loaded" means those 10 route (the rest of the registry is never in its view).
// With BENCH_LOAD=on-demand (and no Sidecar) the sidecar loads each service on its first request:
// "loaded" means the 10 route, and the slowest of those cold first requests is reported.
//
// Knobs (env): BENCH_SERVICES (10000), BENCH_INSTANCES (3), BENCH_RESOURCES (2000),
// BENCH_TRANSPORT (auto | http | grpc: the sidecar's Nacos transport), BENCH_IDLE_SECONDS (10),
// BENCH_KEEP=1 keeps the work directory. Not a test: nothing asserts. Loopback only; the
// instances of unused services carry 127.1.x.y addresses that nothing ever dials.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { sleep, cpuSeconds, statusKb } from './lib.mjs';
import { Agent, request } from 'node:http';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const env = process.env;
const SLUICE = resolve(process.argv[2] || env.SLUICE_BIN || join(root, 'build/sluice'));
const SERVICES = Number(env.BENCH_SERVICES || 10000);
const INSTANCES = Number(env.BENCH_INSTANCES || 3);
const RESOURCES = Number(env.BENCH_RESOURCES || 2000);
const TRANSPORT = env.BENCH_TRANSPORT || 'auto';
const IDLE_SECONDS = Number(env.BENCH_IDLE_SECONDS || 10);
const USED = 10;
const SIDECAR = env.BENCH_SIDECAR === '1';
const ON_DEMAND = env.BENCH_LOAD === 'on-demand';

const work = mkdtempSync(join(tmpdir(), 'sluice-bench-mesh-'));
const children = [];
process.on('exit', () => {
  for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
  if (!env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

function start(args, name) {
  const child = spawn(SLUICE, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.out = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.out += d; });
  child.on('exit', () => writeFileSync(join(work, `${name}.log`), child.out));
  children.push(child);
  return child;
}
async function waitFor(child, re, what, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = child.out.match(re);
    if (m) return m;
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`${what} not ready:\n${child.out.slice(-2000)}`);
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });
function http(method, host, port, path, { proxy } = {}) {
  return new Promise((res, rej) => {
    const opts = proxy
      ? { host: '127.0.0.1', port: proxy, path: `http://${host}${path}`, headers: { host } }
      : { host, port, path };
    const req = request({ ...opts, method, agent, timeout: 30000 }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => { body += d; });
      r.on('end', () => res({ status: r.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
    req.end();
  });
}

// Runs fn(i) for i < n with `width` in flight.
async function pool(n, width, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) { const i = next++; await fn(i); }
  }));
}

const svc = (i) => `svc-${String(i).padStart(5, '0')}`;

async function main() {
  const upstream = createServer((req, res) => res.end('ok\n'));
  await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
  const upPort = upstream.address().port;

    // Ephemeral instances with beat timeouts long enough for the run: persistent ones are written
  // through to disk one by one, which would make registering 30,000 take minutes.
  const day = '86400000';
  const registry = start(['registry', '--listen', '127.0.0.1:0', '--data-dir', join(work, 'data'),
    '--beat-timeout-ms', day, '--delete-timeout-ms', day], 'registry');
  const [, regPort] = await waitFor(registry, /listening on 127\.0\.0\.1:(\d+)/, 'registry');
  // With --listen port 0 the gRPC port is a free one, not the HTTP port + 1000: tell the sidecar.
  const [, grpcPort] = await waitFor(registry, /grpc on 127\.0\.0\.1:(\d+)/, 'registry gRPC');

  let t0 = Date.now();
  await pool(SERVICES * INSTANCES, 16, async (k) => {
    const i = Math.floor(k / INSTANCES);
    const j = k % INSTANCES;
    // The used services' instances are the local upstream (distinct ports are not needed: one
    // instance per used service is enough to route); the rest never get dialled.
    // The last service routes too: a request to it answering 200 tells that the whole registry
    // is in the sidecar's view, without polling the large /config_dump (whose JSON would weigh
    // on the very memory measured here).
    const used = i < USED || i === SERVICES - 1;
    const ip = used ? '127.0.0.1' : `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`;
    const port = used ? upPort : 8080 + j;
    if (used && j > 0) return;
    const q = `serviceName=${svc(i)}&ip=${ip}&port=${port}&ephemeral=true&metadata=${encodeURIComponent(JSON.stringify({ version: `v${j + 1}` }))}`;
    const r = await http('POST', '127.0.0.1', regPort, `/nacos/v1/ns/instance?${q}`);
    if (r.status !== 200) throw new Error(`register ${svc(i)}: ${r.status} ${r.body}`);
  });
  const registerSeconds = (Date.now() - t0) / 1000;

  const cfg = join(work, 'config');
  mkdirSync(cfg, { recursive: true });
  for (let i = 0; i < RESOURCES; i++) {
    const host = `${svc(i)}.default.svc.cluster.local`;
    writeFileSync(join(cfg, `${svc(i)}.yaml`), `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: ${svc(i)}, namespace: default}
spec:
  host: ${host}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ${svc(i)}, namespace: default}
spec:
  hosts: [${host}]
  http:
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: ${host}, subset: v2}}]
  - route: [{destination: {host: ${host}, subset: v1}}]
`);
  }

  if (SIDECAR) {
    const hosts = Array.from({ length: USED }, (_, i) => `    - ./${svc(i)}.default.svc.cluster.local`);
    writeFileSync(join(cfg, 'sidecar.yaml'), `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  egress:
  - hosts:
${hosts.join('\n')}
`);
  }

  t0 = Date.now();
  const proxy = start(['--log-level', 'warn', 'proxy', '--config', cfg, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1', ...(ON_DEMAND ? ['--load-services', 'on-demand'] : []),
    '--registry', `nacos://127.0.0.1:${regPort}?transport=${TRANSPORT}&grpcPort=${grpcPort}`], 'proxy');
  const [, listen, admin] = await waitFor(proxy, /ready: listen 127\.0\.0\.1:(\d+) admin 127\.0\.0\.1:(\d+)/, 'proxy', 120000);
  const readySeconds = (Date.now() - t0) / 1000;
  const lastHost = `${svc(SERVICES - 1)}.default.svc.cluster.local`;
  let loaded = false;
  let coldMs = 0;  // the slowest first request of the 10 (on-demand: each loads its service)
  const usedRoute = async () => {
    for (let i = 0; i < USED; i++) {
      const started = Date.now();
      const r = await http('GET', `${svc(i)}.default.svc.cluster.local`, 80, '/x', { proxy: listen });
      if (r.status !== 200) return false;
      coldMs = Math.max(coldMs, Date.now() - started);
    }
    return true;
  };
  for (const end = Date.now() + 600000; Date.now() < end && !loaded;) {
    loaded = SIDECAR || ON_DEMAND ? await usedRoute()
      : (await http('GET', lastHost, 80, '/x', { proxy: listen })).status === 200;
    if (!loaded) await sleep(200);
  }
  const loadedSeconds = (Date.now() - t0) / 1000;
  await sleep(2000);  // the trim after the last snapshot change (1 s) has run: RSS settles
  const rssLoaded = statusKb(proxy.pid, 'VmRSS');

  let failures = 0;
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < USED; i++) {
      const r = await http('GET', `${svc(i)}.default.svc.cluster.local`, 80, '/x', { proxy: listen });
      if (r.status !== 200) failures++;
    }
  }
  const rssTraffic = statusKb(proxy.pid, 'VmRSS');
  const cpu0 = cpuSeconds(proxy.pid);
  await sleep(IDLE_SECONDS * 1000);  // measuring idle CPU: the wait is the measurement window
  const idleCpu = (cpuSeconds(proxy.pid) - cpu0) / IDLE_SECONDS;
  const hwm = statusKb(proxy.pid, 'VmHWM');
  const dump = (await http('GET', '127.0.0.1', admin, '/config_dump')).body;
  const regRss = statusKb(registry.pid, 'VmRSS');

  console.log(`\nlarge mesh: ${SERVICES} services x ${INSTANCES} instances in a Nacos registry (sluice registry), ` +
    `${RESOURCES} VirtualServices + ${RESOURCES} DestinationRules, the workload uses ${USED}; transport ${TRANSPORT}` +
    (SIDECAR ? `; a Sidecar lists the ${USED} (egress.hosts)` : '') +
    (ON_DEMAND && !SIDECAR ? '; no Sidecar, --load-services=on-demand' : ''));
  console.log(`registering took ${registerSeconds.toFixed(1)} s; registry RSS ${(regRss / 1024).toFixed(1)} MiB`);
  const what = SIDECAR || ON_DEMAND ? `the ${USED} used services routable` : 'whole registry in its view';
  console.log(`sidecar ready after ${readySeconds.toFixed(1)} s; ${what} after ${loadedSeconds.toFixed(1)} s${loaded ? '' : ' (NOT loaded within 600 s)'}`);
  console.log(`sidecar RSS: ${(rssLoaded / 1024).toFixed(1)} MiB loaded, ${(rssTraffic / 1024).toFixed(1)} MiB after traffic to ${USED} services (${failures} of ${20 * USED} requests failed), peak ${(hwm / 1024).toFixed(1)} MiB`);
  if (ON_DEMAND) console.log(`slowest cold first request (loads its service): ${coldMs} ms`);
  console.log(`/config_dump: ${(dump.length / 1048576).toFixed(1)} MiB (${Math.round(dump.length / 1024)} KiB); idle CPU ${(idleCpu * 100).toFixed(1)} % of a core over ${IDLE_SECONDS} s with no changes`);
  upstream.close();
  // A graceful stop (SIGTERM, bounded), so a wrapper such as valgrind's massif writes its output.
  for (const c of children) c.kill('SIGTERM');
  await Promise.race([Promise.all(children.map((c) => (c.exitCode !== null ? null
    : new Promise((r) => c.once('exit', r))))), sleep(30000)]);
}

main().then(() => process.exit(0), (e) => { console.error(`large_mesh: ${e.message}`); process.exit(1); });
