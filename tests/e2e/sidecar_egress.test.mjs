// The Istio Sidecar resource's egress.hosts on `sluice proxy`: a sidecar with a Nacos registry of
// three services materialises only the ones its Sidecar lists (and what their VirtualServices send
// to); a request to a hidden service gets the unknown-name answer (502 in explicit-proxy mode),
// /config_dump does not show it, and editing the Sidecar applies live in both directions.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { registerLoopbackInstance, startNacosRegistry } from './lib/nacos_registry.mjs';
import { describeResponse } from './lib/fixtures.mjs';

after(e2e.cleanupAll);


function sidecar(hosts, { name = 'default', namespace = 'default', selector } = {}) {
  const sel = selector ? `  workloadSelector: {labels: ${JSON.stringify(selector)}}\n` : '';
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${sel}  egress:
  - hosts: ${JSON.stringify(hosts)}
`;
}

const fqdn = (name) => `${name}.default.svc.cluster.local`;

let mesh;

before(async () => {
  const registry = await startNacosRegistry();
  for (const name of ['alpha', 'beta', 'gamma']) {
    await registerLoopbackInstance(registry, name, (await e2e.startUpstream(name)).port);
  }
  const dir = e2e.makeTempDir('sluice-sidecar-egress-');
  e2e.writeAtomic(dir, 'sidecar.yaml', sidecar([`./${fqdn('alpha')}`]));
  // beta's VirtualService is outside the egress hosts: it must not be built (nor held back).
  e2e.writeAtomic(dir, 'beta-vs.yaml', e2e.virtualService({ name: 'beta', hosts: ['beta'],
    http: '- route:\n  - destination: {host: beta}' }));
  const proc = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1', '--workload-labels', 'app=client',
    '--registry', `nacos://${registry.addr}?grpcPort=${registry.grpcPort}`], { name: 'sidecar' });
  mesh = { dir, proc, ...e2e.parseProxyReady(proc) };
});

async function dump() {
  const r = await e2e.request({ port: mesh.admin.port, path: '/config_dump' });
  assert.equal(r.status, 200);
  return JSON.parse(r.body);
}

const services = (d) => d.services.map((s) => s.fqdn ?? s.name).sort();

async function get(name) {
  return e2e.proxyRequest(mesh.listen, `http://${name}/x`, { timeoutMs: 5_000 });
}

async function waitForServices(expected, what) {
  await e2e.waitFor(async () => JSON.stringify(services(await dump())) === JSON.stringify(expected),
    { timeoutMs: 5_000, what });
}

test('only the egress hosts are materialised; a hidden service is an unknown name (502)', async () => {
  await waitForServices([fqdn('alpha')], 'only alpha in the snapshot');
  const a = await get('alpha');
  assert.equal(a.status, 200, describeResponse(a));
  assert.equal(e2e.who(a), 'alpha');
  for (const hidden of ['beta', 'gamma']) {
    const r = await get(hidden);
    assert.equal(r.status, 502, `${hidden}: ${describeResponse(r)}`);
  }
  const d = await dump();
  const text = JSON.stringify(d);
  assert.ok(!text.includes('beta') && !text.includes('gamma'), `hidden services in ${text.slice(0, 2000)}`);
  assert.deepEqual(d.sidecar, { resource: 'default/default', egress_hosts: [`./${fqdn('alpha')}`] });
  assert.deepEqual(d.config_held_back, []);
  assert.ok(!d.unenforced.some((u) => /Sidecar/.test(u)), JSON.stringify(d.unenforced));
  assert.match(mesh.proc.stderr, /Sidecar's egress hosts need 1 registry service/);
});

test('editing the Sidecar applies live: widening exposes, narrowing hides again', async () => {
  e2e.writeAtomic(mesh.dir, 'sidecar.yaml', sidecar(['./*']));
  await waitForServices([fqdn('alpha'), fqdn('beta'), fqdn('gamma')], 'every service after ./*');
  for (const name of ['alpha', 'beta', 'gamma']) {
    const r = await get(name);
    assert.equal(r.status, 200, `${name}: ${describeResponse(r)}`);
    assert.equal(e2e.who(r), name);
  }
  // A Sidecar selecting this workload wins over the namespace default.
  e2e.writeAtomic(mesh.dir, 'client.yaml', sidecar([`*/${fqdn('gamma')}`],
    { name: 'client', selector: { app: 'client' } }));
  await waitForServices([fqdn('gamma')], 'only gamma under the selecting Sidecar');
  assert.equal((await get('alpha')).status, 502);
  assert.equal(e2e.who(await get('gamma')), 'gamma');
  assert.equal((await dump()).sidecar.resource, 'default/client');

  // No Sidecar at all: the whole registry again.
  e2e.removeFile(mesh.dir, 'client.yaml');
  e2e.removeFile(mesh.dir, 'sidecar.yaml');
  await waitForServices([fqdn('alpha'), fqdn('beta'), fqdn('gamma')], 'every service without a Sidecar');
  assert.equal((await dump()).sidecar, null);
});
