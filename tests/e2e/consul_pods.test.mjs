// The seed's scenario with Spring Cloud Consul (the demo-consul jar of examples/spring-cloud,
// `make spring-apps`) on pods with transparent sidecars, method 1 (reverse DNS: the consumer's
// Spring Cloud LoadBalancer dials the Consul Service.Address:Port of a provider pod, its sidecar
// maps it back to service-provider), against `sluice registry --protocol consul` in a registry
// pod: before the routing rules the consumer alternates v1/v2; after the seed's DestinationRule +
// VirtualService, /echo/hello -> v1 and the rest -> v2. Two start-up orders: (a) the method config
// written before anything starts, (b) every mesh file applied to running apps and sidecars.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';

after(e2e.cleanupAll);

function seedFile(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

// The endpoints of service-provider, over its default and subset clusters, once each.
function providerEndpoints(c) {
  const byAddress = new Map();
  for (const cluster of c.clusters.filter((x) => x.name.includes('service-provider'))) {
    for (const e of cluster.endpoints) byAddress.set(e.address, e);
  }
  return [...byAddress.values()];
}

// ---- pods ---------------------------------------------------------------------------------------

const REGISTRY_IP = '10.0.130.2';
const CONSUL_PORT = 8500;
const PROVIDER_PORT = 8070;  // the seed's any-spring-cloud-support.yaml listener port
const CONSUMER_PORT = 8080;
const ADMIN = 'http://127.0.0.1:15000';
const METHOD_FILES = ['any-spring-cloud-support.yaml'];
const ROUTING_FILES = ['service-provider.yaml', 'service-provider-vs.yaml'];

async function startTopology(tag, { configFirst }) {
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

  const agent = `${REGISTRY_IP}:${CONSUL_PORT}`;
  const serverReady = registry.startSluice(['registry', '--protocol', 'consul', '--listen', agent],
    { readyLine: /sluice registry listening on \S+\n/ });
  serverReady.catch(() => {});  // awaited below, after the sidecars started

  for (const pod of topo.mesh) {
    const dir = e2e.makeTempDir(`sluice-consul-pods-${pod.name}-`);
    topo.dirs.push(dir);
    if (configFirst) for (const f of METHOD_FILES) e2e.writeAtomic(dir, f, seedFile(f));
    const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
      '--dns-port', '15053', '--proxy-mark', '1337']);
    assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
    await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
      '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
      '--config', dir, '--registry', `consul://${agent}`,
      '--admin', '127.0.0.1:15000', '--service-node', pod.name], { name: 'sidecar' });
  }
  await serverReady;
  const props = { 'server.port': PROVIDER_PORT };
  const apps = await Promise.all([
    e2e.startDemoApp('consul', { role: 'provider', version: 'v1', registry: agent, pod: v1, props }),
    e2e.startDemoApp('consul', { role: 'provider', version: 'v2', registry: agent, pod: v2, props }),
    e2e.startDemoApp('consul', { role: 'consumer', registry: agent, pod: consumer,
      props: { 'server.port': CONSUMER_PORT } }),
  ]);
  topo.apps = apps;
  console.log(`# embedded Consul pods: start-up ${apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')}`);

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

// Spring Cloud LoadBalancer's round robin over Consul's list: both versions, evenly,
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

for (const { order, configFirst } of [{ order: 'a', configFirst: true }, { order: 'b', configFirst: false }]) {
  describe(`Spring Cloud Consul pods, method 1, sluice registry --protocol consul, order ${order}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? e2e.springSkipReason(['demo-consul']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`cs${order}`, { configFirst });
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
      // round robin over the two Consul instances keeps the seed's "before".
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
      // The sidecar's view came from Consul: both instances at their pod Service.Address:Port, labelled.
      const eps = providerEndpoints(JSON.parse(await consumerAdmin(topo, '/clusters?format=json')));
      assert.deepEqual(eps.map((e) => `${e.address} ${e.labels.label}`).sort(),
        [`${topo.v1.ip}:${PROVIDER_PORT} v1`, `${topo.v2.ip}:${PROVIDER_PORT} v2`]);
    });
  });
}
