// `sluice registry --protocol consul` against the npm `consul` client (what Node apps use to talk
// to Consul), and Sluice's consul:// watcher behind a real sidecar: registry change -> routing
// well under a second; a malformed agent answer keeps the last good endpoints and shows on
// /clusters; the catalog survives kill -9.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Consul from 'consul';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const READY = /sluice registry listening on (\S+):(\d+)\n/;

async function startRegistry({ dataDir, port = 0 } = {}) {
  const args = ['registry', '--protocol', 'consul', '--listen', `127.0.0.1:${port}`];
  if (dataDir) args.push('--consul-data-dir', dataDir);
  const proc = await e2e.startSluice(args, { name: 'sluice registry consul', readyLine: READY });
  const bound = Number(proc.ready[2]);
  return { proc, port: bound, consul: new Consul({ host: '127.0.0.1', port: bound }) };
}

test('npm consul client: register with a TTL check, pass/fail, a blocking watch wakes, deregister, critical deregistration', async () => {
  const { consul } = await startRegistry();
  await consul.agent.service.register({
    name: 'service-provider', id: 'provider-1', address: '127.0.0.11', port: 8070,
    meta: { version: 'v1' }, tags: ['secure=false'], check: { ttl: '10s' },
  });
  assert.deepEqual(await consul.health.service({ service: 'service-provider', passing: true }), [],
    'a new TTL check is critical');
  const services = await consul.catalog.service.list();
  assert.deepEqual(services['service-provider'], ['secure=false']);

  await consul.agent.check.pass('service:provider-1');
  let entries = await consul.health.service({ service: 'service-provider', passing: true });
  assert.equal(entries.length, 1);
  assert.equal(entries[0].Service.Address, '127.0.0.11');
  assert.equal(entries[0].Service.Port, 8070);
  assert.equal(entries[0].Service.Meta.version, 'v1');
  const nodes = await consul.catalog.service.nodes('service-provider');
  assert.equal(nodes[0].ServicePort, 8070);

  // A blocking watch: wakes on the change, not at its 30 s wait.
  const watch = consul.watch({ method: consul.health.service,
    options: { service: 'service-provider', passing: true } });
  const changes = [];
  const errors = [];
  watch.on('change', (data) => changes.push(data));
  watch.on('error', (err) => errors.push(err));
  after(() => watch.end());
  await e2e.waitFor(() => changes.length === 1, { what: 'the watch\'s first answer' });
  const failed = Date.now();
  await consul.agent.check.fail('service:provider-1');
  await e2e.waitFor(() => changes.length === 2, { timeoutMs: 3_000, intervalMs: 10, what: 'the watch woken by the failed check' });
  const took = Date.now() - failed;
  console.log(`# embedded Consul: check fail -> blocking watch woke in ${took} ms`);
  assert.ok(took < 1_000, `blocking watch took ${took} ms`);
  assert.deepEqual(changes[1], []);
  assert.deepEqual(errors, []);

  await consul.agent.service.deregister('provider-1');
  assert.equal((await consul.catalog.service.list())['service-provider'], undefined);

  // TTL expiry -> critical -> DeregisterCriticalServiceAfter removes the service.
  await consul.agent.service.register({
    name: 'short-lived', id: 'short-1', port: 9000,
    check: { ttl: '300ms', deregistercriticalserviceafter: '500ms' },
  });
  await consul.agent.check.pass('service:short-1');
  assert.equal((await consul.health.service({ service: 'short-lived', passing: true })).length, 1);
  await e2e.waitFor(async () => (await consul.health.service({ service: 'short-lived', passing: true })).length === 0,
    { timeoutMs: 3_000, what: 'the TTL check turned critical' });
  await e2e.waitFor(async () => (await consul.catalog.service.list())['short-lived'] === undefined,
    { timeoutMs: 3_000, what: 'the critical service deregistered' });
});

test('a malformed registration gets a Consul-style 400 and changes nothing; unknown endpoints 404', async () => {
  const registry = await startRegistry();
  const before = await registry.consul.catalog.service.list();
  // The client checks names itself; a bad duration reaches the agent.
  await assert.rejects(registry.consul.agent.service.register({ name: 'x', port: 1, check: { ttl: 'soon' } }),
    (err) => err.response?.statusCode === 400 && /invalid duration/.test(err.message));
  const noName = await e2e.request({ port: registry.port, method: 'PUT', path: '/v1/agent/service/register',
    body: '{"ID": "no-name", "Port": 1}' });
  assert.equal(noName.status, 400);
  assert.equal(noName.body, 'Missing service name\n');
  const bad = await e2e.request({ port: registry.port, method: 'PUT', path: '/v1/agent/service/register',
    body: '{"Name": "x", "Check": {"HTTP": "http://127.0.0.1:1/"}}' });
  assert.equal(bad.status, 400);
  assert.match(bad.body, /Invalid check: Interval must be > 0/);
  assert.deepEqual(await registry.consul.catalog.service.list(), before);
  const kv = await e2e.request({ port: registry.port, path: '/v1/kv/config/app' });
  assert.equal(kv.status, 404);
  assert.match(kv.body, /\/v1\/kv\/config\/app/);
});

test('the catalog survives kill -9 of the embedded agent', async () => {
  const dataDir = e2e.makeTempDir('sluice-consul-data-');
  const first = await startRegistry({ dataDir });
  await first.consul.agent.service.register({ name: 'kept', id: 'kept-1', port: 7000, meta: { version: 'v2' } });
  first.proc.signal('SIGKILL');
  await first.proc.waitExit();
  const second = await startRegistry({ dataDir });
  const entries = await second.consul.health.service({ service: 'kept' });
  assert.equal(entries.length, 1);
  assert.equal(entries[0].Service.Meta.version, 'v2');
});

// ---- the consul:// watcher in a sidecar ----

const startSidecar = (registryUrl) => e2e.startRegistrySidecar(registryUrl, { prefix: 'sluice-consul-mesh-' });
const clusters = (sidecar) => sidecar.clusters();
const { providerEndpoints } = e2e;

test('sidecar routes service-provider to passing Consul instances by their labels; a failed check leaves routing well under 1 s', async () => {
  const registry = await startRegistry();
  const v1 = await e2e.startUpstream('v1', { host: '127.0.0.11' });
  const v2 = await e2e.startUpstream('v2', { host: '127.0.0.12', port: v1.port });
  for (const [version, ip] of [['v1', '127.0.0.11'], ['v2', '127.0.0.12']]) {
    await registry.consul.agent.service.register({
      name: 'service-provider', id: `service-provider-${version}`, address: ip, port: v1.port,
      meta: { version }, tags: [`zone=z-${version}`], check: { ttl: '30s' },
    });
    await registry.consul.agent.check.pass(`service:service-provider-${version}`);
  }
  const sidecar = await startSidecar(`consul://127.0.0.1:${registry.port}?token=e2e-token`);
  await e2e.waitFor(async () => providerEndpoints(await clusters(sidecar)).filter((e) => e.healthy).length === 2,
    { timeoutMs: 5_000, what: 'two healthy service-provider endpoints' });
  const eps = providerEndpoints(await clusters(sidecar));
  assert.deepEqual(eps.map((e) => e.labels.version).sort(), ['v1', 'v2'], 'Service.Meta became labels');
  assert.deepEqual(eps.map((e) => e.labels.zone).sort(), ['z-v1', 'z-v2'], 'key=value tags became labels');
  const seen = new Set();
  for (let i = 0; i < 6; ++i) {
    const r = await e2e.proxyRequest(sidecar.listen, 'http://service-provider/echo/x');
    assert.equal(r.status, 200, r.body);
    seen.add(e2e.who(r));
  }
  assert.deepEqual([...seen].sort(), ['v1', 'v2']);

  const changed = Date.now();
  await registry.consul.agent.check.fail('service:service-provider-v2');
  await e2e.waitFor(async () => {
    const healthy = providerEndpoints(await clusters(sidecar)).filter((e) => e.healthy);
    return healthy.length === 1 && healthy[0].labels.version === 'v1';
  }, { timeoutMs: 5_000, intervalMs: 10, what: 'v2 out of routing' });
  const took = Date.now() - changed;
  console.log(`# embedded Consul: check fail -> routing in ${took} ms (blocking queries)`);
  assert.ok(took < 500, `registry change -> routing took ${took} ms`);
  for (let i = 0; i < 4; ++i) {
    assert.equal(e2e.who(await e2e.proxyRequest(sidecar.listen, 'http://service-provider/echo/x')), 'v1');
  }
  void v2;
});

test('a malformed Consul answer keeps the last good endpoints and shows on /clusters', async () => {
  let broken = false;
  const good = JSON.stringify([{ Node: { Address: '127.0.0.11' },
    Service: { ID: 'p1', Service: 'service-provider', Address: '', Port: 18070, Meta: { version: 'v1' } },
    Checks: [{ Status: 'passing' }] }]);
  const fake = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-consul-index', '7');
    const reply = () => {
      if (req.url.startsWith('/v1/catalog/services')) return res.end('{"consul":[],"service-provider":[]}');
      res.end(broken ? '[{"Service": {"Port": ' : good);
    };
    // A blocking query at the current index: hold it briefly, as an agent would.
    if (/[?&]index=7/.test(req.url)) setTimeout(reply, 100); else reply();
  });
  await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => { fake.closeAllConnections(); fake.close(resolve); }));
  const sidecar = await startSidecar(`consul://127.0.0.1:${fake.address().port}`);
  await e2e.assertBrokenRegistryKeepsEndpoint(sidecar, {
    breakRegistry: () => { broken = true; }, errorPatterns: [/not JSON/, /\/v1\/health\/service\/service-provider/], address: '127.0.0.11:18070',
  });
});
