// Usage and start-up errors of `sluice proxy` / `sluice gateway`: each names what is wrong and
// exits 2 (usage) or 1 (cannot start), quickly and without printing a readiness line.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

function run(args) {
  const r = spawnSync(e2e.sluiceBin(), args, { encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout };
}

test('an unknown --registry scheme is a usage error naming the URL', () => {
  const dir = e2e.makeTempDir();
  const r = run(['proxy', '--config', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--registry', 'zk://127.0.0.1:2181']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /zk:\/\/127\.0\.0\.1:2181/);
  assert.match(r.out, /nacos:\/\//, 'the message lists the supported schemes');
  assert.doesNotMatch(r.stdout, /ready:/);
});

test('a missing --config directory is a usage error naming it', () => {
  const r = run(['proxy', '--config', '/nonexistent/sluice-config', '--listen', '127.0.0.1:0']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /\/nonexistent\/sluice-config/);
});

test('a malformed --listen address is a usage error', () => {
  const dir = e2e.makeTempDir();
  const r = run(['proxy', '--config', dir, '--listen', '127.0.0.1:notaport']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /listen/);
});

test('gateway requires --config', () => {
  const r = run(['gateway', '--admin', '127.0.0.1:0']);
  assert.equal(r.code, 2, r.out);
  assert.match(r.out, /--config/);
});

test('a listen address already in use fails with exit 1 naming the address', async () => {
  const blocker = net.createServer();
  await new Promise((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address();
  try {
    const dir = e2e.makeTempDir();
    const r = run(['proxy', '--config', dir, '--listen', `127.0.0.1:${port}`, '--admin', '127.0.0.1:0']);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(r.stdout, /ready:/);
  } finally {
    blocker.close();
  }
});

test('port 0 for listen and admin prints the real ports, and both answer', async () => {
  const dir = e2e.makeTempDir();
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0']);
  const { listen, admin } = e2e.parseProxyReady(p);
  assert.ok(listen.port > 0 && admin.port > 0, p.stdout);
  assert.equal(p.stdout.match(/ready:/g).length, 1, 'exactly one readiness line');
  const r = await e2e.request({ port: admin.port, path: '/ready' });
  assert.equal(r.status, 200);
  const c = await e2e.RawConnection.connect(listen.port);
  c.close();
  const exit = await p.stop();
  assert.equal(exit.code, 0, p.describe());
});

test('what the proxy cannot apply is logged by name once, not only shown on /config_dump', async () => {
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'mesh.yaml', `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ranged, namespace: default}
spec:
  hosts: [db.example.com]
  addresses: [10.96.0.0/16]
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: edge, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 5432, name: tcp, protocol: TCP}, hosts: [db.example.com]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: edge-tcp, namespace: default}
spec:
  hosts: [db.example.com]
  gateways: [edge]
  tcp:
  - route:
    - destination: {host: db.example.com}
`);
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  const stream = 'stderr';  // the log
  await p.waitForLine(/address range 10\.96\.0\.0\/16 is not enforced/, { stream });
  await p.waitForLine(/VirtualService default\/edge-tcp: tcp routes are only enforced by sidecars/, { stream });
  assert.equal(p.stderr.match(/address range 10\.96\.0\.0\/16/g).length, 1, 'logged once');
});
