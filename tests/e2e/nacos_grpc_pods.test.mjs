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
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import { springSkipReason, startDemoApp } from './lib/spring.mjs';

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
  const regPod = await net.addPod('registry');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer');
  const gateway = await net.addPod('gateway');
  const client = await net.addPod('client');
  Object.assign(topo, { regPod, v1, v2, consumer, gateway, client });

  const nacosAddr = `${regPod.ip}:8848`;
  await regPod.startSluice(['registry', '--listen', nacosAddr],
    { name: 'registry', readyLine: /sluice registry listening on \S+\n/ });
  const registry = `nacos://${nacosAddr}?transport=grpc`;

  for (const pod of [v1, v2, consumer]) {
    const dir = e2e.makeTempDir(`sluice-nacospods-${pod.name}-`);
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

  // The apps reach the registry (gRPC on 9848) through their pods' interception.
  const started = Date.now();
  const [p1, p2, c] = await Promise.all([
    startDemoApp('nacos', { role: 'provider', version: 'v1', registry: nacosAddr, pod: v1,
      props: { 'server.port': PROVIDER_PORT } }),
    startDemoApp('nacos', { role: 'provider', version: 'v2', registry: nacosAddr, pod: v2,
      props: { 'server.port': PROVIDER_PORT } }),
    // Registered as `consumer`: the seed's gateway VirtualService routes to consumer:8080.
    startDemoApp('nacos', { role: 'consumer', registry: nacosAddr, pod: consumer,
      props: { 'server.port': CONSUMER_PORT, 'spring.application.name': 'consumer' } }),
  ]);
  topo.apps = { v1: p1, v2: p2, consumer: c };
  console.log(`# nacos gRPC pods (order ${configFirst ? 'a' : 'b'}): apps up in ${Date.now() - started} ms ` +
    `(${[p1, p2, c].map((a) => `${a.name} ${a.startupMs} ms`).join(', ')})`);

  const gwDir = e2e.makeTempDir('sluice-nacospods-gw-');
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
]) {
  describe(`Spring Cloud Alibaba (gRPC) in pods, method 1 (reverse DNS), order ${order}: ${what}`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable() ?? springSkipReason(['demo-nacos']);
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`n${order}`, { configFirst });
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
      // The sidecar knows the providers from the registry (gRPC push), with their labels.
      const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
      for (const pod of [topo.v1, topo.v2]) {
        assert.match(dump.reverse_dns.addresses[`${pod.ip}:${PROVIDER_PORT}`] ?? '', /^service-provider\./,
          JSON.stringify(dump.reverse_dns));
      }
      const viaMesh = await meshCalls(topo);
      const before = await echo(topo, 'world', 8);
      console.log(`# nacos gRPC pods (order ${order}) before: ${before.map((l) => l.slice(-7)).join(' ')}`);
      assertRoundRobin(before, 'world', topo);
      assert.equal(await meshCalls(topo) - viaMesh, 8, 'the sidecar routed every call as service-provider');

      apply(topo, ROUTING_FILES);
      await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes('hello-v1'),
        { timeoutMs: 10_000, intervalMs: 100, what: 'the consumer sidecar /config_dump to show hello-v1' });
      const hellos = await echo(topo, 'hello', 8);
      const worlds = await echo(topo, 'world', 8);
      console.log(`# nacos gRPC pods (order ${order}) after: hello ${hellos.map((l) => l.slice(-7)).join(' ')}; world ${worlds.map((l) => l.slice(-7)).join(' ')}`);
      assertAll(hellos, 'v1', 'hello', topo);
      assertAll(worlds, 'v2', 'world', topo);

      // Provider v1 crashes: its gRPC connection closes, the registry drops the instance and
      // pushes the change; /echo/hello (v1 only) has no endpoint left, the rest stays on v2.
      const endpoint = `${topo.v1.ip}:${PROVIDER_PORT}::labels::`;
      assert.ok((await consumerAdmin(topo, '/clusters')).includes(endpoint));
      await topo.apps.v1.kill();
      const killed = Date.now();
      await e2e.waitFor(async () => !(await consumerAdmin(topo, '/clusters')).includes(endpoint),
        { timeoutMs: 5_000, intervalMs: 50, what: 'the crashed provider to leave the sidecar' });
      console.log(`# nacos gRPC pods: provider crash -> gone from the consumer's sidecar in ${Date.now() - killed} ms`);
      assertAll(await echo(topo, 'world', 4), 'v2', 'world', topo);
    });
  });
}
