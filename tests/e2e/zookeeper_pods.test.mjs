// The seed's scenario with Spring Cloud Zookeeper applications (examples/spring-cloud,
// demo-zookeeper) in "pods" (network namespaces, lib/pods.mjs) with transparent sidecars, against
// Debian's real ZooKeeper in its own pod. The applications know nothing about the mesh; the
// sidecars read the same ZooKeeper (`--registry zookeeper://...`) and, with the seed's
// any-spring-cloud-support.yaml (method 1, reverse DNS), map the provider pod addresses the
// consumer dials back to service-provider:
//   before the routing rules: the consumer alternates v1/v2 (through the mesh);
//   after the seed's DestinationRule + VirtualService: /echo/hello -> v1 only, the rest -> v2.
// Two start-up orders: (a) the method's config written before anything starts, (b) everything
// running with empty config dirs (sidecars pass traffic through), then the config applied.
// Skips (saying why) without root / network namespaces, built Spring apps or ZooKeeper.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import { springSkipReason, startDemoApp } from './lib/spring.mjs';
import { startZooKeeper, zookeeperSkipReason } from './lib/zookeeper.mjs';

after(e2e.cleanupAll);

// The seed's ports: the EnvoyFilter matches 8070, the gateway's VirtualService routes to 8080.
const PROVIDER_PORT = 8070;
const CONSUMER_PORT = 8080;
const ADMIN = 'http://127.0.0.1:15000';
const METHOD_FILE = 'any-spring-cloud-support.yaml';
const ROUTING_FILES = ['service-provider.yaml', 'service-provider-vs.yaml'];

function seedFile(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

function describeAll(topo) {
  return [...topo.net.pods.values()].flatMap((p) => [...p.procs]).map((p) => p.describe()).join('\n');
}

async function startTopology(tag, { configFirst }) {
  const net = new PodNet(tag);
  const topo = { net, skip: await net.create(), dirs: [] };
  if (topo.skip) return topo;
  const zkPod = await net.addPod('zookeeper');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer');
  const gateway = await net.addPod('gateway');
  const client = await net.addPod('client');
  Object.assign(topo, { zkPod, v1, v2, consumer, gateway, client });

  const zk = await startZooKeeper({ pod: zkPod });
  const registry = `zookeeper://${zk.connectString}`;

  for (const pod of [v1, v2, consumer]) {
    const dir = e2e.makeTempDir(`sluice-zkpods-${pod.name}-`);
    topo.dirs.push(dir);
    if (configFirst) e2e.writeAtomic(dir, METHOD_FILE, seedFile(METHOD_FILE));
    const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
      '--dns-port', '15053', '--proxy-mark', '1337']);
    assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
    await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
      '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
      '--config', dir, '--registry', registry, '--admin', '127.0.0.1:15000',
      '--service-node', pod.name], { name: 'sidecar' });
  }

  // The apps reach ZooKeeper through their pods' interception (relayed as TCP by the sidecars).
  const started = Date.now();
  const [p1, p2, c] = await Promise.all([
    startDemoApp('zookeeper', { role: 'provider', version: 'v1', registry: zk.connectString, pod: v1,
      props: { 'server.port': PROVIDER_PORT } }),
    startDemoApp('zookeeper', { role: 'provider', version: 'v2', registry: zk.connectString, pod: v2,
      props: { 'server.port': PROVIDER_PORT } }),
    // Registered as `consumer`: the seed's gateway VirtualService routes to consumer:8080.
    startDemoApp('zookeeper', { role: 'consumer', registry: zk.connectString, pod: consumer,
      props: { 'server.port': CONSUMER_PORT, 'spring.application.name': 'consumer' } }),
  ]);
  console.log(`# zookeeper pods (order ${configFirst ? 'a' : 'b'}): apps up in ${Date.now() - started} ms ` +
    `(${[p1, p2, c].map((a) => `${a.name} ${a.startupMs} ms`).join(', ')})`);

  const gwDir = e2e.makeTempDir('sluice-zkpods-gw-');
  for (const f of ['test-gateway.yaml', 'consumer.yaml']) e2e.writeAtomic(gwDir, f, seedFile(f));
  await gateway.startSluice(['gateway', '--config', gwDir, '--listen-host', gateway.ip,
    '--registry', registry, '--admin', '127.0.0.1:15000']);

  await e2e.waitFor(async () => {
    const lines = await echo(topo, 'ready', 2);
    return lines.some((l) => l.endsWith('v1ready')) && lines.some((l) => l.endsWith('v2ready'));
  }, { timeoutMs: 30_000, intervalMs: 250, what: 'the gateway to reach the consumer and both providers' })
    .catch((e) => { throw new Error(`${e.message}\n${describeAll(topo)}`); });
  return topo;
}

// `n` sequential GETs of /echo/<word> through the gateway, from the client pod.
async function echo(topo, word, n) {
  const out = await topo.client.http({
    requests: Array.from({ length: n }, () => `http://${topo.gateway.ip}/echo/${word}`), timeoutMs: 5_000,
  });
  return out.results.map((r) => (r.error ? `ERROR ${r.error}` : `${r.status} ${r.body}`));
}

const hello = (v, word) => `200 Hello Nacos Discovery From ${v}${word}`;

function assertRoundRobin(lines, word, topo) {
  const msg = `expected v1/v2 alternation:\n${lines.join('\n')}\n${describeAll(topo)}`;
  for (const l of lines) assert.ok(l === hello('v1', word) || l === hello('v2', word), msg);
  for (let i = 1; i < lines.length; i += 1) assert.notEqual(lines[i], lines[i - 1], msg);
}

function assertAll(lines, version, word, topo) {
  assert.deepEqual(lines, lines.map(() => hello(version, word)),
    `expected every /echo/${word} from ${version}:\n${lines.join('\n')}\n${describeAll(topo)}`);
}

async function consumerAdmin(topo, path) {
  const out = await topo.consumer.http({ requests: [`${ADMIN}${path}`], timeoutMs: 2_000 });
  const r = out.results[0];
  if (r.error) throw new Error(`${path}: ${r.error}`);
  return r.body;
}

// Requests the consumer's sidecar routed as the mesh service service-provider.
async function meshCalls(topo) {
  const text = await consumerAdmin(topo, '/stats/prometheus');
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^istio_requests_total(\{[^}]*\})?\s+(\d+)$/);
    if (m && (m[1] ?? '').includes('destination_service_name="service-provider"')) sum += Number(m[2]);
  }
  return sum;
}

function apply(topo, files) {
  for (const dir of topo.dirs) for (const f of files) e2e.writeAtomic(dir, f, seedFile(f));
}

for (const { order, configFirst, what } of [
  { order: 'a', configFirst: true, what: 'method 1 config written before any app starts' },
  { order: 'b', configFirst: false, what: 'method 1 config applied to running apps and sidecars' },
]) {
  describe(`Spring Cloud Zookeeper in pods, method 1 (reverse DNS), order ${order}: ${what}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? springSkipReason(['demo-zookeeper']) ?? zookeeperSkipReason();
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`z${order}`, { configFirst });
    });
    after(async () => { await topo?.net?.destroy(); });

    test('v1/v2 alternate before the routing rules; /echo/hello -> v1 and the rest -> v2 after', { timeout: 300_000 }, async (t) => {
      if (topo.skip) return t.skip(topo.skip);
      if (!configFirst) {
        const passthrough = await meshCalls(topo);
        assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
        assert.equal(await meshCalls(topo), passthrough, 'no mesh routing without the method config');
        apply(topo, [METHOD_FILE]);
        await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes('any-spring-cloud-support'),
          { timeoutMs: 10_000, intervalMs: 100, what: "the consumer sidecar's /config_dump to show the EnvoyFilter" });
      }
      // The sidecar knows the providers from ZooKeeper, with their labels.
      const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
      for (const pod of [topo.v1, topo.v2]) {
        assert.match(dump.reverse_dns.addresses[`${pod.ip}:${PROVIDER_PORT}`] ?? '', /^service-provider\./,
          JSON.stringify(dump.reverse_dns));
      }
      const viaMesh = await meshCalls(topo);
      const before = await echo(topo, 'world', 8);
      console.log(`# zookeeper pods (order ${order}) before: ${before.map((l) => l.slice(-7)).join(' ')}`);
      assertRoundRobin(before, 'world', topo);
      assert.equal(await meshCalls(topo) - viaMesh, 8, 'the sidecar routed every call as service-provider');

      apply(topo, ROUTING_FILES);
      await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes('hello-v1'),
        { timeoutMs: 10_000, intervalMs: 100, what: 'the consumer sidecar /config_dump to show hello-v1' });
      const hellos = await echo(topo, 'hello', 8);
      const worlds = await echo(topo, 'world', 8);
      console.log(`# zookeeper pods (order ${order}) after: hello ${hellos.map((l) => l.slice(-7)).join(' ')}; world ${worlds.map((l) => l.slice(-7)).join(' ')}`);
      assertAll(hellos, 'v1', 'hello', topo);
      assertAll(worlds, 'v2', 'world', topo);
    });
  });
}
