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
// intercepted the port). Method 1 on the same topology: consul_pods.test.mjs. The skeleton is
// lib/seed_scenario.mjs; this file says how the agent and its apps start and what method 2 sends.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, seedScenario,
} from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const CONSUL_PORT = 8500;
const AGENT = `${REGISTRY_IP}:${CONSUL_PORT}`;

// GET on the agent from inside the consumer pod (through its sidecar).
async function agentGet(topo, path) {
  const out = await topo.consumer.http({ requests: [{ url: `http://${AGENT}${path}`,
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

const startConsumer = (topo) => e2e.startDemoApp('consul', { role: 'consumer', registry: AGENT,
  pod: topo.consumer, props: { 'server.port': CONSUMER_PORT } });

seedScenario({
  title: 'Spring Cloud Consul pods, sluice registry --protocol consul',
  tag: 'cs2',
  label: 'embedded Consul pods',
  skipReason: () => e2e.springSkipReason(['demo-consul']),
  method: 2,
  methodFiles: [['registry-interception', 'external-consul-svc.yaml'],
    ['registry-interception', 'consul-subscribe-lua.yaml']],
  methodMarker: 'consul-subscribe-lua',
  startRegistry: async (topo) => {
    assert.equal(topo.registryPod.ip, REGISTRY_IP);
    const ready = topo.registryPod.startSluice(['registry', '--protocol', 'consul', '--listen', AGENT],
      { readyLine: /sluice registry listening on \S+\n/ });
    return { url: `consul://${AGENT}`, ready };
  },
  startProvider: (topo, version) => e2e.startDemoApp('consul', { role: 'provider', version,
    registry: AGENT, pod: topo[version], props: { 'server.port': PROVIDER_PORT } }),
  startConsumer,
  onWire: assertLookupsRewritten,
  // The sidecar's view came from Consul: both instances at their pod Service.Address:Port, labelled.
  afterRouting: assertProviderEndpointsLabelled,
});
