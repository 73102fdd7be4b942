// The seed's demo as real Spring Cloud applications (examples/spring-cloud, `make spring-apps`),
// WITHOUT Sluice: the baseline every registry's mesh test builds on. Provider v1 + v2 and the
// consumer register with a real registry; the consumer's @LoadBalanced RestTemplate (Spring Cloud
// LoadBalancer, round robin) alternates between the two versions, and each provider registers
// its version as instance metadata `label`.
//   (a) Spring Cloud Netflix against the real Eureka server (eureka-server.jar);
//   (b) Spring Cloud Zookeeper against Debian's real ZooKeeper 3.8, on loopback and in pods.
// The Nacos flavour needs a Nacos gRPC server (nacos-client 3.x speaks gRPC only): it is tested
// against `sluice registry`'s gRPC API in nacos_grpc.test.mjs, not here.
// JVM start-ups dominate the runtime: the three apps of a scenario start in parallel.
// ctest-label: jvm (no sluice process at all: make e2e-sanitized leaves it out)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';

after(e2e.cleanupAll);

const HELLO = /^Hello Nacos Discovery From (v1|v2)world$/;

// Waits until the consumer has seen both versions (registration, registry fetch and the
// load-balancer cache all converged), then sends a burst and checks it is round robin: both
// versions, evenly, alternating (one repeat allowed: the instance list may be re-read, and
// Eureka reshuffles it, between two requests of the burst).
async function assertRoundRobin(consumer, { timeoutMs = 90_000 } = {}) {
  let last = [];
  try {
    await e2e.waitFor(async () => {
      const seen = new Set();
      last = [];
      for (let i = 0; i < 4; ++i) {
        const r = await consumer.get('/echo/world');
        last.push(r.body ?? r.error);
        const m = r.status === 200 && r.body.match(HELLO);
        if (m) seen.add(m[1]);
      }
      return seen.size === 2;
    }, { timeoutMs, intervalMs: 500, what: 'the consumer to reach both v1 and v2' });
  } catch (e) {
    throw new Error(`${e.message}; last answers: ${JSON.stringify(last)}\n${consumer.describe().slice(-6000)}`);
  }

  const versions = [];
  for (let i = 0; i < 10; ++i) {
    const r = await consumer.get('/echo/world');
    assert.equal(r.status, 200, `request ${i}: ${JSON.stringify(r)}`);
    const m = r.body.match(HELLO);
    assert.ok(m, `request ${i}: unexpected body ${JSON.stringify(r.body)}`);
    versions.push(m[1]);
  }
  const v1 = versions.filter((v) => v === 'v1').length;
  const repeats = versions.filter((v, i) => i > 0 && v === versions[i - 1]).length;
  assert.ok(v1 >= 4 && v1 <= 6, `not even: ${versions.join(' ')}`);
  assert.ok(repeats <= 1, `not alternating: ${versions.join(' ')}`);
  return versions;
}

function logTimings(label, apps) {
  const parts = apps.map((a) => `${a.name} ${a.startupMs} ms`);
  console.log(`# ${label} start-up (JVM to health UP): ${parts.join(', ')}`);
}

test('eureka flavour: provider v1 + v2 and consumer against the real Eureka server alternate v1/v2, labels registered', async (t) => {
  const skip = e2e.springSkipReason(['eureka-server', 'demo-eureka']);
  if (skip) { t.skip(skip); return; }

  const server = await e2e.startEurekaServer();
  const registry = server.eurekaUrl;
  const [v1, v2, consumer] = await Promise.all([
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v1', registry }),
    e2e.startDemoApp('eureka', { role: 'provider', version: 'v2', registry }),
    e2e.startDemoApp('eureka', { role: 'consumer', registry }),
  ]);
  logTimings('eureka', [server, v1, v2, consumer]);

  // Each provider answers with its own version.
  assert.equal((await v1.get('/echo/x')).body, 'Hello Nacos Discovery From v1x');
  assert.equal((await v2.get('/echo/x')).body, 'Hello Nacos Discovery From v2x');

  const versions = await assertRoundRobin(consumer);
  console.log(`# eureka consumer /echo/world: ${versions.join(' ')}`);

  // The real server holds both instances, UP, with metadata label = version, at their ports.
  const r = await e2e.request({
    port: server.port, path: '/eureka/apps/SERVICE-PROVIDER', headers: { accept: 'application/json' },
  });
  assert.equal(r.status, 200, r.body);
  const instances = JSON.parse(r.body).application.instance;
  const byLabel = Object.fromEntries(instances.map((i) => [i.metadata.label, i]));
  assert.deepEqual(Object.keys(byLabel).sort(), ['v1', 'v2']);
  assert.equal(byLabel.v1.port.$, v1.port);
  assert.equal(byLabel.v2.port.$, v2.port);
  for (const i of instances) {
    assert.equal(i.status, 'UP');
    assert.equal(i.ipAddr, '127.0.0.1');
  }

  // A graceful stop deregisters at once: v1 leaves the server, the consumer ends on v2 only.
  await v1.stop();
  await e2e.waitFor(async () => {
    const after = await e2e.request({
      port: server.port, path: '/eureka/apps/SERVICE-PROVIDER', headers: { accept: 'application/json' },
    });
    return JSON.parse(after.body).application.instance.length === 1;
  }, { timeoutMs: 10_000, intervalMs: 200, what: 'v1 to leave the Eureka server' });
  await e2e.waitFor(async () => {
    for (let i = 0; i < 4; ++i) {
      if ((await consumer.get('/echo/world')).body !== 'Hello Nacos Discovery From v2world') return false;
    }
    return true;
  }, { timeoutMs: 15_000, intervalMs: 250, what: 'the consumer to use v2 only' });
});

// Runs Debian's zkCli.sh (a real ZooKeeper client) with one command, in `pod` if given.
function zkCli(connectString, args, pod) {
  const cli = ['/usr/share/zookeeper/bin/zkCli.sh', '-server', connectString, ...args];
  const [cmd, ...argv] = pod ? ['ip', 'netns', 'exec', pod.ns, ...cli] : cli;
  const r = spawnSync(cmd, argv, {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, JVMFLAGS: '-XX:TieredStopAtLevel=1 -Xshare:auto' },
  });
  return (r.stdout ?? '').split('\n');
}

// A znode's JSON data, or null.
function zkGet(connectString, path, pod) {
  const line = zkCli(connectString, ['get', path], pod).find((l) => l.startsWith('{'));
  return line ? JSON.parse(line) : null;
}

// A znode's children, or null.
function zkLs(connectString, path, pod) {
  const line = zkCli(connectString, ['ls', path], pod).find((l) => /^\[.*\]$/.test(l.trim()));
  return line ? line.trim().slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean) : null;
}

// The service-provider instances registered in ZooKeeper, keyed by their metadata label.
function zkProvidersByLabel(connectString, pod) {
  const ids = zkLs(connectString, '/services/service-provider', pod);
  assert.equal(ids?.length, 2, `instances under /services/service-provider: ${JSON.stringify(ids)}`);
  const nodes = ids.map((id) => zkGet(connectString, `/services/service-provider/${id}`, pod));
  const byLabel = Object.fromEntries(nodes.map((n) => [n?.payload?.metadata?.label, n]));
  assert.deepEqual(Object.keys(byLabel).sort(), ['v1', 'v2'], JSON.stringify(nodes));
  return byLabel;
}

test('zookeeper flavour: provider v1 + v2 and consumer against a real ZooKeeper alternate v1/v2, labels registered', async (t) => {
  const skip = e2e.springSkipReason(['demo-zookeeper']) ?? e2e.zookeeperSkipReason();
  if (skip) { t.skip(skip); return; }

  const zk = await e2e.startZooKeeper();
  const registry = zk.connectString;
  const [v1, v2, consumer] = await Promise.all([
    e2e.startDemoApp('zookeeper', { role: 'provider', version: 'v1', registry }),
    e2e.startDemoApp('zookeeper', { role: 'provider', version: 'v2', registry }),
    e2e.startDemoApp('zookeeper', { role: 'consumer', registry }),
  ]);
  logTimings('zookeeper', [v1, v2, consumer]);

  const versions = await assertRoundRobin(consumer);
  console.log(`# zookeeper consumer /echo/world: ${versions.join(' ')}`);

  // /services/service-provider/<id>: one ephemeral node per provider, payload metadata label.
  const byLabel = zkProvidersByLabel(registry);
  assert.equal(byLabel.v1.port, v1.port);
  assert.equal(byLabel.v2.port, v2.port);
  assert.equal(byLabel.v1.address, '127.0.0.1');
});

// The same in "pods" (network namespaces, tests/e2e/lib/pods.mjs), the way the mesh tests run the
// apps: each app registers its pod's own address and the consumer calls the provider pods.
test('zookeeper flavour in pods: apps register their pod addresses, the consumer alternates v1/v2', async (t) => {
  const skip = podsUnavailable() ?? e2e.springSkipReason(['demo-zookeeper']) ?? e2e.zookeeperSkipReason();
  if (skip) { t.skip(skip); return; }
  const pods = new PodNet('sa');
  t.after(() => pods.destroy());
  const why = await pods.create();
  if (why) { t.skip(why); return; }
  const zkHost = await pods.addPod('zookeeper');
  const v1Host = await pods.addPod('provider-v1');
  const v2Host = await pods.addPod('provider-v2');
  const consumerHost = await pods.addPod('consumer');

  const zk = await e2e.startZooKeeper({ pod: zkHost });
  const registry = zk.connectString;
  assert.equal(registry, `${zkHost.ip}:2181`);
  const [v1, v2, consumer] = await Promise.all([
    e2e.startDemoApp('zookeeper', { role: 'provider', version: 'v1', registry, pod: v1Host }),
    e2e.startDemoApp('zookeeper', { role: 'provider', version: 'v2', registry, pod: v2Host }),
    e2e.startDemoApp('zookeeper', { role: 'consumer', registry, pod: consumerHost }),
  ]);
  logTimings('zookeeper in pods', [v1, v2, consumer]);

  const versions = await assertRoundRobin(consumer);
  console.log(`# zookeeper (pods) consumer /echo/world: ${versions.join(' ')}`);

  const byLabel = zkProvidersByLabel(registry, zkHost);
  assert.equal(byLabel.v1.address, v1Host.ip);
  assert.equal(byLabel.v2.address, v2Host.ip);
  assert.equal(byLabel.v1.port, v1.port);
});
