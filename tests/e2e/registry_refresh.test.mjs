// Method 1 (reverse DNS) and a brand-new instance: an application that already knows an instance
// its sidecar has not read from the registry yet calls the instance's pod address. The sidecar
// must not pass that request through ungoverned: an address inside pod_cidrs that no known
// instance has triggers a registry re-read (bounded by --registry-refresh-wait-ms) before the
// request is resolved again. The sidecars poll the registry only once a minute here
// (poll_interval_ms=60000), so only that refresh can make them see the instance in time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const PROVIDER_IP = '127.0.0.21';
const UNREGISTERED_IP = '127.0.0.22';

let registryPort;
let provider;
let unregistered;
let refreshing;  // { proc, listen, admin }: the default (refresh on an unknown pod address)
let passing;     // the same with --registry-refresh-wait-ms 0

async function startSidecar(dir, extra) {
  const proc = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--registry', `nacos://127.0.0.1:${registryPort}?transport=http&poll_interval_ms=60000`,
    ...extra], { name: `sidecar${extra.length ? ' (no refresh)' : ''}` });
  return { proc, ...e2e.parseProxyReady(proc) };
}

async function meshCalls(sidecar) {
  const r = await e2e.request({ port: sidecar.admin.port, path: '/stats/prometheus' });
  let sum = 0;
  for (const line of r.body.split('\n')) {
    const m = line.match(/^istio_requests_total(\{[^}]*\})?\s+(\d+)$/);
    if (m && (m[1] ?? '').includes('destination_service_name="service-provider"')) sum += Number(m[2]);
  }
  return sum;
}

before(async () => {
  const registry = await e2e.startSluice(['registry', '--listen', '127.0.0.1:0'],
    { name: 'registry', readyLine: /listening on 127\.0\.0\.1:(\d+)/ });
  registryPort = Number(registry.ready[1]);
  provider = await e2e.startUpstream('provider', { host: PROVIDER_IP });
  unregistered = await e2e.startUpstream('unregistered', { host: UNREGISTERED_IP, port: provider.port });

  const dir = e2e.makeTempDir('sluice-refresh-');
  const seed = readFileSync(join(e2e.sourceDir(), 'examples/seed/any-spring-cloud-support.yaml'), 'utf8');
  e2e.writeAtomic(dir, 'any-spring-cloud-support.yaml', seed.replace('10.0.128.0/18', '127.0.0.0/8')
    .replace('portNumber: 8070', `portNumber: ${provider.port}`));
  // Both sidecars are ready (their first registry read is done, and empty) before the provider
  // registers.
  refreshing = await startSidecar(dir, []);
  passing = await startSidecar(dir, ['--registry-refresh-wait-ms', '0']);

  const reg = await e2e.request({ port: registryPort, method: 'POST',
    path: `/nacos/v1/ns/instance?serviceName=service-provider&ip=${PROVIDER_IP}&port=${provider.port}` });
  assert.equal(reg.status, 200, reg.body);
});

test('the first request to a just-registered pod address is routed as its service', async () => {
  const url = `http://${PROVIDER_IP}:${provider.port}/echo/first`;
  const before = await meshCalls(refreshing);
  const r = await e2e.proxyRequest(refreshing.listen, url, { timeoutMs: 5_000 });
  assert.equal(r.status, 200, r.body);
  assert.equal(e2e.who(r), 'provider');
  assert.equal(await meshCalls(refreshing) - before, 1,
    `routed as service-provider, not passed through\n${refreshing.proc.describe()}`);
  const dump = JSON.parse((await e2e.request({ port: refreshing.admin.port, path: '/config_dump' })).body);
  assert.match(dump.reverse_dns.addresses[`${PROVIDER_IP}:${provider.port}`] ?? '', /^service-provider\./);
  assert.match(refreshing.proc.stderr, new RegExp(
    `${PROVIDER_IP.replace(/\./g, '\\.')}:${provider.port} was unknown; after a registry refresh`));

  // Without the refresh the same request is passed through (the sidecar reads the registry once
  // a minute): the gap the refresh closes.
  const p = await e2e.proxyRequest(passing.listen, url, { timeoutMs: 5_000 });
  assert.equal(p.status, 200, p.body);
  assert.equal(await meshCalls(passing), 0, 'no refresh: passed through');
});

test('an address in pod_cidrs that no registry has is passed through, refreshing once', async () => {
  const url = `http://${UNREGISTERED_IP}:${provider.port}/echo/stranger`;
  const started = Date.now();
  const r = await e2e.proxyRequest(refreshing.listen, url, { timeoutMs: 5_000 });
  assert.equal(r.status, 200, r.body);
  assert.equal(e2e.who(r), 'unregistered');
  assert.ok(Date.now() - started < 4_000, 'the refresh wait is bounded');
  const again = await e2e.proxyRequest(refreshing.listen, url, { timeoutMs: 5_000 });
  assert.equal(again.status, 200, again.body);
  const notes = refreshing.proc.stderr.match(
    new RegExp(`${UNREGISTERED_IP.replace(/\./g, '\\.')}:\\d+ is in the pod CIDRs but no registry instance has it`, 'g'));
  assert.equal(notes?.length, 1, `one refresh for the address, not one per request\n${refreshing.proc.stderr}`);
});
