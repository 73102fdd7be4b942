// The seed's topology as a test, with the registry changing under traffic: the embedded Nacos
// registry, provider v1/v2 (demo apps that register themselves), the consumer behind its sidecar
// (http_proxy, reverse DNS as the seed's any-spring-cloud-support.yaml enables), the gateway.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';

const PROVIDER_V1_IP = '127.0.0.11';
const PROVIDER_V2_IP = '127.0.0.12';
const CONSUMER_IP = '127.0.0.13';

let registry;
let registryPort;
let registryDataDir;
let providers = {};
let gatewayPort;
let configDir;
let sidecarAdmin;
let consumer;

function seed(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

async function startRegistry(port) {
  const proc = await e2e.startSluice(
    ['registry', '--listen', `127.0.0.1:${port}`, '--data-dir', registryDataDir],
    { name: 'registry', readyLine: /listening on 127\.0\.0\.1:(\d+)/ });
  return proc;
}

async function startProvider(version, ip, port) {
  return e2e.startSluice(
    ['demo-app', 'provider', '--service', 'service-provider', '--version', version, '--ip', ip,
      '--port', String(port), '--registry', `127.0.0.1:${registryPort}`],
    { name: `provider-${version}`, readyLine: /listening on/ });
}

async function echo(word) {
  return e2e.request({ port: gatewayPort, path: `/echo/${word}`, timeoutMs: 5_000 });
}

function versionOf(body) {
  const m = body.match(/^Hello Nacos Discovery From (v\d)/);
  return m ? m[1] : 'other';
}

before(async () => {
  registryDataDir = e2e.makeTempDir('sluice-nacos-data-');
  configDir = e2e.makeTempDir('sluice-nacos-mesh-');
  registry = await startRegistry(0);
  registryPort = Number(registry.ready[1]);

  const providerPort = await e2e.freePort(PROVIDER_V1_IP);
  providers.v1 = await startProvider('v1', PROVIDER_V1_IP, providerPort);
  providers.v2 = await startProvider('v2', PROVIDER_V2_IP, providerPort);
  const consumerPort = await e2e.freePort(CONSUMER_IP);

  e2e.writeAtomic(configDir, 'any-spring-cloud-support.yaml', seed('any-spring-cloud-support.yaml')
    .replace('10.0.128.0/18', '127.0.0.0/8').replace('portNumber: 8070', `portNumber: ${providerPort}`));
  e2e.writeAtomic(configDir, 'test-gateway.yaml', seed('test-gateway.yaml'));
  e2e.writeAtomic(configDir, 'consumer.yaml',
    seed('consumer.yaml').replace('number: 8080', `number: ${consumerPort}`));

  const nacos = `nacos://127.0.0.1:${registryPort}`;
  const sidecar = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--registry', nacos, '--concurrency', '1'], { name: 'sidecar' });
  const { listen, admin } = e2e.parseProxyReady(sidecar);
  sidecarAdmin = admin;
  consumer = await e2e.startSluice(['demo-app', 'consumer', '--service', 'consumer', '--provider',
    'service-provider', '--ip', CONSUMER_IP, '--port', String(consumerPort),
    '--registry', `127.0.0.1:${registryPort}`],
  { name: 'consumer', readyLine: /listening on/, env: { http_proxy: `http://127.0.0.1:${listen.port}` } });

  gatewayPort = await e2e.freePort();
  await e2e.startSluice(['gateway', '--config', configDir, '--admin', '127.0.0.1:0',
    '--port-offset', String(gatewayPort - 80), '--registry', nacos], { name: 'gateway' });

  // Registry data reaches the proxies asynchronously: wait until both versions answer.
  const seen = new Set();
  await e2e.waitFor(async () => {
    const r = await echo('warmup');
    if (r.status === 200) seen.add(versionOf(r.body));
    return seen.has('v1') && seen.has('v2');
  }, { timeoutMs: 10_000, what: 'both provider versions to answer through the gateway' });
});

after(e2e.cleanupAll);

test('before routing rules the sidecar round-robins over v1 and v2 (the seed\'s "before")', async () => {
  const counts = { v1: 0, v2: 0, other: 0 };
  let previous = null;
  let alternations = 0;
  for (let i = 0; i < 20; ++i) {
    const r = await echo('world');
    assert.equal(r.status, 200, r.body);
    const v = versionOf(r.body);
    counts[v] += 1;
    if (previous !== null && v !== previous) alternations += 1;
    previous = v;
  }
  assert.equal(counts.other, 0);
  assert.equal(counts.v1, 10, JSON.stringify(counts));
  assert.equal(counts.v2, 10, JSON.stringify(counts));
  assert.equal(alternations, 19, 'one worker, round robin: strictly alternating');
});

test('the seed\'s DestinationRule + VirtualService: /echo/hello -> v1 only, the rest -> v2', async () => {
  e2e.writeAtomic(configDir, 'service-provider.yaml', seed('service-provider.yaml'));
  e2e.writeAtomic(configDir, 'service-provider-vs.yaml', seed('service-provider-vs.yaml'));
  await e2e.waitFor(async () => {
    const r = await e2e.request({ port: sidecarAdmin.port, path: '/config_dump' });
    return r.status === 200 && r.body.includes('hello-v1');
  }, { timeoutMs: 5_000, what: 'the sidecar to report the new VirtualService' });
  for (let i = 0; i < 10; ++i) {
    assert.equal(versionOf((await echo('hello')).body), 'v1');
    assert.equal(versionOf((await echo('world')).body), 'v2');
  }
  // Back to the seed's "before" for the next tests.
  e2e.removeFile(configDir, 'service-provider-vs.yaml');
  e2e.removeFile(configDir, 'service-provider.yaml');
  await e2e.waitFor(async () => {
    const r = await e2e.request({ port: sidecarAdmin.port, path: '/config_dump' });
    return r.status === 200 && !r.body.includes('hello-v1');
  }, { timeoutMs: 5_000, what: 'the sidecar to drop the VirtualService' });
});

test('provider v2 deregisters under traffic: all traffic goes to v1 within 1 s, no 5xx beyond in-flight', async () => {
  const results = [];
  let stopAt = null;
  let stopping = null;
  const deadline = Date.now() + 15_000;
  // Sequential traffic: at most one request is in flight when v2 leaves.
  for (let i = 0; i < 2_000 && Date.now() < deadline; ++i) {
    if (i === 20) {
      stopAt = Date.now();
      stopping = providers.v2.stop();  // SIGTERM: the demo provider deregisters, then exits
    }
    const r = await echo('world').catch((e) => ({ status: 0, body: e.message }));
    results.push({ t: Date.now(), status: r.status, v: r.status === 200 ? versionOf(r.body) : 'err', body: r.body });
    if (stopAt !== null && Date.now() - stopAt > 3_000) break;
  }
  await stopping;
  const after = results.filter((r) => r.t > stopAt);
  const failures = after.filter((r) => r.status !== 200);
  assert.ok(failures.length <= 1, `5xx after v2 left: ${JSON.stringify(failures.slice(0, 5))}`);
  const lastV2 = after.filter((r) => r.v === 'v2').map((r) => r.t).pop();
  if (lastV2 !== undefined) {
    assert.ok(lastV2 - stopAt <= 1_000, `v2 still answered ${lastV2 - stopAt} ms after it deregistered`);
  }
  const tail = after.filter((r) => r.t - stopAt > 1_000);
  assert.ok(tail.length > 0, 'traffic continued after the change');
  assert.ok(tail.every((r) => r.v === 'v1'), `after 1 s not all v1: ${JSON.stringify(tail.slice(0, 5))}`);
});

test('registry down: routing keeps working from the last known endpoints, and after its restart', async () => {
  await registry.stop({ sig: 'SIGKILL' });
  for (let i = 0; i < 10; ++i) {
    const r = await echo('world');
    assert.equal(r.status, 200, `with the registry down: ${r.status} ${r.body}`);
    assert.equal(versionOf(r.body), 'v1');
  }
  // The outage shows on /clusters once the watcher's next poll fails.
  await e2e.waitFor(async () => {
    const r = await e2e.request({ port: sidecarAdmin.port, path: '/clusters' });
    return /reachable::false/.test(r.body);
  }, { timeoutMs: 5_000, what: 'the sidecar to report the registry unreachable' });
  // ... and on the consumer's side once its own lookup failed (it logs the first failure).
  await consumer.waitForLine(/cannot look up service-provider/, { stream: 'stderr', timeoutMs: 5_000 });
  for (let i = 0; i < 10; ++i) {
    const r = await echo('world');
    assert.equal(r.status, 200, `with the registry known down: ${r.status} ${r.body}`);
  }

  // The restarted registry is empty until the apps' next beats re-register them: routing must
  // not drop the services meanwhile (empty protection).
  registry = await startRegistry(registryPort);
  await e2e.waitFor(async () => {
    const r = await e2e.request({ port: sidecarAdmin.port, path: '/clusters' });
    return /reachable::true/.test(r.body);
  }, { timeoutMs: 5_000, what: 'the sidecar to see the restarted registry' });
  for (let i = 0; i < 10; ++i) {
    const r = await echo('world');
    assert.equal(r.status, 200, `after the registry restart: ${r.status} ${r.body}`);
    assert.equal(versionOf(r.body), 'v1');
  }
});
