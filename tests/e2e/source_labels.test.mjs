// sourceLabels / sourceNamespace select on the proxy's OWN workload (`--workload-labels`,
// `--namespace`): two sidecars with the same config route the same request differently.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';

let v1;
let v2;
const proxies = {};

before(async () => {
  v1 = await e2e.startUpstream('v1');
  v2 = await e2e.startUpstream('v2');
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'echo', hosts: ['echo.mesh.local'],
    endpoints: [{ address: '127.0.0.1', port: v1.port, labels: { version: 'v1' } },
      { address: '127.0.0.1', port: v2.port, labels: { version: 'v2' } }] }));
  e2e.writeAtomic(dir, 'dr.yaml', e2e.destinationRule({ name: 'echo', host: 'echo.mesh.local',
    subsets: { v1: { version: 'v1' }, v2: { version: 'v2' } } }));
  e2e.writeAtomic(dir, 'vs.yaml', e2e.virtualService({ name: 'echo', hosts: ['echo.mesh.local'], http: `
- name: canary-clients
  match:
  - sourceLabels: {track: canary}
  - sourceNamespace: staging
  route:
  - destination: {host: echo.mesh.local, subset: v2}
- name: everyone-else
  route:
  - destination: {host: echo.mesh.local, subset: v1}` }));
  const start = async (name, extra) => {
    const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0', ...extra], { name });
    proxies[name] = e2e.parseProxyReady(p).listen;
  };
  await start('canary', ['--workload-labels', 'app=consumer,track=canary']);
  await start('stable', ['--workload-labels', 'app=consumer', '--workload-labels', 'track=stable']);
  await start('staging', ['--namespace', 'staging']);
});

after(e2e.cleanupAll);

async function who(proxy) {
  const r = await e2e.proxyRequest(proxies[proxy], 'http://echo.mesh.local/x');
  assert.equal(r.status, 200, r.body);
  return e2e.who(r);
}

test('a sidecar whose labels match sourceLabels takes the canary route', async () => {
  assert.deepEqual([await who('canary'), await who('canary')], ['v2', 'v2']);
});

test('a sidecar with other labels does not', async () => {
  assert.deepEqual([await who('stable'), await who('stable')], ['v1', 'v1']);
});

test('sourceNamespace selects on the sidecar\'s namespace', async () => {
  assert.deepEqual([await who('staging'), await who('staging')], ['v2', 'v2']);
});

test('a malformed --workload-labels is a usage error', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(e2e.sluiceBin(), ['proxy', '--workload-labels', 'novalue'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /KEY=VALUE/);
});
