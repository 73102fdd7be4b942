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
// Skips (saying why) without root / network namespaces or built Spring apps.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, applyToMesh, assertRoundRobin, consumerAdmin, describeAll, echo,
  hello, meshCalls, seedFile, waitForConfig, assertSeedStepsThroughTheMesh,
  assertProviderEndpointsLabelled,
} from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const NACOS = `${REGISTRY_IP}:8848`;
const NACOS_GRPC = `${REGISTRY_IP}:9848`;
const METHOD_FILES = ['external-nacos-svc.yaml', 'external-envoyfilter.yaml'];

async function startTopology(tag, configFirst) {
  const net = new PodNet(tag);
  const topo = { net, skip: await net.create(), dirs: [], apps: [] };
  if (topo.skip) return topo;
  const registry = await net.addPod('registry');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer');
  const client = await net.addPod('client');
  assert.equal(registry.ip, REGISTRY_IP);
  Object.assign(topo, { registry, v1, v2, consumer, client, mesh: [v1, v2, consumer] });

  await registry.startSluice(['registry', '--listen', NACOS],
    { readyLine: /sluice registry listening on \S+\n/ });
  for (const pod of topo.mesh) {
    const dir = e2e.makeTempDir(`sluice-nacos-grpc-m2-${pod.name}-`);
    topo.dirs.push(dir);
    if (configFirst) for (const f of METHOD_FILES) e2e.writeAtomic(dir, f, seedFile(f));
    const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
      '--dns-port', '15053', '--proxy-mark', '1337']);
    assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
    // The sidecar's own registry read (gRPC) is marked and bypasses the interception.
    await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
      '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
      '--config', dir, '--registry', `nacos://${NACOS}?transport=grpc`, '--admin', '127.0.0.1:15000',
      '--service-node', pod.name], { name: 'sidecar' });
  }
  const props = { 'server.port': PROVIDER_PORT };
  topo.startConsumer = () => e2e.startDemoApp('nacos', { role: 'consumer', registry: NACOS,
    pod: consumer, props: { 'server.port': CONSUMER_PORT } });
  topo.apps = await Promise.all([
    e2e.startDemoApp('nacos', { role: 'provider', version: 'v1', registry: NACOS, pod: v1, props }),
    e2e.startDemoApp('nacos', { role: 'provider', version: 'v2', registry: NACOS, pod: v2, props }),
    topo.startConsumer(),
  ]);
  console.log(`# nacos gRPC method 2 (order ${configFirst ? 'a' : 'b'}): start-up ` +
    `${topo.apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')}`);
  await waitForBothProviders(topo);
  return topo;
}

async function waitForBothProviders(topo) {
  let lines = [];
  await e2e.waitFor(async () => {
    lines = await echo(topo, 'ready', 4);
    return lines.some((l) => l.includes('v1ready')) && lines.some((l) => l.includes('v2ready'));
  }, { timeoutMs: 90_000, intervalMs: 500, what: 'the consumer to reach both providers' })
    .catch(async (e) => {
      const clusters = await consumerAdmin(topo, '/clusters').catch((x) => x.message);
      throw new Error(`${e.message}; last answers: ${JSON.stringify(lines)}\nconsumer sidecar /clusters:\n${clusters}\n${describeAll(topo)}`);
    });
}

async function restartConsumer(topo) {
  const old = topo.apps.pop();
  await old.stop({ timeoutMs: 10_000 });
  topo.apps.push(await topo.startConsumer());
  await waitForBothProviders(topo);
}

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

for (const { order, configFirst } of [{ order: 'a', configFirst: true }, { order: 'b', configFirst: false }]) {
  describe(`Spring Cloud Alibaba (nacos-client 3.x, gRPC) pods, method 2, order ${order}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? e2e.springSkipReason(['demo-nacos']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`ng2${order}`, configFirst);
    });
    after(async () => {
      await Promise.all((topo?.apps ?? []).map((a) => a.stop({ timeoutMs: 10_000 }).catch(() => {})));
      await topo?.net?.destroy();
    });

    test('round robin before the routing rules; /echo/hello -> v1 and the rest -> v2 after', { timeout: 300_000 }, async (t) => {
      if (topo.skip) return t.skip(topo.skip);
      if (!configFirst) {
        // Empty config: the apps' gRPC passes through untouched, the consumer calls pod addresses.
        const before = await meshCalls(topo);
        assertRoundRobin(await echo(topo, 'world', 8), 'world', topo, { strict: false });
        assert.equal(await meshCalls(topo), before, 'no mesh routing without the method config');
        const view = await grpcView(topo, { service: 'service-provider' });
        assert.deepEqual(view.query.map((h) => h.ip).sort(), [topo.v1.ip, topo.v2.ip].sort());
        applyToMesh(topo, METHOD_FILES);
        await waitForConfig(topo, 'nacos-subscribe-lua');
        await restartConsumer(topo);
      }
      const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
      assert.deepEqual(dump.registry_interception.map((r) => [r.registry, r.port, r.grpc_port]), [['nacos', 8848, 9848]]);
      await assertInstanceListRewritten(topo);

      await assertSeedStepsThroughTheMesh(topo, `nacos gRPC method 2 (order ${order})`);
      // The sidecar's own view came from the registry (gRPC watcher): both pods, labelled.
      await assertProviderEndpointsLabelled(topo);
    });
  });
}
