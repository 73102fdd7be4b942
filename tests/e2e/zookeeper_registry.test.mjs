// `sluice proxy --registry zookeeper://...` against Debian's real ZooKeeper 3.8, with instances
// registered in Curator's service-discovery layout (what Spring Cloud Zookeeper writes) by the
// `node-zookeeper-client` npm package. Requests go through the proxy to loopback upstreams.
//
// Covers: routing and labels from payload.metadata, watch latency (create/delete -> routing,
// printed), a bad payload skipped with a warning naming its znode, ZooKeeper restarted under
// traffic, a forced session expiry under traffic (a relay between sluice and ZooKeeper cut for
// longer than the session timeout), a multi-server connect string, and the seed's rules.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { startZooKeeper, zookeeperSkipReason } from './lib/zookeeper.mjs';
import { connectZooKeeper } from './lib/curator.mjs';

const skipReason = zookeeperSkipReason();
const skip = skipReason ?? false;
const SERVICE = 'service-provider';
const FQDN = `${SERVICE}.default.svc.cluster.local`;
// Short enough to expire within the test, long enough for a loaded machine (server: 2..20 ticks).
const SLUICE_SESSION_MS = 2_000;

let zk;
let relay;
let registrar;
let configDir;
let sidecar;
let listen;
let admin;
const ups = {};
const regs = {};

// A TCP relay sluice reaches ZooKeeper through, so a test can cut sluice off (and only sluice)
// for longer than its session timeout while the server and the registering client stay up.
async function startRelay(targetPort) {
  const sockets = new Set();
  let blocked = false;
  const server = net.createServer((down) => {
    if (blocked) { down.destroy(); return; }
    const up = net.connect(targetPort, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    down.pipe(up);
    up.pipe(down);
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() { blocked = true; for (const s of sockets) s.destroy(); },
    restore() { blocked = false; },
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(resolve); }),
  };
}

// The endpoints /clusters shows for the service: ['127.0.0.1:PORT label=v1', ...], sorted.
async function endpoints(adminPort = admin.port) {
  const r = await e2e.request({ port: adminPort, path: '/clusters' });
  const out = [];
  const prefix = `outbound|||${FQDN}::`;
  for (const line of r.body.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const m = line.slice(prefix.length).match(/^([\d.]+:\d+)::labels::(.*)$/);
    if (m) out.push(`${m[1]} ${m[2]}`);
  }
  return out.sort();
}

function ep(up, label) {
  return `${up.address} instance_status=UP,label=${label}`;
}

async function waitEndpoints(want, { adminPort, timeoutMs = 10_000 } = {}) {
  const sorted = [...want].sort();
  let last;
  try {
    await e2e.waitFor(async () => {
      last = await endpoints(adminPort);
      return JSON.stringify(last) === JSON.stringify(sorted);
    }, { timeoutMs, intervalMs: 10, what: `endpoints ${sorted.join(', ')}` });
  } catch (e) {
    throw new Error(`${e.message}; last seen: ${JSON.stringify(last)}\n${sidecar.describe()}`);
  }
}

function call(path) {
  return e2e.proxyRequest(listen, `http://${SERVICE}${path}`, { timeoutMs: 5_000 });
}

// Sequential requests through the proxy until stopped (bounded in count and time); every one
// must be answered 200 by an upstream.
function trafficLoop({ maxRequests = 20_000, maxMs = 90_000 } = {}) {
  let stopping = false;
  const result = { ok: 0, failed: 0, errors: [], by: {} };
  const started = Date.now();
  const done = (async () => {
    while (!stopping && result.ok + result.failed < maxRequests && Date.now() - started < maxMs) {
      try {
        const r = await call('/echo/traffic');
        const name = e2e.who(r);
        if (r.status === 200 && name) {
          result.ok += 1;
          result.by[name] = (result.by[name] ?? 0) + 1;
        } else {
          result.failed += 1;
          result.errors.push(`${r.status} ${r.body.slice(0, 200)}`);
        }
      } catch (e) {
        result.failed += 1;
        result.errors.push(e.message);
      }
    }
    return result;
  })();
  return { stop: () => { stopping = true; return done; } };
}

function seed(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

before(async () => {
  if (skipReason) return;
  zk = await startZooKeeper({ tickTime: 1_000 });
  relay = await startRelay(zk.port);
  registrar = await connectZooKeeper(zk.connectString, { sessionTimeout: 20_000 });
  ups.v1 = await e2e.startUpstream('v1');
  ups.v2 = await e2e.startUpstream('v2');
  ups.v3 = await e2e.startUpstream('v3');
  // v1 and v2 are PERSISTENT registrations (Curator's STATIC service type), so they do not depend
  // on the registering client's session: after a ZooKeeper restart node-zookeeper-client 1.1.3
  // sometimes never gets its session back (its operations stay unanswered), and its ephemeral
  // nodes would then go with it. v3 comes and goes as EPHEMERAL nodes (Spring's default).
  regs.v1 = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v1.port, metadata: { label: 'v1' }, ephemeral: false });
  regs.v2 = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v2.port, metadata: { label: 'v2' }, ephemeral: false });
  configDir = e2e.makeTempDir('sluice-zk-mesh-');
  sidecar = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1',
    '--registry', `zookeeper://127.0.0.1:${relay.port}?sessionTimeoutMs=${SLUICE_SESSION_MS}`],
  { name: 'sidecar' });
  ({ listen, admin } = e2e.parseProxyReady(sidecar));
});

after(async () => {
  if (registrar) await registrar.close();
  if (relay) await relay.close();
  await e2e.cleanupAll();
});

test('Curator-layout instances route, with payload.metadata as labels', { skip, timeout: 120_000 }, async () => {
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
  const seen = {};
  for (let i = 0; i < 10; ++i) {
    const r = await call('/echo/world');
    assert.equal(r.status, 200, r.body);
    seen[e2e.who(r)] = (seen[e2e.who(r)] ?? 0) + 1;
  }
  assert.deepEqual(seen, { v1: 5, v2: 5 }, 'round robin over both registered instances');
  await e2e.waitFor(async () => {
    const clusters = await e2e.request({ port: admin.port, path: '/clusters' });
    return /registry::zookeeper:\/\/127\.0\.0\.1:\d+\?sessionTimeoutMs=2000::reachable::true/.test(clusters.body);
  }, { what: '/clusters to report the registry reachable' });
});

test('watch latency: a created or deleted instance reaches routing well under a second', { skip, timeout: 120_000 }, async () => {
  // Measured from the write's acknowledgement (ZooKeeper sends watch events when it commits);
  // the write itself (an fsync of ZooKeeper's log) is reported apart.
  const created = [];
  const deleted = [];
  const writes = [];
  for (let round = 0; round < 5; ++round) {
    let w0 = performance.now();
    const reg = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v3.port, metadata: { label: 'v3' } });
    let t0 = performance.now();
    writes.push(t0 - w0);
    await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2'), ep(ups.v3, 'v3')]);
    created.push(performance.now() - t0);
    w0 = performance.now();
    await reg.deregister();
    t0 = performance.now();
    writes.push(t0 - w0);
    await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
    deleted.push(performance.now() - t0);
  }
  const fmt = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return `median ${s[Math.floor(s.length / 2)].toFixed(1)} ms, max ${s[s.length - 1].toFixed(1)} ms`;
  };
  console.log(`zookeeper watch latency (write acknowledged -> /clusters), 5 rounds: created ${fmt(created)}; deleted ${fmt(deleted)}; the writes themselves ${fmt(writes)}`);
  assert.ok(Math.max(...created, ...deleted) < 1_000, `created ${created}, deleted ${deleted}`);
  // And the routing itself follows: v3 gets traffic while registered.
  const reg = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v3.port, metadata: { label: 'v3' } });
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2'), ep(ups.v3, 'v3')]);
  const before3 = ups.v3.count();
  for (let i = 0; i < 6; ++i) assert.equal((await call('/echo/x')).status, 200);
  assert.equal(ups.v3.count() - before3, 2);
  await reg.deregister();
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
});

test('a payload that is not JSON or lacks address/port is skipped with a warning naming the znode', { skip, timeout: 120_000 }, async () => {
  const notJson = await registrar.register({ name: SERVICE, id: 'not-json', data: '127.0.0.1:9' });
  const noPort = await registrar.register({ name: SERVICE, id: 'no-port', data: '{"address":"127.0.0.1","payload":null}' });
  const noAddress = await registrar.register({ name: SERVICE, id: 'no-address', data: '{"port":9}' });
  await sidecar.waitForLine(/skipping instance znode \/services\/service-provider\/not-json: payload is not JSON/, { stream: 'stderr' });
  await sidecar.waitForLine(/skipping instance znode \/services\/service-provider\/no-port: no 'port'/, { stream: 'stderr' });
  await sidecar.waitForLine(/skipping instance znode \/services\/service-provider\/no-address: no 'address'/, { stream: 'stderr' });
  assert.deepEqual(await endpoints(), [ep(ups.v1, 'v1'), ep(ups.v2, 'v2')].sort());
  for (let i = 0; i < 4; ++i) assert.equal((await call('/echo/x')).status, 200);
  // Fixed in place, it joins.
  await registrar.setData(noPort.path, JSON.stringify({ address: '127.0.0.1', port: ups.v3.port, payload: { metadata: { label: 'v3' } } }));
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2'), `${ups.v3.address} label=v3`]);
  for (const r of [notJson, noPort, noAddress]) await r.deregister();
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
});

test('ZooKeeper restarted under traffic: routing keeps the last view, recovers, no request lost', { skip, timeout: 120_000 }, async () => {
  const traffic = trafficLoop();
  await e2e.waitFor(() => ups.v1.count() > 0 && ups.v2.count() > 0, { what: 'traffic flowing' });
  const lostMark = sidecar.stderr.length;
  const t0 = performance.now();
  await zk.restart();
  const restartMs = performance.now() - t0;
  assert.ok(sidecar.stderr.slice(lostMark).includes('connection lost'), 'sluice noticed the outage');
  // Back: the watcher reconnects (same session, or a new one if it expired meanwhile) and
  // re-reads; a change made now is seen, so its watches are armed again.
  await e2e.waitFor(() => /reconnected \(session|new session/.test(sidecar.stderr.slice(lostMark)),
    { timeoutMs: 30_000, what: 'sluice to reconnect' });
  const recoveredMs = performance.now() - t0;
  // A new registering client (see before(): the old one may never come back).
  registrar.close();
  registrar = await connectZooKeeper(zk.connectString, { sessionTimeout: 20_000 });
  const reg = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v3.port, metadata: { label: 'v3' } });
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2'), ep(ups.v3, 'v3')]);
  await reg.deregister();
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
  const result = await traffic.stop();
  console.log(`zookeeper restart: server down+up ${restartMs.toFixed(0)} ms, sluice reconnected after ${recoveredMs.toFixed(0)} ms; ${result.ok} requests, ${result.failed} failed`);
  assert.equal(result.failed, 0, result.errors.slice(0, 5).join('\n'));
  assert.ok(result.ok > 20, `traffic ran (${result.ok})`);
});

test('forced session expiry under traffic: the last view stays, a new session re-reads, no request lost', { skip, timeout: 120_000 }, async () => {
  const m = sidecar.stderr.match(/(?:connected|reconnected|new session)[^\n]*?(0x[0-9a-f]+)/g);
  const sessionId = m[m.length - 1].match(/0x[0-9a-f]+/)[0];
  const traffic = trafficLoop();
  await e2e.waitFor(() => ups.v1.count() > 0, { what: 'traffic flowing' });
  const mark = sidecar.stderr.length;
  const zkMark = zk.proc.stderr.length;
  relay.cut();
  // The server expires the session once it has not heard from sluice for its timeout.
  await e2e.waitFor(() => zk.proc.stderr.slice(zkMark).includes(`Expiring session ${sessionId}`),
    { timeoutMs: 20_000, what: `ZooKeeper to expire ${sessionId}` });
  // Meanwhile the view stays (and is served).
  assert.deepEqual(await endpoints(), [ep(ups.v1, 'v1'), ep(ups.v2, 'v2')].sort());
  // A change sluice cannot see yet: found by the new session's full read.
  const reg = await registrar.register({ name: SERVICE, address: '127.0.0.1', port: ups.v3.port, metadata: { label: 'v3' } });
  relay.restore();
  await sidecar.waitForLine(new RegExp(`session ${sessionId} expired; opening a new session`), { stream: 'stderr', timeoutMs: 30_000 });
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2'), ep(ups.v3, 'v3')], { timeoutMs: 30_000 });
  assert.match(sidecar.stderr.slice(mark), /new session 0x[0-9a-f]+; reading the tree again/);
  // The new session's watches work.
  await reg.deregister();
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')]);
  const result = await traffic.stop();
  console.log(`zookeeper session expiry: ${result.ok} requests, ${result.failed} failed`);
  assert.equal(result.failed, 0, result.errors.slice(0, 5).join('\n'));
});

test('multi-server connect string: a dead first server is skipped', { skip, timeout: 120_000 }, async () => {
  const dead = await e2e.freePort();
  const other = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1',
    '--registry', `zookeeper://127.0.0.1:${dead},127.0.0.1:${zk.port}/services`], { name: 'sidecar-2' });
  const { admin: admin2 } = e2e.parseProxyReady(other);
  await waitEndpoints([ep(ups.v1, 'v1'), ep(ups.v2, 'v2')], { adminPort: admin2.port, timeoutMs: 20_000 });
  await other.stop();
});

test("the seed's DestinationRule and VirtualService apply to ZooKeeper instances", { skip, timeout: 120_000 }, async () => {
  e2e.writeAtomic(configDir, 'service-provider.yaml', seed('service-provider.yaml'));
  e2e.writeAtomic(configDir, 'service-provider-vs.yaml', seed('service-provider-vs.yaml'));
  await e2e.waitFor(async () => {
    const rs = await Promise.all([call('/echo/hello'), call('/echo/hello'), call('/echo/world'), call('/echo/world')]);
    return rs.map(e2e.who).join() === 'v1,v1,v2,v2';
  }, { what: 'the seed rules to apply' });
  for (let i = 0; i < 6; ++i) {
    assert.equal(e2e.who(await call('/echo/hello')), 'v1');
    assert.equal(e2e.who(await call('/echo/world')), 'v2');
  }
});
