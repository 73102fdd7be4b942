// `sluice proxy --load-services=on-demand` without an Istio Sidecar resource (issue #15): the
// sidecar starts holding no registry service; the first request to a service (HTTP/1.1 by Host,
// HTTP/2 by :authority) or a DNS query for it loads it from the registry (the embedded Nacos,
// over gRPC) and is served, routed by its VirtualService; /config_dump lists only what was used;
// an unknown name answers 502, the second time without asking the registry again.
// The same sidecar also watches the embedded Consul agent, the embedded Eureka server and Debian's
// ZooKeeper (Curator's layout): a cold first request to a service only one of them has is served
// and an unused one stays unloaded. (Eureka's full fetch cannot be narrowed by name: there only
// the wanted applications become services.)
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Resolver } from 'node:dns/promises';
import * as e2e from './lib/index.mjs';
import { registerLoopbackInstance, startNacosRegistry } from './lib/nacos_registry.mjs';
import { startZooKeeper, zookeeperSkipReason } from './lib/zookeeper.mjs';
import { connectZooKeeper } from './lib/curator.mjs';
import { describeResponse } from './lib/fixtures.mjs';

const zkSkip = zookeeperSkipReason();
let zkClient;

after(async () => {
  await zkClient?.close();
  await e2e.cleanupAll();
});

const fqdn = (name) => `${name}.default.svc.cluster.local`;

let mesh;

// `sluice registry --protocol consul` with one agent registration (no check: passing) per name.
async function startConsulWithServices(names) {
  const proc = await e2e.startSluice(['registry', '--protocol', 'consul', '--listen', '127.0.0.1:0'],
    { name: 'consul', readyLine: /sluice registry listening on (\S+):(\d+)\n/ });
  const port = Number(proc.ready[2]);
  for (const name of names) {
    const up = await e2e.startUpstream(name);
    const r = await e2e.request({ port, method: 'PUT', path: '/v1/agent/service/register',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ Name: name, ID: `${name}-1`, Address: '127.0.0.1', Port: up.port }) });
    assert.equal(r.status, 200, r.body);
  }
  return `consul://127.0.0.1:${port}`;
}

// `sluice registry --protocol eureka` with one UP instance per name (an application of that name
// upper-cased, as Spring Cloud Netflix registers it).
async function startEurekaWithServices(names) {
  const proc = await e2e.startSluice(['registry', '--protocol', 'eureka', '--listen', '127.0.0.1:0'],
    { name: 'eureka', readyLine: /sluice registry listening on (\S+):(\d+)\n/ });
  const port = Number(proc.ready[2]);
  for (const name of names) {
    const up = await e2e.startUpstream(name);
    const app = name.toUpperCase();
    const instance = {
      instanceId: `127.0.0.1:${name}:${up.port}`, app, hostName: '127.0.0.1', ipAddr: '127.0.0.1',
      port: { $: up.port, '@enabled': 'true' }, vipAddress: name, status: 'UP',
      dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' },
    };
    const r = await e2e.request({ port, method: 'POST', path: `/eureka/apps/${app}`,
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instance }) });
    assert.equal(r.status, 204, r.body);
  }
  return `eureka://127.0.0.1:${port}/eureka`;
}

// Debian's ZooKeeper with one Curator registration per name (ephemeral: zkClient keeps them).
async function startZooKeeperWithServices(names) {
  const zk = await startZooKeeper();
  zkClient = await connectZooKeeper(zk.connectString);
  for (const name of names) {
    const up = await e2e.startUpstream(name);
    await zkClient.register({ name, address: '127.0.0.1', port: up.port });
  }
  return `zookeeper://${zk.connectString}`;
}

before(async () => {
  const [registry, consulUrl, eurekaUrl, zkUrl] = await Promise.all([
    startNacosRegistry(),
    startConsulWithServices(['consul-used', 'consul-idle']),
    startEurekaWithServices(['eureka-used', 'eureka-idle']),
    zkSkip ? null : startZooKeeperWithServices(['zk-used', 'zk-idle']),
  ]);
  for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
    await registerLoopbackInstance(registry, name, (await e2e.startUpstream(name)).port);
  }
  const dir = e2e.makeTempDir('sluice-on-demand-');
  // alpha's VirtualService sends everything to gamma: loading alpha brings gamma along.
  e2e.writeAtomic(dir, 'alpha-vs.yaml', e2e.virtualService({ name: 'alpha', hosts: ['alpha'],
    http: '- route:\n  - destination: {host: gamma}' }));
  e2e.writeAtomic(dir, 'beta-vs.yaml', e2e.virtualService({ name: 'beta', hosts: ['beta'],
    http: '- route:\n  - destination: {host: beta}' }));
  const proc = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1', '--load-services', 'on-demand',
    '--load-wait-ms', '3000', '--dns-listen', '127.0.0.1:0', '--dns-upstream', '127.0.0.1:9',
    '--registry', `nacos://${registry.addr}?grpcPort=${registry.grpcPort}`,
    '--registry', consulUrl, '--registry', eurekaUrl, ...(zkUrl ? ['--registry', zkUrl] : [])], { name: 'sidecar' });
  const dns = proc.stdout.match(/ dns (\S+):(\d+)/);
  assert.ok(dns, proc.stdout);
  mesh = { dir, proc, dnsPort: Number(dns[2]), ...e2e.parseProxyReady(proc) };
});

async function dump() {
  const r = await e2e.request({ port: mesh.admin.port, path: '/config_dump' });
  assert.equal(r.status, 200);
  return JSON.parse(r.body);
}

const services = (d) => d.services.map((s) => s.fqdn ?? s.name).sort();
const get = (name) => e2e.proxyRequest(mesh.listen, `http://${name}/x`, { timeoutMs: 5_000 });
const count = (re) => (mesh.proc.stderr.match(re) ?? []).length;

test('nothing is loaded before the first request', async () => {
  const d = await dump();
  assert.deepEqual(services(d), []);
  assert.deepEqual(d.on_demand, { loaded_hosts: [] });
  assert.equal(d.sidecar, null);
});

test('the first request to a service not loaded is served, routed by its VirtualService', async () => {
  const r = await get('alpha');
  assert.equal(r.status, 200, describeResponse(r));
  assert.equal(e2e.who(r), 'gamma', 'alpha routes to gamma');
  const d = await dump();
  assert.deepEqual(services(d), [fqdn('alpha'), fqdn('gamma')], 'only what alpha uses');
  assert.deepEqual(d.on_demand, { loaded_hosts: [fqdn('alpha')] });
  const text = JSON.stringify(d);
  assert.ok(!text.includes('beta') && !text.includes('delta'), `unused services in ${text.slice(0, 2000)}`);
  // Loaded once: the next request does not ask again.
  const again = await get('alpha');
  assert.equal(e2e.who(again), 'gamma');
  assert.equal(count(/on demand: alpha\.default\.svc\.cluster\.local is not loaded/g), 1);
});

test('HTTP/2 by :authority loads a service too', async () => {
  const session = http2.connect(`http://127.0.0.1:${mesh.listen.port}`);
  session.on('error', () => {});
  try {
    const r = await new Promise((resolve) => {
      const req = session.request({ ':method': 'GET', ':path': '/x', ':authority': 'beta' });
      const timer = setTimeout(() => { req.close(); resolve({ error: 'timeout' }); }, 10_000);
      let status = 0;
      const chunks = [];
      req.on('response', (h) => { status = h[':status']; });
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => { clearTimeout(timer); resolve({ status, body: Buffer.concat(chunks).toString() }); });
      req.on('error', (e) => { clearTimeout(timer); resolve({ error: String(e) }); });
      req.end();
    });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(e2e.who(r), 'beta');
  } finally {
    session.close();
  }
  assert.ok(services(await dump()).includes(fqdn('beta')));
});

test('a DNS query for a mesh name loads it and is answered with its VIP', async () => {
  const resolver = new Resolver({ timeout: 5000, tries: 1 });
  resolver.setServers([`127.0.0.1:${mesh.dnsPort}`]);
  const [vip] = await resolver.resolve4(fqdn('delta'));
  const d = await dump();
  const delta = d.services.find((s) => (s.fqdn ?? s.name) === fqdn('delta'));
  assert.ok(delta, JSON.stringify(services(d)));
  assert.equal(vip, delta.vip);
  assert.ok(d.on_demand.loaded_hosts.includes(fqdn('delta')));
});

test('an unknown name answers 502; the second time quickly, without asking the registry', async () => {
  const first = await get('nosuch');
  assert.equal(first.status, 502, describeResponse(first));
  const started = Date.now();
  const second = await get('nosuch');
  const took = Date.now() - started;
  assert.equal(second.status, 502, describeResponse(second));
  assert.ok(took < 1000, `second 502 took ${took} ms`);
  assert.equal(count(/on demand: nosuch\.default\.svc\.cluster\.local is not loaded/g), 1,
    'the registry was asked once');
  assert.match(mesh.proc.stderr, /no registry or config has nosuch\.default\.svc\.cluster\.local/);
  assert.ok(!(await dump()).on_demand.loaded_hosts.includes(fqdn('nosuch')));
});

// A cold first request to `used`, which only `kind` has, is served by it; `idle` is not loaded.
async function assertLoadedFrom(kind, used, idle) {
  const r = await get(used);
  assert.equal(r.status, 200, `${kind}: ${describeResponse(r)}`);
  assert.equal(e2e.who(r), used);
  const d = await dump();
  assert.ok(d.on_demand.loaded_hosts.includes(fqdn(used)), JSON.stringify(d.on_demand));
  assert.ok(services(d).includes(fqdn(used)), JSON.stringify(services(d)));
  assert.ok(!JSON.stringify(d).includes(idle), `${kind}: the unused ${idle} was loaded`);
}

test('Consul: the first request to a service not loaded is served; an unused one stays unloaded', async () => {
  await assertLoadedFrom('consul', 'consul-used', 'consul-idle');
});

test('Eureka: the first request to a service not loaded is served; an unused one stays unloaded', async () => {
  await assertLoadedFrom('eureka', 'eureka-used', 'eureka-idle');
});

test('ZooKeeper: the first request to a service not loaded is served; an unused one stays unloaded',
  { skip: zkSkip ?? false }, async () => {
    await assertLoadedFrom('zookeeper', 'zk-used', 'zk-idle');
  });
