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
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, seedScenario } from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const HELLO = /^Hello Nacos Discovery From (v1|v2)/;

const clusters = e2e.clustersJson;
const { providerEndpoints } = e2e;

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

  // On demand (issue #15) against the real server: a second sidecar holds no service until the
  // first request names one; that request waits for the full fetch and is served by a provider.
  const lazy = await e2e.startSluice(['proxy', '--config', e2e.makeTempDir('sluice-eureka-lazy-'),
    '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--load-services', 'on-demand',
    '--load-wait-ms', '5000', '--registry', `eureka://127.0.0.1:${server.port}/eureka`],
  { name: 'sidecar-on-demand' });
  const lazyPorts = e2e.parseProxyReady(lazy);
  const lazyDump = async () => JSON.parse((await e2e.request({ port: lazyPorts.admin.port,
    path: '/config_dump' })).body);
  const fqdn = 'service-provider.default.svc.cluster.local';
  assert.deepEqual((await lazyDump()).on_demand, { loaded_hosts: [] });
  const cold = await e2e.proxyRequest(lazyPorts.listen, 'http://service-provider/echo/cold',
    { timeoutMs: 10_000 });
  assert.equal(cold.status, 200, cold.body);
  assert.match(cold.body, HELLO);
  const loaded = await lazyDump();
  assert.deepEqual(loaded.on_demand, { loaded_hosts: [fqdn] });
  assert.deepEqual(loaded.services.map((s) => s.fqdn ?? s.name), [fqdn]);
  await lazy.stop();

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

// ---- pods (the skeleton is lib/seed_scenario.mjs) ---------------------------------------------

const REGISTRY_IP = '10.0.130.2';
const EUREKA_PORT = 8761;

// `real`: the Eureka server jar in the registry pod, else `sluice registry --protocol eureka`.
for (const real of [false, true]) {
  seedScenario({
    title: `Spring Cloud Netflix pods, ${real ? 'the real Eureka server' : 'sluice registry --protocol eureka'}`,
    tag: `eu${real ? 'r' : 'e'}`,
    label: `${real ? 'real' : 'embedded'} Eureka pods`,
    skipReason: () => e2e.springSkipReason(['eureka-server', 'demo-eureka']),
    converging: true,
    startRegistry: async (topo) => {
      assert.equal(topo.registryPod.ip, REGISTRY_IP);
      const ready = real
        ? e2e.startEurekaServer({ pod: topo.registryPod, props: { 'server.port': EUREKA_PORT } })
        : topo.registryPod.startSluice(['registry', '--protocol', 'eureka', '--listen', `${REGISTRY_IP}:${EUREKA_PORT}`],
          { readyLine: /sluice registry listening on \S+\n/ });
      return { url: `eureka://${REGISTRY_IP}:${EUREKA_PORT}/eureka`, ready };
    },
    startApps: async (topo) => {
      const eurekaUrl = `http://${REGISTRY_IP}:${EUREKA_PORT}/eureka/`;
      const props = { 'server.port': PROVIDER_PORT };
      const [v1, v2, consumer] = await Promise.all([
        e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry: eurekaUrl, pod: topo.v1, props }),
        e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry: eurekaUrl, pod: topo.v2, props }),
        e2e.startDemoApp('eureka', { role: 'consumer', registry: eurekaUrl, pod: topo.consumer,
          props: { 'server.port': CONSUMER_PORT } }),
      ]);
      return { v1, v2, consumer };
    },
    // The sidecar's view came from Eureka: both instances at their pod ipAddr:port, labelled.
    afterRouting: assertProviderEndpointsLabelled,
  });
}
