// `sluice gateway`: listeners come from the Gateway resource's servers, routes from the
// VirtualServices bound to it; clients send origin-form requests with the public Host header to
// the gateway port. Same echo mesh as the proxy test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { echoMeshFiles } from './lib/fixtures.mjs';

const GW_HOST = 'echo.example.com';
let v1;
let v2;
let gw;
let listener;
let admin;

const get = (path, headers = {}, opts = {}) =>
  e2e.request({ port: listener.port, path, headers: { host: GW_HOST, ...headers }, ...opts });

function describe(r) {
  return `status ${r.status} body ${r.body.slice(0, 300)}`;
}

before(async () => {
  v1 = await e2e.startUpstream('v1');
  v2 = await e2e.startUpstream('v2');
  // The Gateway server port in the config is never bound: --ephemeral-ports listens on a port
  // the kernel picks, read back from the readiness line.
  const gatewayPort = 8080;
  const dir = e2e.makeTempDir();
  const files = echoMeshFiles({ v1Port: v1.port, v2Port: v2.port, gatewayPort, gatewayHost: GW_HOST });
  for (const [name, text] of Object.entries(files)) e2e.writeAtomic(dir, name, text);
  gw = await e2e.startSluice(['gateway', '--config', dir, '--admin', '127.0.0.1:0',
    '--listen-host', '127.0.0.1', '--ephemeral-ports', '--concurrency', '2']);
  const ready = e2e.parseGatewayReady(gw);
  admin = ready.admin;
  assert.equal(ready.listeners.length, 1, `one listener for the one Gateway server: ${gw.stdout}`);
  [listener] = ready.listeners;
  assert.ok(listener.port > 0 && listener.port !== gatewayPort, gw.stdout);
});

after(e2e.cleanupAll);

test('gateway: admin /ready is 200', async () => {
  const r = await e2e.request({ port: admin.port, path: '/ready' });
  assert.equal(r.status, 200, describe(r));
});

test('gateway: uri prefix /v1 routes to v1, header x-version: v2 to v2', async () => {
  const r1 = await get('/v1/a');
  assert.equal(e2e.who(r1), 'v1', describe(r1));
  const r2 = await get('/v1/a', { 'x-version': 'v2' });
  assert.equal(e2e.who(r2), 'v2', describe(r2));
});

test('gateway: no matching rule gives 404', async () => {
  const r = await get('/nothing-here');
  assert.equal(r.status, 404, describe(r));
});

test('gateway: a Host no VirtualService binds to this gateway gives 404', async () => {
  const r = await e2e.request({ port: listener.port, path: '/v1/a', headers: { host: 'other.example.org' } });
  assert.equal(r.status, 404, describe(r));
});

test('gateway: weights 80/20 split 1000 requests 80±5% / 20±5%', async () => {
  const counts = { v1: 0, v2: 0, ...await e2e.countUpstreams(1000, 8, (agent) => get('/split', {}, { agent })) };
  assert.equal(counts.other, 0, `non-upstream answers: ${JSON.stringify(counts)}`);
  assert.ok(counts.v1 >= 750 && counts.v1 <= 850, `v1 got ${counts.v1}/1000`);
  assert.ok(counts.v2 >= 150 && counts.v2 <= 250, `v2 got ${counts.v2}/1000`);
});

test('gateway: keep-alive connection serves several requests', async () => {
  const conn = await e2e.RawConnection.connect(listener.port);
  try {
    for (let i = 0; i < 5; ++i) {
      const r = await conn.send(e2e.rawGet(`/v1/ka/${i}`, GW_HOST));
      assert.equal(r.status, 200, describe(r));
    }
    assert.equal(conn.closed, false);
  } finally {
    conn.close();
  }
});

test('gateway: fault abort 418 and retry after 503s are applied', async () => {
  const f = await get('/fault/a');
  assert.equal(f.status, 418, describe(f));
  const key = `gw-retry-${Date.now()}`;
  const r = await get('/retry/a', { 'x-test-fail-first': '1', 'x-test-key': key });
  assert.equal(r.status, 200, describe(r));
  assert.equal(v1.count((q) => q.headers['x-test-key'] === key), 2);
});

test('gateway: the process survived all of the above', () => {
  assert.equal(gw.exitInfo, null, gw.describe());
});
