// Eureka with real Spring Cloud Netflix peers (examples/spring-cloud, `make spring-apps`):
//   1. Sluice's eureka:// watcher against the real Eureka server (eureka-server.jar, test
//      timings: no read-only response cache) with Spring providers registering themselves.
//   2. The seed's scenario on pods with transparent sidecars, method 1 (reverse DNS: the
//      consumer's Spring Cloud LoadBalancer dials the Eureka ipAddr:port of a provider pod, its
//      sidecar maps it back to service-provider): before the routing rules the consumer
//      alternates v1/v2; after the seed's DestinationRule + VirtualService, /echo/hello -> v1 and
//      the rest -> v2. Against the embedded `sluice registry --protocol eureka` and against the
//      real Eureka server, each in two start-up orders: (a) the method config written before
//      anything starts, (b) every mesh file applied to running apps and sidecars.
// JVM start-ups dominate the runtime; the apps of a topology start in parallel.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';

after(e2e.cleanupAll);

const HELLO = /^Hello Nacos Discovery From (v1|v2)/;

function seedFile(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

async function clusters(adminPort, host = '127.0.0.1') {
  const r = await e2e.request({ host, port: adminPort, path: '/clusters?format=json' });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

// The endpoints of service-provider, over its default and subset clusters, once each.
function providerEndpoints(c) {
  const byAddress = new Map();
  for (const cluster of c.clusters.filter((x) => x.name.includes('service-provider'))) {
    for (const e of cluster.endpoints) byAddress.set(e.address, e);
  }
  return [...byAddress.values()];
}

test('the eureka:// watcher follows the real Eureka server: Spring instances, labels, OUT_OF_SERVICE, deregistration', async (t) => {
  const skip = e2e.springSkipReason(['eureka-server', 'demo-eureka']);
  if (skip) { t.skip(skip); return; }
  const server = await e2e.startEurekaServer();
  const registry = server.eurekaUrl;
  const [v1, v2] = await Promise.all([
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry }),
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry }),
  ]);
  const sidecar = await e2e.startSluice(['proxy', '--config', e2e.makeTempDir('sluice-eureka-real-'),
    '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--registry', `eureka://127.0.0.1:${server.port}/eureka`], { name: 'sidecar' });
  const { listen, admin } = e2e.parseProxyReady(sidecar);

  const eps = await e2e.waitFor(async () => {
    const e = providerEndpoints(await clusters(admin.port)).filter((x) => x.healthy);
    return e.length === 2 ? e : null;
  }, { timeoutMs: 20_000, intervalMs: 100, what: 'both Spring providers as healthy endpoints' });
  const byLabel = Object.fromEntries(eps.map((e) => [e.labels.label, e.address]));
  assert.deepEqual(byLabel, { v1: `127.0.0.1:${v1.port}`, v2: `127.0.0.1:${v2.port}` });
  await e2e.waitFor(async () => (await clusters(admin.port)).registries[0]?.reachable === true,
    { timeoutMs: 5_000, what: 'the registry source to be reported reachable on /clusters' });

  // Through the sidecar by name: the providers answer.
  const seen = new Set();
  for (let i = 0; i < 4; ++i) {
    const r = await e2e.proxyRequest(listen, 'http://service-provider/echo/x');
    assert.equal(r.status, 200, r.body);
    seen.add(r.body.match(HELLO)?.[1]);
  }
  assert.deepEqual([...seen].sort(), ['v1', 'v2']);

  // An operator takes v2 out of service on the real server: it leaves routing.
  const apps = JSON.parse((await e2e.request({ port: server.port, path: '/eureka/apps/SERVICE-PROVIDER',
    headers: { accept: 'application/json' } })).body).application.instance;
  const v2id = apps.find((i) => i.metadata.label === 'v2').instanceId;
  const changed = Date.now();
  const out = await e2e.request({ port: server.port, method: 'PUT',
    path: `/eureka/apps/SERVICE-PROVIDER/${encodeURIComponent(v2id)}/status?value=OUT_OF_SERVICE` });
  assert.equal(out.status, 200, out.body);
  await e2e.waitFor(async () => {
    const healthy = providerEndpoints(await clusters(admin.port)).filter((x) => x.healthy);
    return healthy.length === 1 && healthy[0].labels.label === 'v1';
  }, { timeoutMs: 15_000, intervalMs: 50, what: 'v2 OUT_OF_SERVICE to leave routing' });
  console.log(`# real Eureka server: OUT_OF_SERVICE -> routing in ${Date.now() - changed} ms`);

  // A graceful stop deregisters v1; with v2 still out of service nothing healthy is left.
  await v1.stop();
  await e2e.waitFor(async () => providerEndpoints(await clusters(admin.port)).length === 1,
    { timeoutMs: 15_000, intervalMs: 100, what: 'v1 to leave the watcher\'s view' });
  await v2.stop();
});

test('Spring providers on the embedded Eureka server: renewals keep them, a crash expires with its 3 s lease', async (t) => {
  const skip = e2e.springSkipReason(['demo-eureka']);
  if (skip) { t.skip(skip); return; }
  const registryProc = await e2e.startSluice(['registry', '--protocol', 'eureka', '--listen', '127.0.0.1:0',
    '--eureka-eviction-interval-ms', '200'],
  { name: 'sluice registry eureka', readyLine: /sluice registry listening on \S+:(\d+)\n/ });
  const port = Number(registryProc.ready[1]);
  const registry = `http://127.0.0.1:${port}/eureka/`;
  const [v1, v2] = await Promise.all([
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry }),
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry }),
  ]);
  const instances = async () => {
    const r = await e2e.request({ port, path: '/eureka/apps/SERVICE-PROVIDER', headers: { accept: 'application/json' } });
    return r.status === 200 ? JSON.parse(r.body).application.instance : [];
  };
  await e2e.waitFor(async () => (await instances()).length === 2, { timeoutMs: 20_000, what: 'both providers registered' });
  const registered = await instances();
  assert.deepEqual(registered.map((i) => i.metadata.label).sort(), ['v1', 'v2']);
  for (const i of registered) {
    assert.equal(i.status, 'UP');
    assert.equal(i.leaseInfo.durationInSecs, 3, 'the client\'s lease-expiration-duration-in-seconds');
  }
  // Longer than a lease: renewals (every 1 s) keep both.
  const deadline = Date.now() + 4_000;
  await e2e.waitFor(async () => Date.now() > deadline && (await instances()).length === 2,
    { timeoutMs: 8_000, intervalMs: 500, what: 'both providers still there after 4 s' });
  // A crash: no cancel; the lease runs out 3 s after the last renewal and eviction removes it.
  const killed = Date.now();
  await v1.kill();
  await e2e.waitFor(async () => {
    const left = await instances();
    return left.length === 1 && left[0].metadata.label === 'v2';
  }, { timeoutMs: 10_000, intervalMs: 100, what: 'the crashed v1 to expire' });
  const took = Date.now() - killed;
  console.log(`# embedded Eureka: crashed provider evicted after ${took} ms (lease 3 s)`);
  assert.ok(took >= 1_500, `evicted after ${took} ms: too early for a 3 s lease renewed every 1 s`);
  await v2.stop();
  await e2e.waitFor(async () => (await instances()).length === 0, { timeoutMs: 10_000, what: 'v2 to cancel on a graceful stop' });
});

// ---- pods ---------------------------------------------------------------------------------------

const REGISTRY_IP = '10.0.130.2';
const EUREKA_PORT = 8761;
const PROVIDER_PORT = 8070;  // the seed's any-spring-cloud-support.yaml listener port
const CONSUMER_PORT = 8080;
const ADMIN = 'http://127.0.0.1:15000';
const METHOD_FILES = ['any-spring-cloud-support.yaml'];
const ROUTING_FILES = ['service-provider.yaml', 'service-provider-vs.yaml'];

// `real`: the Eureka server jar in the registry pod, else `sluice registry --protocol eureka`.
async function startTopology(tag, { real, configFirst }) {
  const net = new PodNet(tag);
  const topo = { net, skip: await net.create(), dirs: [] };
  if (topo.skip) return topo;
  const registry = await net.addPod('registry');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer');
  const client = await net.addPod('client');
  assert.equal(registry.ip, REGISTRY_IP);
  Object.assign(topo, { registry, v1, v2, consumer, client, mesh: [v1, v2, consumer] });

  const eurekaUrl = `http://${REGISTRY_IP}:${EUREKA_PORT}/eureka/`;
  const serverReady = real
    ? e2e.startEurekaServer({ pod: registry, props: { 'server.port': EUREKA_PORT } })
    : registry.startSluice(['registry', '--protocol', 'eureka', '--listen', `${REGISTRY_IP}:${EUREKA_PORT}`],
      { readyLine: /sluice registry listening on \S+\n/ });
  serverReady.catch(() => {});  // awaited below, after the sidecars started

  for (const pod of topo.mesh) {
    const dir = e2e.makeTempDir(`sluice-eureka-pods-${pod.name}-`);
    topo.dirs.push(dir);
    if (configFirst) for (const f of METHOD_FILES) e2e.writeAtomic(dir, f, seedFile(f));
    const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
      '--dns-port', '15053', '--proxy-mark', '1337']);
    assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
    await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
      '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
      '--config', dir, '--registry', `eureka://${REGISTRY_IP}:${EUREKA_PORT}/eureka`,
      '--admin', '127.0.0.1:15000', '--service-node', pod.name], { name: 'sidecar' });
  }
  await serverReady;
  const props = { 'server.port': PROVIDER_PORT };
  const apps = await Promise.all([
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry: eurekaUrl, pod: v1, props }),
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry: eurekaUrl, pod: v2, props }),
    e2e.startDemoApp('eureka', { role: 'consumer', registry: eurekaUrl, pod: consumer,
      props: { 'server.port': CONSUMER_PORT } }),
  ]);
  topo.apps = apps;
  console.log(`# ${real ? 'real' : 'embedded'} Eureka pods: start-up ${apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')}`);

  // Ready when the consumer has seen both providers (registration, fetch and LB cache converged).
  await e2e.waitFor(async () => {
    const lines = await echo(topo, 'ready', 4);
    return lines.some((l) => l.includes('v1ready')) && lines.some((l) => l.includes('v2ready'));
  }, { timeoutMs: 90_000, intervalMs: 500, what: 'the consumer to reach both providers' })
    .catch((e) => { throw new Error(`${e.message}\n${describeAll(topo)}`); });
  return topo;
}

function describeAll(topo) {
  return [...topo.net.pods.values()].flatMap((p) => [...p.procs]).map((p) => p.describe().slice(-4000)).join('\n');
}

// `n` sequential GETs of the consumer's /echo/<word>, from the client pod: ['200 <body>', ...].
async function echo(topo, word, n) {
  const out = await topo.client.http({
    requests: Array.from({ length: n }, () => `http://${topo.consumer.ip}:${CONSUMER_PORT}/echo/${word}`),
    timeoutMs: 5_000,
  });
  return out.results.map((r) => (r.error ? `ERROR ${r.error}` : `${r.status} ${r.body}`));
}

const hello = (v, word) => `200 Hello Nacos Discovery From ${v}${word}`;

// Spring Cloud LoadBalancer's round robin over Eureka's (reshuffled) list: both versions, evenly,
// at most one repeat.
function assertRoundRobin(lines, word, topo) {
  const msg = `expected v1/v2 alternation:\n${lines.join('\n')}\n${describeAll(topo)}`;
  for (const l of lines) assert.ok(l === hello('v1', word) || l === hello('v2', word), msg);
  const v1 = lines.filter((l) => l === hello('v1', word)).length;
  const repeats = lines.filter((l, i) => i > 0 && l === lines[i - 1]).length;
  assert.ok(v1 >= lines.length / 2 - 1 && v1 <= lines.length / 2 + 1, msg);
  assert.ok(repeats <= 1, msg);
}

async function consumerAdmin(topo, path) {
  const out = await topo.consumer.http({ requests: [`${ADMIN}${path}`], timeoutMs: 2_000 });
  const r = out.results[0];
  if (r.error) throw new Error(`${path}: ${r.error}`);
  return r.body;
}

// Requests the consumer's sidecar routed as the mesh service service-provider (not passthrough).
async function meshCalls(topo) {
  const text = await consumerAdmin(topo, '/stats/prometheus');
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^(\w+)(\{[^}]*\})?\s+(\d+(?:\.\d+)?)$/);
    if (m && m[1] === 'istio_requests_total' && (m[2] ?? '').includes('destination_service_name="service-provider"')) {
      sum += Number(m[3]);
    }
  }
  return sum;
}

function applyToMesh(topo, files) {
  for (const dir of topo.dirs) for (const f of files) e2e.writeAtomic(dir, f, seedFile(f));
}

async function waitForConfig(topo, marker) {
  await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes(marker),
    { timeoutMs: 10_000, intervalMs: 100, what: `the consumer sidecar to load ${marker}` });
}

for (const { real, order, configFirst } of [false, true].flatMap((r) => [
  { real: r, order: 'a', configFirst: true },
  { real: r, order: 'b', configFirst: false },
])) {
  const which = real ? 'the real Eureka server' : 'sluice registry --protocol eureka';
  describe(`Spring Cloud Netflix pods, method 1, ${which}, order ${order}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? e2e.springSkipReason(['eureka-server', 'demo-eureka']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`eu${real ? 'r' : 'e'}${order}`, { real, configFirst });
    });
    after(async () => {
      await Promise.all((topo?.apps ?? []).map((a) => a.stop({ timeoutMs: 10_000 }).catch(() => {})));
      await topo?.net?.destroy();
    });

    test('round robin before the routing rules; /echo/hello -> v1 and the rest -> v2 after', async (t) => {
      if (topo.skip) return t.skip(topo.skip);
      if (!configFirst) {
        // Empty config: the sidecars pass traffic through untouched.
        const before = await meshCalls(topo);
        assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
        assert.equal(await meshCalls(topo), before, 'no mesh routing without the method config');
        applyToMesh(topo, METHOD_FILES);
        await waitForConfig(topo, 'any-spring-cloud-support');
      }
      // Method 1 on, no routing rules: the sidecar routes each call as service-provider, and its
      // round robin over the two Eureka instances keeps the seed's "before".
      const meshBefore = await meshCalls(topo);
      assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
      assert.ok(await meshCalls(topo) >= meshBefore + 8, 'the consumer sidecar routed the calls as service-provider');

      applyToMesh(topo, ROUTING_FILES);
      await waitForConfig(topo, 'hello-v1');
      await e2e.waitFor(async () => {
        const hellos = await echo(topo, 'hello', 4);
        const worlds = await echo(topo, 'world', 4);
        return hellos.every((l) => l === hello('v1', 'hello')) && worlds.every((l) => l === hello('v2', 'world'));
      }, { timeoutMs: 10_000, intervalMs: 200, what: 'the seed\'s routing to take effect' })
        .catch((e) => { throw new Error(`${e.message}\n${describeAll(topo)}`); });
      const hellos = await echo(topo, 'hello', 6);
      const worlds = await echo(topo, 'world', 6);
      assert.deepEqual(hellos, hellos.map(() => hello('v1', 'hello')));
      assert.deepEqual(worlds, worlds.map(() => hello('v2', 'world')));
      // The sidecar's view came from Eureka: both instances at their pod ipAddr:port, labelled.
      const eps = providerEndpoints(JSON.parse(await consumerAdmin(topo, '/clusters?format=json')));
      assert.deepEqual(eps.map((e) => `${e.address} ${e.labels.label}`).sort(),
        [`${topo.v1.ip}:${PROVIDER_PORT} v1`, `${topo.v2.ip}:${PROVIDER_PORT} v2`]);
    });
  });
}
