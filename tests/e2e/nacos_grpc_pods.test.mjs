// The seed's scenario with Spring Cloud Alibaba applications (examples/spring-cloud, demo-nacos:
// nacos-client 3.x, which registers, queries and subscribes over gRPC only) in "pods" (network
// namespaces, lib/pods.mjs) with transparent sidecars, against `sluice registry` in its own pod
// (HTTP 8848, gRPC 9848 like a real Nacos). The applications know nothing about the mesh: their
// gRPC connections to the registry pass through their pods' interception; the sidecars read the
// same registry (`--registry nacos://...`, gRPC subscribe push) and, with the seed's
// any-spring-cloud-support.yaml (method 1, reverse DNS), map the provider pod addresses the
// consumer got over gRPC back to service-provider:
//   before the routing rules: the consumer alternates v1/v2 (through the mesh);
//   after the seed's DestinationRule + VirtualService: /echo/hello -> v1 only, the rest -> v2;
//   a provider that stops leaves routing as soon as its gRPC connection closes.
// Skips (saying why) without root / network namespaces or built Spring apps.
// The skeleton is lib/seed_scenario.mjs; this file says how Nacos and its apps start.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { CONSUMER_PORT, PROVIDER_PORT, assertAll, consumerAdmin, echo, seedScenario } from './lib/seed_scenario.mjs';
import { springSkipReason, startDemoApp } from './lib/spring.mjs';

after(e2e.cleanupAll);

seedScenario({
  title: 'Spring Cloud Alibaba (gRPC) in pods',
  tag: 'n',
  label: 'nacos gRPC pods',
  orders: ['a'],
  skipReason: () => springSkipReason(['demo-nacos']),
  gateway: true,
  startRegistry: async (topo) => {
    const nacosAddr = `${topo.registryPod.ip}:8848`;
    await topo.registryPod.startSluice(['registry', '--listen', nacosAddr],
      { name: 'registry', readyLine: /sluice registry listening on \S+\n/ });
    return { url: `nacos://${nacosAddr}?transport=grpc`, nacosAddr };
  },
  // The apps reach the registry (gRPC on 9848) through their pods' interception.
  startApps: async (topo, { nacosAddr }) => {
    const [v1, v2, consumer] = await Promise.all([
      startDemoApp('nacos', { role: 'provider', version: 'v1', registry: nacosAddr, pod: topo.v1,
        props: { 'server.port': PROVIDER_PORT } }),
      startDemoApp('nacos', { role: 'provider', version: 'v2', registry: nacosAddr, pod: topo.v2,
        props: { 'server.port': PROVIDER_PORT } }),
      // Registered as `consumer`: the seed's gateway VirtualService routes to consumer:8080.
      startDemoApp('nacos', { role: 'consumer', registry: nacosAddr, pod: topo.consumer,
        props: { 'server.port': CONSUMER_PORT, 'spring.application.name': 'consumer' } }),
    ]);
    return { v1, v2, consumer };
  },
  // Provider v1 crashes: its gRPC connection closes, the registry drops the instance and pushes
  // the change; /echo/hello (v1 only) has no endpoint left, the rest stays on v2.
  afterRouting: async (topo) => {
    const endpoint = `${topo.v1.ip}:${PROVIDER_PORT}::labels::`;
    assert.ok((await consumerAdmin(topo, '/clusters')).includes(endpoint));
    await topo.apps.v1.kill();
    const killed = Date.now();
    await e2e.waitFor(async () => !(await consumerAdmin(topo, '/clusters')).includes(endpoint),
      { timeoutMs: 5_000, intervalMs: 50, what: 'the crashed provider to leave the sidecar' });
    console.log(`# nacos gRPC pods: provider crash -> gone from the consumer's sidecar in ${Date.now() - killed} ms`);
    assertAll(await echo(topo, 'world', 4), 'v2', 'world', topo);
  },
});
