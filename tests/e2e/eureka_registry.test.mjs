// `sluice registry --protocol eureka` against the npm `eureka-js-client` (what Node apps use to
// talk to Eureka) and raw XML/JSON clients, and Sluice's eureka:// watcher behind a real sidecar:
// registry change -> routing within a second; a malformed registry answer keeps the last good
// endpoints and shows on /clusters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Eureka } from 'eureka-js-client';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const READY = /sluice registry listening on (\S+):(\d+)\n/;
const DC = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };

async function startRegistry(flags = []) {
  const proc = await e2e.startSluice(
    ['registry', '--protocol', 'eureka', '--listen', '127.0.0.1:0',
      '--eureka-eviction-interval-ms', '200', ...flags],
    { name: 'sluice registry eureka', readyLine: READY });
  const port = Number(proc.ready[2]);
  return { proc, port, addr: `127.0.0.1:${port}` };
}

const clients = [];
after(() => Promise.all(clients.map((c) => new Promise((resolve) => {
  try { c.stop(() => resolve()); } catch { resolve(); }
}))));

function quietLogger() {
  const seen = [];
  const keep = (level) => (...args) => seen.push(`${level}: ${args.map(String).join(' ')}`);
  return { seen, level() {}, debug() {}, info() {}, warn: keep('warn'), error: keep('error') };
}

// An eureka-js-client against the embedded registry, fast timings, delta fetches on.
async function jsClient(registry, instance, { register = true, fetch = true } = {}) {
  const logger = quietLogger();
  const client = new Eureka({
    logger,
    instance,
    eureka: {
      host: '127.0.0.1', port: registry.port, servicePath: '/eureka/apps/',
      heartbeatInterval: 200, registryFetchInterval: 200, shouldUseDelta: true,
      registerWithEureka: register, fetchRegistry: fetch, maxRetries: 1, requestRetryDelay: 100,
    },
  });
  clients.push(client);
  await new Promise((resolve, reject) => client.start((err) => (err ? reject(err) : resolve())));
  client.logs = logger.seen;
  return client;
}

function providerInstance(version, ip, port = 8070) {
  return {
    instanceId: `${ip}:service-provider:${port}`,
    app: 'service-provider',
    hostName: ip,
    ipAddr: ip,
    port: { $: port, '@enabled': 'true' },
    vipAddress: 'service-provider',
    statusPageUrl: `http://${ip}:${port}/actuator/info`,
    dataCenterInfo: DC,
    metadata: { version },
    leaseInfo: { renewalIntervalInSecs: 1, durationInSecs: 2 },
  };
}

async function raw(registry, method, path, { body, accept = 'application/json', type } = {}) {
  const headers = { accept };
  if (type) headers['content-type'] = type;
  return e2e.request({ port: registry.port, method, path, body, headers });
}

async function appsJson(registry) {
  const r = await raw(registry, 'GET', '/eureka/apps/');
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).applications;
}

function vipHosts(client) {
  return client.getInstancesByVipAddress('service-provider').map((i) => i.hostName).sort();
}

test('eureka-js-client registers, renews, fetches full and delta, deregisters', async () => {
  const registry = await startRegistry();
  const v1 = await jsClient(registry, providerInstance('v1', '10.0.0.11'), { fetch: false });
  const watcher = await jsClient(registry, providerInstance('none', '10.0.0.99'), { register: false });

  // Full fetch: the registered instance, upper-cased app, metadata as given.
  const [first] = watcher.getInstancesByAppId('SERVICE-PROVIDER');
  assert.equal(first.hostName, '10.0.0.11');
  assert.equal(first.port.$, 8070);
  assert.equal(first.app, 'SERVICE-PROVIDER');
  assert.deepEqual(first.metadata, { version: 'v1' });

  // Renewals arrive: the lease is 2 s, so without them it would be evicted after ~2 s.
  let heartbeats = 0;
  v1.on('heartbeat', () => { heartbeats += 1; });
  await e2e.waitFor(() => heartbeats >= 3, { timeoutMs: 5_000, what: 'three heartbeats answered 200' });
  const apps = await appsJson(registry);
  const stored = apps.application[0].instance[0];
  assert.equal(stored.status, 'UP');
  assert.ok(stored.leaseInfo.lastRenewalTimestamp > stored.leaseInfo.registrationTimestamp);

  // A second instance reaches the fetching client by delta (ADDED).
  const v2 = await jsClient(registry, providerInstance('v2', '10.0.0.12'), { fetch: false });
  await e2e.waitFor(() => vipHosts(watcher).length === 2, { what: 'the delta with v2' });
  const delta = JSON.parse((await raw(registry, 'GET', '/eureka/apps/delta')).body).applications;
  assert.equal(delta.apps__hashcode, 'UP_2_');
  assert.ok(delta.application[0].instance.every((i) => i.actionType === 'ADDED'), JSON.stringify(delta));

  // Deregistration: DELETE, 200, and the delta (DELETED) removes it from the client's cache.
  await new Promise((resolve, reject) => v2.stop((err) => (err ? reject(err) : resolve())));
  clients.splice(clients.indexOf(v2), 1);
  await e2e.waitFor(() => vipHosts(watcher).length === 1, { what: 'the delta without v2' });
  assert.deepEqual(vipHosts(watcher), ['10.0.0.11']);
  assert.equal((await appsJson(registry)).apps__hashcode, 'UP_1_');

  // An instance the server forgot: the next renewal gets 404 and the client registers again.
  const cancel = await raw(registry, 'DELETE', '/eureka/apps/SERVICE-PROVIDER/10.0.0.11:service-provider:8070');
  assert.equal(cancel.status, 200);
  let reregistered = false;
  v1.on('registered', () => { reregistered = true; });
  await e2e.waitFor(() => reregistered, { timeoutMs: 5_000, what: 're-registration after a 404 renewal' });
  assert.equal((await appsJson(registry)).application[0].instance.length, 1);
  assert.deepEqual(v1.logs.filter((l) => l.startsWith('error')), []);
});

test('XML registration and XML answers when the client does not accept JSON', async () => {
  const registry = await startRegistry();
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<instance><instanceId>xml-1</instanceId><hostName>10.0.0.21</hostName><app>XML-APP</app>
<ipAddr>10.0.0.21</ipAddr><status>UP</status><port enabled="true">9090</port>
<securePort enabled="false">443</securePort>
<dataCenterInfo class="com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo"><name>MyOwn</name></dataCenterInfo>
<metadata><version>v9</version></metadata><vipAddress>xml-app</vipAddress></instance>`;
  const reg = await raw(registry, 'POST', '/eureka/apps/XML-APP', { body: xml, type: 'application/xml' });
  assert.equal(reg.status, 204, reg.body);
  for (const path of ['/eureka/apps/', '/eureka/apps/delta', '/eureka/apps/XML-APP', '/eureka/apps/XML-APP/xml-1']) {
    const r = await raw(registry, 'GET', path, { accept: 'application/xml' });
    assert.equal(r.status, 200, `${path}: ${r.body}`);
    assert.match(r.headers['content-type'], /application\/xml/);
    assert.match(r.body, /<port enabled="true">9090<\/port>/, path);
    assert.match(r.body, /<version>v9<\/version>/, path);
  }
  const full = await raw(registry, 'GET', '/eureka/apps/', { accept: 'application/xml' });
  assert.match(full.body, /^<applications><versions__delta>\d+<\/versions__delta><apps__hashcode>UP_1_<\/apps__hashcode>/);
  // The same store in JSON, also under the Netflix /eureka/v2 root.
  const json = JSON.parse((await raw(registry, 'GET', '/eureka/v2/apps/XML-APP')).body);
  assert.equal(json.application.instance[0].metadata.version, 'v9');
  // Status override, in XML land too.
  const out = await raw(registry, 'PUT', '/eureka/apps/XML-APP/xml-1/status?value=OUT_OF_SERVICE');
  assert.equal(out.status, 200);
  const after = await raw(registry, 'GET', '/eureka/apps/XML-APP/xml-1', { accept: 'text/xml' });
  assert.match(after.body, /<status>OUT_OF_SERVICE<\/status>/);
  assert.match(after.body, /<overriddenStatus>OUT_OF_SERVICE<\/overriddenStatus>/);
});

test('a malformed client request gets 400 with a message and changes nothing', async () => {
  const registry = await startRegistry();
  const good = JSON.stringify({ instance: providerInstance('v1', '10.0.0.31') });
  assert.equal((await raw(registry, 'POST', '/eureka/apps/SERVICE-PROVIDER', { body: good, type: 'application/json' })).status, 204);
  const before = await appsJson(registry);
  const cases = [
    ['POST', '/eureka/apps/SERVICE-PROVIDER', '{"instance": {', /malformed JSON/],
    ['POST', '/eureka/apps/SERVICE-PROVIDER', '<instance><app>X</app>', /malformed XML/],
    ['POST', '/eureka/apps/OTHER-APP', good, /Mismatched appName/],
    ['POST', '/eureka/apps/SERVICE-PROVIDER', JSON.stringify({ instance: { ...providerInstance('v1', '10.0.0.32'), port: 'eighty' } }), /'port'/],
    ['POST', '/eureka/apps/SERVICE-PROVIDER', JSON.stringify({ instance: { ...providerInstance('v1', '10.0.0.33'), dataCenterInfo: undefined } }), /dataCenterInfo/],
    ['PUT', '/eureka/apps/SERVICE-PROVIDER/10.0.0.31:service-provider:8070/status?value=NAPPING', undefined, /NAPPING/],
  ];
  for (const [method, path, body, expect] of cases) {
    const r = await raw(registry, method, path, { body, type: body ? 'application/json' : undefined });
    assert.equal(r.status, 400, `${method} ${path}: ${r.status} ${r.body}`);
    assert.match(r.body, expect);
  }
  const afterApps = await appsJson(registry);
  assert.equal(afterApps.versions__delta, before.versions__delta, 'no change was recorded');
  assert.deepEqual(afterApps.application, before.application);
});

test('a lease without renewals expires and is evicted', async () => {
  const registry = await startRegistry();
  const inst = { ...providerInstance('v1', '10.0.0.41'), leaseInfo: { durationInSecs: 1 } };
  const started = Date.now();
  const r = await raw(registry, 'POST', '/eureka/apps/SERVICE-PROVIDER',
    { body: JSON.stringify({ instance: inst }), type: 'application/json' });
  assert.equal(r.status, 204);
  assert.equal((await appsJson(registry)).application.length, 1);
  await e2e.waitFor(async () => (await appsJson(registry)).application.length === 0,
    { timeoutMs: 5_000, what: 'eviction of the expired lease' });
  const took = Date.now() - started;
  assert.ok(took >= 1_000, `evicted after ${took} ms, before the 1 s lease ran out`);
  const delta = JSON.parse((await raw(registry, 'GET', '/eureka/apps/delta')).body).applications;
  assert.equal(delta.application[0].instance.at(-1).actionType, 'DELETED');
});

// ---- the eureka:// watcher in a sidecar ----

const startSidecar = (registryUrl) => e2e.startRegistrySidecar(registryUrl, { prefix: 'sluice-eureka-mesh-' });
const clusters = (sidecar) => sidecar.clusters();
const { providerEndpoints } = e2e;

test('sidecar routes service-provider to UP Eureka instances; a status change reaches routing within 1 s', async () => {
  const registry = await startRegistry();
  const v1 = await e2e.startUpstream('v1', { host: '127.0.0.11' });
  const v2 = await e2e.startUpstream('v2', { host: '127.0.0.12', port: v1.port });
  for (const [version, ip] of [['v1', '127.0.0.11'], ['v2', '127.0.0.12']]) {
    const inst = { ...providerInstance(version, ip, v1.port), leaseInfo: {} };
    const r = await raw(registry, 'POST', '/eureka/apps/SERVICE-PROVIDER',
      { body: JSON.stringify({ instance: inst }), type: 'application/json' });
    assert.equal(r.status, 204, r.body);
  }
  const sidecar = await startSidecar(`eureka://127.0.0.1:${registry.port}/eureka`);
  await e2e.waitFor(async () => providerEndpoints(await clusters(sidecar)).filter((e) => e.healthy).length === 2,
    { timeoutMs: 5_000, what: 'two healthy service-provider endpoints' });
  const eps = providerEndpoints(await clusters(sidecar));
  assert.deepEqual(eps.map((e) => e.labels.version).sort(), ['v1', 'v2'], 'metadata became labels');

  const seen = new Set();
  for (let i = 0; i < 6; ++i) {
    const r = await e2e.proxyRequest(sidecar.listen, 'http://service-provider/echo/x');
    assert.equal(r.status, 200, r.body);
    seen.add(e2e.who(r));
  }
  assert.deepEqual([...seen].sort(), ['v1', 'v2']);

  // OUT_OF_SERVICE: v2 leaves routing at the next poll.
  const changed = Date.now();
  const out = await raw(registry, 'PUT', `/eureka/apps/SERVICE-PROVIDER/127.0.0.12:service-provider:${v1.port}/status?value=OUT_OF_SERVICE`);
  assert.equal(out.status, 200);
  await e2e.waitFor(async () => {
    const healthy = providerEndpoints(await clusters(sidecar)).filter((e) => e.healthy);
    return healthy.length === 1 && healthy[0].labels.version === 'v1';
  }, { timeoutMs: 5_000, intervalMs: 10, what: 'v2 out of routing' });
  const took = Date.now() - changed;
  console.log(`# embedded Eureka: OUT_OF_SERVICE -> routing in ${took} ms (poll 300 ms)`);
  assert.ok(took < 1_000, `registry change -> routing took ${took} ms`);
  for (let i = 0; i < 4; ++i) {
    assert.equal(e2e.who(await e2e.proxyRequest(sidecar.listen, 'http://service-provider/echo/x')), 'v1');
  }
});

test('a malformed Eureka answer keeps the last good endpoints and shows on /clusters', async () => {
  // A scripted Eureka: good JSON first, then garbage.
  let broken = false;
  const instance = { ...providerInstance('v1', '127.0.0.11', 18070), status: 'UP', actionType: 'ADDED' };
  const good = JSON.stringify({ applications: { versions__delta: '1', apps__hashcode: 'UP_1_',
    application: [{ name: 'SERVICE-PROVIDER', instance: [instance] }] } });
  const emptyDelta = JSON.stringify({ applications: { versions__delta: '1', apps__hashcode: 'UP_1_', application: [] } });
  const fake = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (broken) return res.end('{"applications": {"application": [{"name": "SERVICE-PROVIDER", "instance": [{"port": ');
    res.end(req.url.startsWith('/eureka/apps/delta') ? emptyDelta : good);
  });
  await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => fake.close(resolve)));
  const sidecar = await startSidecar(`eureka://127.0.0.1:${fake.address().port}`);
  await e2e.assertBrokenRegistryKeepsEndpoint(sidecar, {
    breakRegistry: () => { broken = true; }, address: '127.0.0.11:18070',
    errorPatterns: [/malformed JSON/, /\/eureka\/apps\/delta/],
  });
  const text = await e2e.request({ port: sidecar.admin.port, path: '/clusters' });
  assert.match(text.body, /registry::eureka:\/\/127\.0\.0\.1:\d+::reachable::false::last_error::.*malformed JSON/);
});

test('one registry process serves Nacos and Eureka side by side', async () => {
  const proc = await e2e.startSluice(['registry', '--protocol', 'nacos', '--listen', '127.0.0.1:0',
    '--protocol', 'eureka', '--listen', '127.0.0.1:0'],
  { name: 'sluice registry nacos+eureka', readyLine: /sluice registry eureka listening on \S+:(\d+)\n/ });
  const nacos = proc.stdout.match(/sluice registry nacos listening on \S+:(\d+)\n/);
  assert.ok(nacos, proc.stdout);
  const eureka = { port: Number(proc.ready[1]) };
  const reg = await raw(eureka, 'POST', '/eureka/apps/SERVICE-PROVIDER',
    { body: JSON.stringify({ instance: providerInstance('v1', '10.0.0.51') }), type: 'application/json' });
  assert.equal(reg.status, 204, reg.body);
  assert.equal((await appsJson(eureka)).application[0].instance[0].ipAddr, '10.0.0.51');
  const list = await e2e.request({ port: Number(nacos[1]),
    path: '/nacos/v1/ns/instance/list?serviceName=service-provider' });
  assert.equal(list.status, 200, list.body);
  assert.deepEqual(JSON.parse(list.body).hosts, [], 'the two protocols keep separate stores');
});
