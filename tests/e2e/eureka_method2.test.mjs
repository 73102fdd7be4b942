// The seed's scenario by method 2 (registry interception) with real Spring Cloud Netflix apps
// (examples/spring-cloud, `make spring-apps`) in pods with transparent sidecars, against the
// embedded `sluice registry --protocol eureka` and against the real Eureka server (Spring Cloud
// Netflix, examples/spring-cloud/eureka-server): examples/registry-interception's
// external-eureka-svc.yaml + eureka-subscribe-lua.yaml make the consumer's own Eureka fetches
// (full and delta) pass its sidecar, which rewrites every hostName/ipAddr to service-provider;
// Spring Cloud LoadBalancer then dials service-provider:8070, the sidecar's DNS gives it a mesh VIP
// and the VirtualService decides: round robin before the routing rules, /echo/hello -> v1 and the
// rest -> v2 after. Two start-up orders: (a) the filter written before anything starts, (b) the
// filter applied to running apps, then the consumer restarted, as the seed's FAQ says (a running
// Eureka client only fetches deltas, which do not repeat the addresses it already knows).
// Method 1 on the same topology: eureka_spring.test.mjs.
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

// ---- pods ---------------------------------------------------------------------------------------

const REGISTRY_IP = '10.0.130.2';
const EUREKA_PORT = 8761;
// Per method: [examples dir, file]; and what the consumer sidecar's /config_dump shows once loaded.
const METHOD_FILES = {
  1: [['seed', 'any-spring-cloud-support.yaml']],
  2: [['registry-interception', 'external-eureka-svc.yaml'], ['registry-interception', 'eureka-subscribe-lua.yaml']],
};
const METHOD_MARKER = { 1: 'any-spring-cloud-support', 2: 'eureka-subscribe-lua' };

function exampleFile(dir, name) {
  return readFileSync(join(e2e.sourceDir(), 'examples', dir, name), 'utf8');
}

// `real`: the Eureka server jar in the registry pod, else `sluice registry --protocol eureka`.
async function startTopology(tag, { real, configFirst, method = 1 }) {
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

  const eurekaUrl = `http://${REGISTRY_IP}:${EUREKA_PORT}/eureka/`;
  const serverReady = real
    ? e2e.startEurekaServer({ pod: registry, props: { 'server.port': EUREKA_PORT } })
    : registry.startSluice(['registry', '--protocol', 'eureka', '--listen', `${REGISTRY_IP}:${EUREKA_PORT}`],
      { readyLine: /sluice registry listening on \S+\n/ });
  serverReady.catch(() => {});  // awaited below, after the sidecars started

  for (const pod of topo.mesh) {
    const dir = e2e.makeTempDir(`sluice-eureka-pods-${pod.name}-`);
    topo.dirs.push(dir);
    if (configFirst) for (const [d, f] of METHOD_FILES[method]) e2e.writeAtomic(dir, f, exampleFile(d, f));
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
  topo.startConsumer = () => e2e.startDemoApp('eureka', { role: 'consumer', registry: eurekaUrl,
    pod: consumer, props: { 'server.port': CONSUMER_PORT } });
  const apps = await Promise.all([
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry: eurekaUrl, pod: v1, props }),
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry: eurekaUrl, pod: v2, props }),
    topo.startConsumer(),
  ]);
  topo.apps = apps;
  console.log(`# ${real ? 'real' : 'embedded'} Eureka pods (method ${method}): start-up ${apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')}`);
  await waitForBothProviders(topo);
  return topo;
}

// GET of the Eureka server's apps from inside the consumer pod (through its sidecar).
async function eurekaFetch(topo, path, accept) {
  const out = await topo.consumer.http({ requests: [{ url: `http://${REGISTRY_IP}:${EUREKA_PORT}${path}`,
    headers: { accept, 'accept-encoding': 'gzip' } }], timeoutMs: 5_000 });
  const r = out.results[0];
  if (r.error || r.status !== 200) throw new Error(`${path}: ${r.error ?? `${r.status} ${r.body}`}`);
  return r;
}

// Method 2's proof on the wire: the consumer's full and delta fetches, JSON and XML, name the
// service instead of the provider pods; port, status and metadata kept; a consistent hash code.
async function assertFetchesRewritten(topo) {
  const full = await eurekaFetch(topo, '/eureka/apps/', 'application/json');
  assert.equal(full.headers['content-encoding'], undefined);
  const apps = JSON.parse(full.body).applications;
  const provider = [apps.application].flat().find((a) => a.name === 'SERVICE-PROVIDER');
  const instances = [provider.instance].flat();
  assert.deepEqual(instances.map((i) => [i.hostName, i.ipAddr]),
    [['service-provider', 'service-provider'], ['service-provider', 'service-provider']], full.body);
  const port = (i) => (typeof i.port === 'object' ? Number(i.port.$) : Number(i.port));
  assert.deepEqual(instances.map(port), [PROVIDER_PORT, PROVIDER_PORT]);
  assert.deepEqual(instances.map((i) => i.metadata.label).sort(), ['v1', 'v2']);
  const up = [apps.application].flat().flatMap((a) => [a.instance].flat()).filter((i) => i.status === 'UP');
  assert.match(apps.apps__hashcode, new RegExp(`UP_${up.length}_`), 'the hash code counts what was sent');
  const xml = await eurekaFetch(topo, '/eureka/apps/', 'application/xml');
  assert.doesNotMatch(xml.body, new RegExp(`<ipAddr>(${topo.v1.ip}|${topo.v2.ip})</ipAddr>`), xml.body);
  assert.match(xml.body, /<hostName>service-provider<\/hostName>/);
  const delta = await eurekaFetch(topo, '/eureka/apps/delta', 'application/json');
  assert.doesNotMatch(delta.body, new RegExp(`"(${topo.v1.ip}|${topo.v2.ip})"`), delta.body);
}

const POD_RUNS = [
  { method: 2, real: false, order: 'a', configFirst: true },
  { method: 2, real: false, order: 'b', configFirst: false },
  { method: 2, real: true, order: 'a', configFirst: true },
  { method: 2, real: true, order: 'b', configFirst: false },
];

for (const { method, real, order, configFirst } of POD_RUNS) {
  const which = real ? 'the real Eureka server' : 'sluice registry --protocol eureka';
  describe(`Spring Cloud Netflix pods, method ${method}, ${which}, order ${order}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? e2e.springSkipReason(['eureka-server', 'demo-eureka']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`eu${method}${real ? 'r' : 'e'}${order}`, { real, configFirst, method });
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
      if (method === 2) await assertFetchesRewritten(topo);
      // The method on, no routing rules: the sidecar routes each call as service-provider, and
      // its round robin over the two Eureka instances keeps the seed's "before".
      await assertSeedStepsThroughTheMesh(topo, `${real ? 'real' : 'embedded'} Eureka method ${method} (order ${order})`);
      // The sidecar's view came from Eureka: both instances at their pod ipAddr:port, labelled.
      await assertProviderEndpointsLabelled(topo);
    });
  });
}
