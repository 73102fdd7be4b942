#!/usr/bin/env node
// Registry change -> routing: an instance is added to (then removed from) a service in the
// registry, and the time until the sidecar's routing view (/config_dump) shows (then drops) it is
// taken, BENCH_CHANGES times per registry adapter, p50/p99 reported. The registries: Sluice's
// embedded Nacos server watched over HTTP v1 and over gRPC, its embedded Eureka and Consul
// servers, and Debian's real ZooKeeper (Curator-format znodes). The sidecar runs each adapter with
// its default timings (Nacos v1 polls every 500 ms, Eureka every 300 ms; Nacos gRPC pushes;
// Consul uses blocking queries; ZooKeeper watches).
//
//   bench/registry_change.mjs [path/to/sluice]
//
// Knobs (env): BENCH_CHANGES (50), BENCH_ONLY (space-separated subset of
// "nacos-http nacos-grpc eureka consul zookeeper"). Needs tests/e2e's npm packages (`npm ci` in
// tests/e2e, as scripts/install-deps.sh does) for the ZooKeeper client. Not a test: nothing
// asserts. Loopback only; the added instances are never dialled.
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as e2e from '../tests/e2e/lib/index.mjs';
import { connectZooKeeper } from '../tests/e2e/lib/curator.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SLUICE = resolve(process.argv[2] || process.env.SLUICE_BIN || join(here, '../build/sluice'));
process.env.SLUICE_BIN = SLUICE;
const CHANGES = Number(process.env.BENCH_CHANGES || 50);
const ONLY = (process.env.BENCH_ONLY || 'nacos-http nacos-grpc eureka consul zookeeper').split(/\s+/);
const SERVICE = 'bench-svc';
const IP = '127.0.0.11';

async function startRegistry(protocol) {
  const proc = await e2e.startSluice(['registry', '--protocol', protocol, '--listen', '127.0.0.1:0',
    ...(protocol === 'nacos' ? ['--data-dir', e2e.makeTempDir('sluice-bench-reg-')] : []),
    ...(protocol === 'consul' ? ['--consul-data-dir', e2e.makeTempDir('sluice-bench-reg-')] : [])],
  { readyLine: /listening on .*\n/ });
  const m = proc.stdout.match(/listening on 127\.0\.0\.1:(\d+)/);
  // With --listen port 0 the Nacos gRPC port is a free one, not the HTTP port + 1000.
  const g = proc.stdout.match(/grpc on 127\.0\.0\.1:(\d+)/);
  return { proc, port: Number(m[1]), grpcPort: g ? Number(g[1]) : 0 };
}

const http = (port, method, path, body, type = 'application/json') =>
  e2e.request({ port, method, path, body, headers: body ? { 'content-type': type } : {} });

function expectOk(r, what) {
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status} ${r.body}`);
}

// Per adapter: { url (the sidecar's --registry), add(port), remove(port), stop() }.
const adapters = {
  async 'nacos-http'() { return nacos('http'); },
  async 'nacos-grpc'() { return nacos('grpc'); },
  async eureka() {
    const { port } = await startRegistry('eureka');
    const id = (p) => `${IP}:${SERVICE}:${p}`;
    return {
      url: `eureka://127.0.0.1:${port}/eureka`,
      add: async (p) => expectOk(await http(port, 'POST', `/eureka/apps/${SERVICE.toUpperCase()}`, JSON.stringify({
        instance: { instanceId: id(p), app: SERVICE.toUpperCase(), hostName: IP, ipAddr: IP,
          port: { $: p, '@enabled': 'true' }, vipAddress: SERVICE, status: 'UP',
          dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
          leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 3600 } },
      })), 'eureka register'),
      remove: async (p) => expectOk(await http(port, 'DELETE', `/eureka/apps/${SERVICE.toUpperCase()}/${id(p)}`), 'eureka cancel'),
    };
  },
  async consul() {
    const { port } = await startRegistry('consul');
    return {
      url: `consul://127.0.0.1:${port}`,
      add: async (p) => expectOk(await http(port, 'PUT', '/v1/agent/service/register',
        JSON.stringify({ Name: SERVICE, ID: `${SERVICE}-${p}`, Address: IP, Port: p })), 'consul register'),
      remove: async (p) => expectOk(await http(port, 'PUT', `/v1/agent/service/deregister/${SERVICE}-${p}`), 'consul deregister'),
    };
  },
  async zookeeper() {
    const skip = e2e.zookeeperSkipReason();
    if (skip) throw new Error(skip);
    const zk = await e2e.startZooKeeper();
    const client = await connectZooKeeper(zk.connectString);
    const regs = new Map();
    return {
      url: `zookeeper://${zk.connectString}`,
      add: async (p) => { regs.set(p, await client.register({ name: SERVICE, address: IP, port: p })); },
      remove: async (p) => { await regs.get(p).deregister(); regs.delete(p); },
      stop: () => client.close(),
    };
  },
};

async function nacos(transport) {
  const { port, grpcPort } = await startRegistry('nacos');
  const q = (p) => `serviceName=${SERVICE}&ip=${IP}&port=${p}&ephemeral=false`;
  return {
    url: `nacos://127.0.0.1:${port}?transport=${transport}&grpcPort=${grpcPort}`,
    add: async (p) => expectOk(await http(port, 'POST', `/nacos/v1/ns/instance?${q(p)}`), 'nacos register'),
    remove: async (p) => expectOk(await http(port, 'DELETE', `/nacos/v1/ns/instance?${q(p)}`), 'nacos deregister'),
  };
}

// Milliseconds until the sidecar's /config_dump does (or no longer does) list IP:port.
async function timeUntil(admin, port, present) {
  const needle = `"${IP}:${port}"`;
  const t0 = process.hrtime.bigint();
  for (;;) {
    const r = await e2e.request({ port: admin.port, path: '/config_dump' });
    if (r.body.includes(needle) === present) return Number(process.hrtime.bigint() - t0) / 1e6;
    if (Number(process.hrtime.bigint() - t0) > 30e9) throw new Error(`${needle} never ${present ? 'appeared' : 'left'}`);
    await new Promise((r2) => setTimeout(r2, 2));
  }
}

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]; };

async function main() {
  const rows = [];
  for (const name of ONLY) {
    try {
      const a = await adapters[name]();
      await a.add(9000);  // the service exists before the sidecar starts
      const dir = e2e.makeTempDir('sluice-bench-cfg-');
      const proxy = await e2e.startSluice(['--log-level', 'warn', 'proxy', '--config', dir, '--listen', '127.0.0.1:0',
        '--admin', '127.0.0.1:0', '--registry', a.url]);
      const { admin } = e2e.parseProxyReady(proxy);
      await timeUntil(admin, 9000, true);
      const adds = [];
      const removes = [];
      for (let k = 1; k <= CHANGES; k++) {
        const p = 9000 + k;
        await a.add(p);
        adds.push(await timeUntil(admin, p, true));
        await a.remove(p);
        removes.push(await timeUntil(admin, p, false));
      }
      rows.push({ name, adds, removes });
      await proxy.stop?.();
      await a.stop?.();
    } catch (e) {
      rows.push({ name, error: e.message });
    }
    process.stderr.write(`registry_change: ${name} done\n`);
  }
  console.log(`\nregistry change -> sidecar routing view (/config_dump), ${CHANGES} adds + ${CHANGES} removes per adapter, ms`);
  console.log(['adapter'.padEnd(12), ...['add p50', 'add p99', 'remove p50', 'remove p99'].map((h) => h.padStart(11))].join(' '));
  for (const r of rows) {
    if (r.error) { console.log(`${r.name.padEnd(12)} failed: ${r.error}`); continue; }
    console.log([r.name.padEnd(12), ...[pct(r.adds, 50), pct(r.adds, 99), pct(r.removes, 50), pct(r.removes, 99)]
      .map((x) => x.toFixed(1).padStart(11))].join(' '));
  }
}

main().then(async () => { await e2e.cleanupAll(); process.exit(0); },
  async (e) => { console.error(`registry_change: ${e.stack}`); await e2e.cleanupAll(); process.exit(1); });
