// `sluice registry` against the OFFICIAL Nacos Node SDK (npm `nacos`, naming over HTTP v1) and
// the demo applications: the embedded registry must be a drop-in Nacos for real clients.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { NacosNamingClient } from 'nacos';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const READY = /sluice registry listening on (\S+):(\d+)\n/;

// The SDK logs through this; warnings/errors are kept for failure messages.
function sdkLogger() {
  const seen = [];
  const keep = (level) => (...args) => seen.push(`${level}: ${args.map(String).join(' ')}`);
  return { seen, info() {}, debug() {}, log() {}, warn: keep('warn'), error: keep('error') };
}

async function startRegistry({ dataDir = e2e.makeTempDir('sluice-nacos-'), flags = [] } = {}) {
  const proc = await e2e.startSluice(
    ['registry', '--listen', '127.0.0.1:0', '--data-dir', dataDir, ...flags],
    { name: 'sluice registry', readyLine: READY });
  const port = Number(proc.ready[2]);
  return { proc, dataDir, port, addr: `127.0.0.1:${port}` };
}

const clients = [];
after(async () => { await Promise.all(clients.map((c) => c.close().catch(() => {}))); });

async function sdkClient(addr, namespace) {
  const logger = sdkLogger();
  const options = { logger, serverList: addr };
  if (namespace !== undefined) options.namespace = namespace;
  const client = new NacosNamingClient(options);
  await client.ready();
  clients.push(client);
  return client;
}

// What the registry holds, asked directly (not through an SDK cache).
async function listRaw(registry, service, { namespace = 'public', clusters = '' } = {}) {
  const q = new URLSearchParams({ serviceName: `DEFAULT_GROUP@@${service}`, namespaceId: namespace, clusters });
  const r = await e2e.request({ port: registry.port, path: `/nacos/v1/ns/instance/list?${q}`,
    headers: { 'accept-encoding': 'gzip,deflate,sdch' } });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['content-encoding'], undefined, 'the Node SDK cannot decode gzip');
  return JSON.parse(r.body);
}

function byIp(hosts) {
  return [...hosts].sort((a, b) => a.ip.localeCompare(b.ip));
}

test('register, list, select, service list and deregister in namespace public', async () => {
  const registry = await startRegistry();
  const client = await sdkClient(registry.addr, 'public');
  assert.equal(await client.getServerStatus(), 'UP');

  await client.registerInstance('sdk-svc', {
    ip: '10.0.0.11', port: 8070, metadata: { label: 'v1', version: 'v1' },
  });
  await client.registerInstance('sdk-svc', {
    ip: '10.0.0.12', port: 8070, healthy: false, metadata: { label: 'v2' },
  });

  const all = byIp(await client.getAllInstances('sdk-svc'));
  assert.equal(all.length, 2);
  assert.equal(all[0].ip, '10.0.0.11');
  assert.equal(all[0].port, 8070);
  assert.deepEqual(all[0].metadata, { label: 'v1', version: 'v1' });
  assert.equal(all[0].instanceId, '10.0.0.11#8070#DEFAULT#DEFAULT_GROUP@@sdk-svc');
  assert.equal(all[0].serviceName, 'DEFAULT_GROUP@@sdk-svc');
  assert.equal(all[1].healthy, false);

  const healthy = await client.selectInstances('sdk-svc');
  assert.deepEqual(healthy.map((h) => h.ip), ['10.0.0.11']);
  const unhealthy = await client.selectInstances('sdk-svc', 'DEFAULT_GROUP', '', false);
  assert.deepEqual(unhealthy.map((h) => h.ip), ['10.0.0.12']);

  // The SDK's server proxy is what `getServiceList` callers use.
  const services = await client._serverProxy.getServiceList(1, 10, 'DEFAULT_GROUP');
  assert.equal(services.count, 1);
  assert.deepEqual(services.data, ['sdk-svc']);

  // deregisterInstance sends the UNgrouped name; the registry must still find the instance.
  await client.deregisterInstance('sdk-svc', { ip: '10.0.0.12', port: 8070 });
  const raw = await listRaw(registry, 'sdk-svc');
  assert.deepEqual(raw.hosts.map((h) => h.ip), ['10.0.0.11']);
  await client.deregisterInstance('sdk-svc', { ip: '10.0.0.11', port: 8070 });
  assert.deepEqual((await listRaw(registry, 'sdk-svc')).hosts, []);
  // A fresh client (no cache: the SDK keeps old hosts when a list comes back empty) sees nothing.
  const fresh = await sdkClient(registry.addr, 'public');
  assert.deepEqual(await fresh.getAllInstances('sdk-svc', 'DEFAULT_GROUP', '', false), []);
});

test('namespaces are separate; groups and clusters are honoured', async () => {
  const registry = await startRegistry();
  const pub = await sdkClient(registry.addr, 'public');
  const dev = await sdkClient(registry.addr, 'dev-ns');
  const implicit = await sdkClient(registry.addr);  // the SDK's own default namespace

  await dev.registerInstance('shared', { ip: '10.1.0.1', port: 80 });
  await pub.registerInstance('shared', { ip: '10.2.0.1', port: 80, clusterName: 'EDGE' });
  await pub.registerInstance('shared', { ip: '10.2.0.2', port: 80 }, 'ORDERS');

  assert.deepEqual((await dev.getAllInstances('shared')).map((h) => h.ip), ['10.1.0.1']);
  assert.deepEqual((await pub.getAllInstances('shared')).map((h) => h.ip), ['10.2.0.1']);
  assert.deepEqual((await pub.getAllInstances('shared', 'ORDERS')).map((h) => h.ip), ['10.2.0.2']);
  // Cluster filter, echoed so the SDK files the answer under the key it asked for.
  assert.deepEqual((await pub.getAllInstances('shared', 'DEFAULT_GROUP', 'EDGE')).map((h) => h.ip),
    ['10.2.0.1']);
  const raw = await listRaw(registry, 'shared', { clusters: 'DEFAULT' });
  assert.equal(raw.clusters, 'DEFAULT');
  assert.equal(raw.name, 'DEFAULT_GROUP@@shared');
  assert.deepEqual(raw.hosts, []);

  // The installed SDK defaults to namespace 'public' (older releases used 'default').
  const implicitNs = implicit._serverProxy.namespace;
  const expected = implicitNs === 'public' ? ['10.2.0.1'] : [];
  assert.deepEqual((await listRaw(registry, 'shared', { namespace: implicitNs })).hosts.map((h) => h.ip),
    expected);

  const devServices = await dev._serverProxy.getServiceList(1, 10, 'DEFAULT_GROUP');
  assert.deepEqual(devServices.data, ['shared']);
  const orders = await pub._serverProxy.getServiceList(1, 10, 'ORDERS');
  assert.deepEqual(orders.data, ['shared']);
});

test('subscribe() fires with the new list after a register (the SDK polls; no UDP push)', async () => {
  const registry = await startRegistry({ flags: ['--cache-millis', '300'] });
  const watcher = await sdkClient(registry.addr, 'public');
  const writer = await sdkClient(registry.addr, 'public');
  const seen = [];
  let notify;
  const fired = new Promise((resolve) => { notify = resolve; });
  // subscribe() asks with clusters=DEFAULT (getAllInstances uses ''): a different cache key.
  watcher.subscribe('sub-svc', (hosts) => { seen.push(hosts); if (hosts.length) notify(hosts); });
  await writer.registerInstance('sub-svc', { ip: '10.3.0.1', port: 9000, metadata: { version: 'v7' } });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(
    `subscribe callback did not fire; calls so far: ${JSON.stringify(seen)}`)), 15_000));
  const hosts = await Promise.race([fired, timeout]);
  assert.equal(hosts.length, 1);
  assert.equal(hosts[0].ip, '10.3.0.1');
  assert.equal(hosts[0].metadata.version, 'v7');
  assert.equal(hosts[0].clusterName, 'DEFAULT');
});

test('SDK beats keep an instance alive past the beat timeout; it expires once the client is closed',
  { timeout: 90_000 }, async () => {
    const registry = await startRegistry({
      flags: ['--beat-timeout-ms', '1500', '--delete-timeout-ms', '3000',
        '--client-beat-interval-ms', '300'],
    });
    const client = await sdkClient(registry.addr, 'public');
    await client.registerInstance('beat-svc', { ip: '10.4.0.1', port: 7000, metadata: { k: 'v' } });
    const present = async () => (await listRaw(registry, 'beat-svc')).hosts;

    // The SDK sends its first beat only ~10 s after it was created, so with these short timeouts
    // the instance expires first; that first beat must bring it back (beat "compensation": the
    // Node SDK ignores the 20404 code and never registers again by itself).
    await e2e.waitFor(async () => (await present()).length === 0,
      { timeoutMs: 8_000, intervalMs: 100, what: 'the instance to expire before the first beat' });
    const back = await e2e.waitFor(async () => {
      const hosts = await present();
      return hosts.length === 1 && hosts[0].healthy ? hosts : null;
    }, { timeoutMs: 15_000, intervalMs: 100, what: 'the first SDK beat to re-register it' });
    assert.deepEqual(back[0].metadata, { k: 'v' });

    // From now on beats come every 300 ms: healthy through twice the delete timeout.
    const until = Date.now() + 6_000;
    let checks = 0;
    while (Date.now() < until && checks < 200) {
      const hosts = await present();
      assert.equal(hosts.length, 1, 'beats must keep the instance registered');
      assert.equal(hosts[0].healthy, true, 'beats must keep the instance healthy');
      checks += 1;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(checks >= 10);

    await client.close();
    await e2e.waitFor(async () => {
      const hosts = await present();
      return hosts.length === 1 && !hosts[0].healthy;
    }, { timeoutMs: 5_000, intervalMs: 50, what: 'unhealthy after the beats stopped' });
    await e2e.waitFor(async () => (await present()).length === 0,
      { timeoutMs: 5_000, intervalMs: 50, what: 'removal after the delete timeout' });
  });

test('a persistent instance survives kill -9 and a restart; ephemeral ones do not',
  async () => {
    const first = await startRegistry();
    const client = await sdkClient(first.addr, 'public');
    await client.registerInstance('db', { ip: '10.5.0.1', port: 5432, ephemeral: false,
      weight: 2, metadata: { role: 'primary' } });
    await client.registerInstance('db', { ip: '10.5.0.2', port: 5432 });
    assert.equal((await listRaw(first, 'db')).hosts.length, 2);
    await client.close();

    first.proc.signal('SIGKILL');
    const exit = await first.proc.waitExit();
    assert.equal(exit.signal, 'SIGKILL');

    const second = await startRegistry({ dataDir: first.dataDir });
    const again = await sdkClient(second.addr, 'public');
    const hosts = await again.getAllInstances('db', 'DEFAULT_GROUP', '', false);
    assert.equal(hosts.length, 1);
    assert.equal(hosts[0].ip, '10.5.0.1');
    assert.equal(hosts[0].ephemeral, false);
    assert.equal(hosts[0].weight, 2);
    assert.deepEqual(hosts[0].metadata, { role: 'primary' });
    // Deregistering it is durable too.
    await again.deregisterInstance('db', { ip: '10.5.0.1', port: 5432, ephemeral: false });
    second.proc.signal('SIGKILL');
    await second.proc.waitExit();
    const third = await startRegistry({ dataDir: first.dataDir });
    assert.deepEqual((await listRaw(third, 'db')).hosts, []);
    const stopped = await third.proc.stop();
    assert.equal(stopped.code, 0, 'SIGTERM is a clean exit');
  });

const servers = [];
after(() => { for (const s of servers) s.close(); });

// A forward proxy standing in for the sidecar: records what reaches it and forwards.
function startRecordingProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, host: req.headers.host });
    const target = new URL(req.url);
    const upstream = http.request({ host: target.hostname, port: target.port, path: target.pathname,
      method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (e) => { res.writeHead(502); res.end(e.message); });
    req.pipe(upstream);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1',
    () => resolve({ server, seen, port: server.address().port })));
}

test('demo-app: consumer round-robins v1/v2 through http_proxy; provider deregisters on SIGTERM',
  async () => {
    const registry = await startRegistry();
    const provider = (version, ip) => e2e.startSluice(
      ['demo-app', 'provider', '--service', 'service-provider', '--version', version,
        '--ip', ip, '--port', '0', '--registry', registry.addr],
      { name: `provider-${version}`,
        readyLine: new RegExp(`demo-app provider service-provider ${version} listening on (\\S+):(\\d+)\\n`) });
    const v1 = await provider('v1', '127.0.0.11');
    const v2 = await provider('v2', '127.0.0.12');
    const proxy = await startRecordingProxy();
    servers.push(proxy.server);
    const consumer = await e2e.startSluice(
      ['demo-app', 'consumer', '--port', '0', '--registry', registry.addr],
      { name: 'consumer', readyLine: /demo-app consumer consumer v1 listening on (\S+):(\d+)\n/,
        env: { http_proxy: `http://127.0.0.1:${proxy.port}`, no_proxy: registry.addr } });
    const consumerPort = Number(consumer.ready[2]);

    // What Spring sees in Nacos: both versions with their labels.
    const sdk = await sdkClient(registry.addr, 'public');
    const instances = byIp(await sdk.getAllInstances('service-provider', 'DEFAULT_GROUP', '', false));
    assert.deepEqual(instances.map((h) => `${h.ip}:${h.port}`),
      [`127.0.0.11:${v1.ready[2]}`, `127.0.0.12:${v2.ready[2]}`]);
    assert.deepEqual(instances[0].metadata,
      { label: 'v1', version: 'v1', 'preserved.register.source': 'SPRING_CLOUD' });
    assert.equal(instances[1].metadata.label, 'v2');
    const services = await sdk._serverProxy.getServiceList(1, 10, 'DEFAULT_GROUP');
    assert.deepEqual(services.data.sort(), ['consumer', 'service-provider']);

    const bodies = [];
    for (let i = 0; i < 6; i += 1) {
      const r = await e2e.request({ port: consumerPort, path: '/echo/world' });
      assert.equal(r.status, 200, r.body);
      bodies.push(r.body);
    }
    assert.ok(bodies.includes('Hello Nacos Discovery From v1world'), bodies.join('\n'));
    assert.ok(bodies.includes('Hello Nacos Discovery From v2world'), bodies.join('\n'));
    for (let i = 1; i < bodies.length; i += 1) {
      assert.notEqual(bodies[i], bodies[i - 1], `round robin alternates: ${bodies.join(' | ')}`);
    }
    // Provider calls went through the proxy in absolute-form; registry calls did not.
    assert.equal(proxy.seen.length, 6);
    for (const s of proxy.seen) {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1[12]:\d+\/echo\/world$/);
      assert.equal(s.host, new URL(s.url).host);
    }

    // SIGTERM: the provider deregisters before exiting; the consumer then only reaches v2.
    const exit = await v1.stop();
    assert.equal(exit.code, 0, v1.describe());
    assert.deepEqual((await listRaw(registry, 'service-provider')).hosts.map((h) => h.ip),
      ['127.0.0.12']);
    // The consumer's instance cache refreshes every ~1 s (like Spring's): v1 may be tried until
    // then; afterwards every call lands on v2.
    await e2e.waitFor(async () => {
      for (let i = 0; i < 4; i += 1) {
        const r = await e2e.request({ port: consumerPort, path: '/echo/again' });
        if (r.body !== 'Hello Nacos Discovery From v2again') return false;
      }
      return true;
    }, { timeoutMs: 5_000, intervalMs: 100, what: 'the consumer to drop v1' });

    // No provider at all: a clear 502, not a hang.
    await v2.stop();
    await e2e.waitFor(async () => {
      const r = await e2e.request({ port: consumerPort, path: '/echo/none' });
      return r.status === 502 && /no healthy instance of service-provider/.test(r.body);
    }, { timeoutMs: 5_000, intervalMs: 100, what: 'a 502 naming the missing provider' });
    assert.equal((await consumer.stop()).code, 0);
  });
