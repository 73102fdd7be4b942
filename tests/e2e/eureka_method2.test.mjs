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
// Method 1 on the same topology: eureka_spring.test.mjs. The skeleton is lib/seed_scenario.mjs;
// this file says how the servers and their apps start and what method 2 sends.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, seedScenario,
} from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const EUREKA_PORT = 8761;
const EUREKA_URL = `http://${REGISTRY_IP}:${EUREKA_PORT}/eureka/`;

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

const startConsumer = (topo) => e2e.startDemoApp('eureka', { role: 'consumer', registry: EUREKA_URL,
  pod: topo.consumer, props: { 'server.port': CONSUMER_PORT } });

// `real`: the Eureka server jar in the registry pod, else `sluice registry --protocol eureka`.
for (const real of [false, true]) {
  seedScenario({
    title: `Spring Cloud Netflix pods, ${real ? 'the real Eureka server' : 'sluice registry --protocol eureka'}`,
    tag: `eu2${real ? 'r' : 'e'}`,
    label: `${real ? 'real' : 'embedded'} Eureka pods`,
    skipReason: () => e2e.springSkipReason(['eureka-server', 'demo-eureka']),
    method: 2,
    methodFiles: [['registry-interception', 'external-eureka-svc.yaml'],
      ['registry-interception', 'eureka-subscribe-lua.yaml']],
    methodMarker: 'eureka-subscribe-lua',
    startRegistry: async (topo) => {
      assert.equal(topo.registryPod.ip, REGISTRY_IP);
      const ready = real
        ? e2e.startEurekaServer({ pod: topo.registryPod, props: { 'server.port': EUREKA_PORT } })
        : topo.registryPod.startSluice(['registry', '--protocol', 'eureka', '--listen',
          `${REGISTRY_IP}:${EUREKA_PORT}`], { readyLine: /sluice registry listening on \S+\n/ });
      return { url: `eureka://${REGISTRY_IP}:${EUREKA_PORT}/eureka`, ready };
    },
    startProvider: (topo, version) => e2e.startDemoApp('eureka', { role: 'provider', version,
      registry: EUREKA_URL, pod: topo[version], props: { 'server.port': PROVIDER_PORT } }),
    startConsumer,
    onWire: assertFetchesRewritten,
    // The sidecar's view came from Eureka: both instances at their pod ipAddr:port, labelled.
    afterRouting: assertProviderEndpointsLabelled,
  });
}
