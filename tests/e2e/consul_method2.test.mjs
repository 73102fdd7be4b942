// The seed's scenario by method 2 (registry interception) with Spring Cloud Consul apps (the
// demo-consul jar of examples/spring-cloud, `make spring-apps`) in pods with transparent sidecars,
// against `sluice registry --protocol consul` in a registry pod: examples/registry-interception's
// external-consul-svc.yaml + consul-subscribe-lua.yaml make the consumer's /v1/health/service
// lookups pass its sidecar, which rewrites every address to service-provider; Spring Cloud
// LoadBalancer then dials service-provider:8070, the sidecar's DNS gives it a mesh VIP and the
// VirtualService decides: round robin before the routing rules, /echo/hello -> v1 and the rest ->
// v2 after. Blocking queries (index, wait, X-Consul-Index) pass through. Two start-up orders: (a)
// the filter written before anything starts, (b) applied to running apps, then the consumer
// restarted, as the seed's FAQ says (its pooled agent connection was opened before the sidecar
// intercepted the port). Method 1 on the same topology: consul_pods.test.mjs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, applyToMesh, assertRoundRobin, consumerAdmin, echo, hello,
  meshCalls, waitForConfig, restartConsumer, waitForBothProviders, assertSeedStepsThroughTheMesh,
  assertProviderEndpointsLabelled,
} from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

function exampleFile(dir, name) {
  return readFileSync(join(e2e.sourceDir(), 'examples', dir, name), 'utf8');
}

// ---- pods ---------------------------------------------------------------------------------------

const REGISTRY_IP = '10.0.130.2';
const CONSUL_PORT = 8500;
// Per method: [examples dir, file]; and what the consumer sidecar's /config_dump shows once loaded.
const METHOD_FILES = {
  1: [['seed', 'any-spring-cloud-support.yaml']],
  2: [['registry-interception', 'external-consul-svc.yaml'], ['registry-interception', 'consul-subscribe-lua.yaml']],
};
const METHOD_MARKER = { 1: 'any-spring-cloud-support', 2: 'consul-subscribe-lua' };

async function startTopology(tag, { configFirst, method = 1 }) {
  const net = new PodNet(tag);
  const topo = { net, method, skip: await net.create(), dirs: [] };
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
    if (configFirst) for (const [d, f] of METHOD_FILES[method]) e2e.writeAtomic(dir, f, exampleFile(d, f));
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
  topo.startConsumer = () => e2e.startDemoApp('consul', { role: 'consumer', registry: agent,
    pod: consumer, props: { 'server.port': CONSUMER_PORT } });
  const apps = await Promise.all([
    e2e.startDemoApp('consul', { role: 'provider', version: 'v1', registry: agent, pod: v1, props }),
    e2e.startDemoApp('consul', { role: 'provider', version: 'v2', registry: agent, pod: v2, props }),
    topo.startConsumer(),
  ]);
  topo.apps = apps;
  console.log(`# embedded Consul pods (method ${method}): start-up ${apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')}`);
  await waitForBothProviders(topo);
  return topo;
}

// GET on the agent from inside the consumer pod (through its sidecar).
async function agentGet(topo, path) {
  const out = await topo.consumer.http({ requests: [{ url: `http://${REGISTRY_IP}:${CONSUL_PORT}${path}`,
    headers: { 'accept-encoding': 'gzip' } }], timeoutMs: 10_000 });
  const r = out.results[0];
  if (r.error || r.status !== 200) throw new Error(`${path}: ${r.error ?? `${r.status} ${r.body}`}`);
  return r;
}

// Method 2's proof on the wire: health and catalog lookups name the service instead of the
// provider pods (port and meta kept), and a blocking query keeps its index and really blocks.
async function assertLookupsRewritten(topo) {
  const pods = new RegExp(`"(${topo.v1.ip}|${topo.v2.ip})"`);
  const health = await agentGet(topo, '/v1/health/service/service-provider?passing=true');
  const entries = JSON.parse(health.body);
  assert.deepEqual(entries.map((e) => [e.Service.Address, e.Node.Address, e.Service.Port]),
    [['service-provider', 'service-provider', PROVIDER_PORT], ['service-provider', 'service-provider', PROVIDER_PORT]]);
  assert.deepEqual(entries.map((e) => e.Service.Meta.label).sort(), ['v1', 'v2']);
  assert.doesNotMatch(health.body, pods);
  const index = Number(health.headers['x-consul-index']);
  assert.ok(index >= 1, `X-Consul-Index passes through: ${JSON.stringify(health.headers)}`);
  const catalog = await agentGet(topo, '/v1/catalog/service/service-provider');
  assert.doesNotMatch(catalog.body, pods);
  assert.deepEqual(JSON.parse(catalog.body).map((e) => e.ServiceAddress), ['service-provider', 'service-provider']);
  // A blocking query at the current index waits for its 1 s, unless the catalog moves meanwhile
  // (the agent's index is global: a check of another service may tick it); either way it keeps
  // its index semantics through the sidecar.
  const started = Date.now();
  const blocked = await agentGet(topo, `/v1/health/service/service-provider?passing=true&index=${index}&wait=1s`);
  const took = Date.now() - started;
  const next = Number(blocked.headers['x-consul-index']);
  assert.ok(next > index || (next === index && took >= 900),
    `index ${index} -> ${next} after ${took} ms: answered early without a change`);
  assert.doesNotMatch(blocked.body, pods);
}

for (const { method, order, configFirst } of [2].flatMap((m) => [
  { method: m, order: 'a', configFirst: true },
  { method: m, order: 'b', configFirst: false },
])) {
  describe(`Spring Cloud Consul pods, method ${method}, sluice registry --protocol consul, order ${order}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? e2e.springSkipReason(['demo-consul']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`cs${method}${order}`, { configFirst, method });
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
        assertRoundRobin(await echo(topo, 'world', 8), 'world', topo, { strict: false });
        assert.equal(await meshCalls(topo), before, 'no mesh routing without the method config');
        applyToMesh(topo, METHOD_FILES[method]);
        await waitForConfig(topo, METHOD_MARKER[method]);
        if (method === 2) await restartConsumer(topo);
      }
      if (method === 2) await assertLookupsRewritten(topo);
      // The method on, no routing rules: the sidecar routes each call as service-provider, and
      // its round robin over the two Consul instances keeps the seed's "before".
      await assertSeedStepsThroughTheMesh(topo, `Consul method ${method} (order ${order})`);
      // The sidecar's view came from Consul: both instances at their pod Service.Address:Port, labelled.
      await assertProviderEndpointsLabelled(topo);
    });
  });
}
