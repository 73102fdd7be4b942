// The seed's scenario by method 2 (registry interception) over Nacos' gRPC API: real Spring Cloud
// Alibaba apps (examples/spring-cloud demo-nacos, nacos-client 3.x: register, query and subscribe
// over gRPC only, the clients the seed says method 2 cannot serve) in pods with transparent
// sidecars, against `sluice registry` (HTTP 8848, gRPC 9848) in its own pod. The seed's
// external-nacos-svc.yaml + external-envoyfilter.yaml name port 8848; the sidecar then also
// terminates the apps' HTTP/2 connections to 9848 and rewrites every instance address the Nacos
// server sends (QueryServiceResponse, SubscribeServiceResponse, NotifySubscriberRequest pushes
// on the bi-directional stream) to service-provider. Spring Cloud LoadBalancer dials
// service-provider:8070, the sidecar's DNS gives it a mesh VIP, and the VirtualService decides:
// round robin before the routing rules, /echo/hello -> v1 and the rest -> v2 after. No reverse
// DNS (method 1) config anywhere: routing by name is method 2's doing.
// Two start-up orders: (a) the method's files written before anything starts; (b) applied to
// running apps (passed through untouched until then), then the consumer restarted, as the seed's
// FAQ says (a connection opened before the filter stays a byte relay).
// Skips (saying why) without root / network namespaces or built Spring apps. The skeleton is
// lib/seed_scenario.mjs; this file says how the server and its apps start and what method 2 sends.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, consumerAdmin, seedScenario,
} from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const NACOS = `${REGISTRY_IP}:8848`;
const NACOS_GRPC = `${REGISTRY_IP}:9848`;

// What a Nacos gRPC client in the consumer pod is told (through the consumer's sidecar).
async function grpcView(topo, spec) {
  const script = new URL('./lib/nacos_grpc_view.mjs', import.meta.url).pathname;
  const r = await topo.consumer.run(process.execPath, [script, JSON.stringify({ address: NACOS_GRPC, ...spec })],
    { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`nacos_grpc_view: ${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

// Method 2's proof on the wire: subscribe and query answers, and a push, name the service
// instead of the provider pods; ports and metadata kept.
async function assertInstanceListRewritten(topo) {
  const view = await grpcView(topo, { service: 'service-provider' });
  for (const what of ['subscribe', 'query']) {
    const hosts = view[what];
    assert.deepEqual(hosts.map((h) => h.ip), ['service-provider', 'service-provider'], `${what}: ${JSON.stringify(hosts)}`);
    assert.deepEqual(hosts.map((h) => h.port), [PROVIDER_PORT, PROVIDER_PORT]);
    assert.deepEqual(hosts.map((h) => h.metadata.label).sort(), ['v1', 'v2']);
    assert.ok(hosts.every((h) => !h.instanceId || h.instanceId.startsWith('service-provider#')), JSON.stringify(hosts));
    assert.doesNotMatch(JSON.stringify(hosts), new RegExp(`${topo.v1.ip}|${topo.v2.ip}`));
  }
  const probe = await grpcView(topo, { service: 'push-probe', probeIp: topo.consumer.ip });
  assert.deepEqual(probe.push.map((h) => [h.ip, h.port, h.metadata.probe]), [['push-probe', 9999, 'yes']],
    JSON.stringify(probe.push));
}

const startConsumer = (topo) => e2e.startDemoApp('nacos', { role: 'consumer', registry: NACOS,
  pod: topo.consumer, props: { 'server.port': CONSUMER_PORT } });

seedScenario({
  title: 'Spring Cloud Alibaba (nacos-client 3.x, gRPC) pods',
  tag: 'ng2',
  label: 'nacos gRPC pods',
  skipReason: () => e2e.springSkipReason(['demo-nacos']),
  method: 2,
  methodFiles: ['external-nacos-svc.yaml', 'external-envoyfilter.yaml'],
  methodMarker: 'nacos-subscribe-lua',
  startRegistry: async (topo) => {
    assert.equal(topo.registryPod.ip, REGISTRY_IP);
    const ready = topo.registryPod.startSluice(['registry', '--listen', NACOS],
      { readyLine: /sluice registry listening on \S+\n/ });
    return { url: `nacos://${NACOS}?transport=grpc`, ready };
  },
  startProvider: (topo, version) => e2e.startDemoApp('nacos', { role: 'provider', version,
    registry: NACOS, pod: topo[version], props: { 'server.port': PROVIDER_PORT } }),
  startConsumer,
  // Passed through untouched until the method's files: the consumer is told the pod addresses.
  beforeMethod: async (topo) => {
    const view = await grpcView(topo, { service: 'service-provider' });
    assert.deepEqual(view.query.map((h) => h.ip).sort(), [topo.v1.ip, topo.v2.ip].sort());
  },
  onWire: async (topo) => {
    const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
    assert.deepEqual(dump.registry_interception.map((r) => [r.registry, r.port, r.grpc_port]),
      [['nacos', 8848, 9848]]);
    await assertInstanceListRewritten(topo);
  },
  // The sidecar's own view came from the registry (gRPC watcher): both pods, labelled.
  afterRouting: assertProviderEndpointsLabelled,
});
