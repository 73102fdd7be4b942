// VirtualService mirror (shadow copy, response not awaited) and corsPolicy (preflight answered by
// the proxy, Access-Control-Allow-Origin echoed on matching origins) through `sluice proxy`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';

let primary;
let shadow;
let listen;

before(async () => {
  primary = await e2e.startUpstream('primary');
  shadow = await e2e.startUpstream('shadow');
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se-app.yaml', e2e.serviceEntry({
    name: 'app', hosts: ['app.mesh.local'], endpoints: [{ port: primary.port }] }));
  e2e.writeAtomic(dir, 'se-shadow.yaml', e2e.serviceEntry({
    name: 'shadow', hosts: ['shadow.mesh.local'], endpoints: [{ port: shadow.port }] }));
  e2e.writeAtomic(dir, 'vs.yaml', `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: app
spec:
  hosts: [app.mesh.local]
  http:
  - route:
    - destination: {host: app.mesh.local}
    mirror: {host: shadow.mesh.local}
    corsPolicy:
      allowOrigins:
      - exact: https://ui.example
      allowMethods: [GET, POST]
      allowHeaders: [x-custom]
      maxAge: 600s
`);
  const proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0']);
  ({ listen } = e2e.parseProxyReady(proxy));
});

after(e2e.cleanupAll);

test('mirror: the primary answers and the shadow receives a copy with "-shadow" in the host', async () => {
  const r = await e2e.proxyRequest(listen, 'http://app.mesh.local/orders/7');
  assert.equal(r.status, 200, r.body);
  assert.equal(e2e.who(r), 'primary');
  const copy = await e2e.waitFor(() => shadow.requests.find((q) => q.url === '/orders/7'),
    { timeoutMs: 5_000, what: 'the shadow copy' });
  assert.match(copy.headers.host, /^app\.mesh\.local-shadow/);
});

test('corsPolicy: a preflight from an allowed origin is answered by the proxy', async () => {
  const before = primary.count((q) => q.method === 'OPTIONS');
  const r = await e2e.proxyRequest(listen, 'http://app.mesh.local/orders', {
    method: 'OPTIONS',
    headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' },
  });
  assert.ok(r.status >= 200 && r.status < 300, `status ${r.status}`);
  assert.equal(r.headers['access-control-allow-origin'], 'https://ui.example');
  assert.match(r.headers['access-control-allow-methods'], /POST/);
  assert.match(r.headers['access-control-allow-headers'], /x-custom/);
  assert.equal(r.headers['access-control-max-age'], '600');
  assert.equal(primary.count((q) => q.method === 'OPTIONS'), before, 'preflight not forwarded');
});

test('corsPolicy: matching origins are echoed on responses, others are not', async () => {
  const ok = await e2e.proxyRequest(listen, 'http://app.mesh.local/x', { headers: { origin: 'https://ui.example' } });
  assert.equal(ok.headers['access-control-allow-origin'], 'https://ui.example');
  const other = await e2e.proxyRequest(listen, 'http://app.mesh.local/x', { headers: { origin: 'https://evil.example' } });
  assert.equal(other.status, 200);
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});
