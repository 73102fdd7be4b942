// The seed's scenario with Spring Cloud Consul (the demo-consul jar of examples/spring-cloud,
// `make spring-apps`) on pods with transparent sidecars, method 1 (reverse DNS: the consumer's
// Spring Cloud LoadBalancer dials the Consul Service.Address:Port of a provider pod, its sidecar
// maps it back to service-provider), against `sluice registry --protocol consul` in a registry
// pod: before the routing rules the consumer alternates v1/v2; after the seed's DestinationRule +
// VirtualService, /echo/hello -> v1 and the rest -> v2. Two start-up orders: (a) the method config
// written before anything starts, (b) every mesh file applied to running apps and sidecars.
// The skeleton is lib/seed_scenario.mjs; this file says how Consul and its apps start.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, seedScenario } from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const CONSUL_PORT = 8500;

seedScenario({
  title: 'Spring Cloud Consul pods, sluice registry --protocol consul',
  tag: 'cs',
  label: 'embedded Consul pods',
  skipReason: () => e2e.springSkipReason(['demo-consul']),
  converging: true,
  startRegistry: async (topo) => {
    assert.equal(topo.registryPod.ip, REGISTRY_IP);
    const agent = `${REGISTRY_IP}:${CONSUL_PORT}`;
    const ready = topo.registryPod.startSluice(['registry', '--protocol', 'consul', '--listen', agent],
      { readyLine: /sluice registry listening on \S+\n/ });
    return { url: `consul://${agent}`, agent, ready };
  },
  startApps: async (topo, { agent }) => {
    const props = { 'server.port': PROVIDER_PORT };
    const [v1, v2, consumer] = await Promise.all([
      e2e.startDemoApp('consul', { role: 'provider', version: 'v1', registry: agent, pod: topo.v1, props }),
      e2e.startDemoApp('consul', { role: 'provider', version: 'v2', registry: agent, pod: topo.v2, props }),
      e2e.startDemoApp('consul', { role: 'consumer', registry: agent, pod: topo.consumer,
        props: { 'server.port': CONSUMER_PORT } }),
    ]);
    return { v1, v2, consumer };
  },
  // The sidecar's view came from Consul: both instances at their pod Service.Address:Port, labelled.
  afterRouting: assertProviderEndpointsLabelled,
});
