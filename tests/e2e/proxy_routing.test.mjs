// `sluice proxy` as an explicit HTTP proxy (absolute-form requests, like a process with
// http_proxy set) in front of two node upstreams labelled v1/v2: routing by uri and header,
// 404 without a matching rule, a VirtualService to an undefined subset held back, an 80/20
// weighted split, keep-alive, strict parsing, and the retry / timeout / fault-abort route
// features.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { ECHO_HOST, echoMeshFiles } from './lib/fixtures.mjs';

let v1;
let v2;
let proxy;
let listen;
let admin;

const url = (path) => `http://${ECHO_HOST}${path}`;
const get = (path, headers = {}, opts = {}) => e2e.proxyRequest(listen, url(path), { headers, ...opts });

before(async () => {
  v1 = await e2e.startUpstream('v1');
  v2 = await e2e.startUpstream('v2');
  const dir = e2e.makeTempDir();
  for (const [name, text] of Object.entries(echoMeshFiles({ v1Port: v1.port, v2Port: v2.port }))) {
    e2e.writeAtomic(dir, name, text);
  }
  e2e.writeAtomic(dir, 'dangling-subset.yaml', e2e.virtualService({
    name: 'dangling', hosts: ['dangling.mesh.local'], http: `
- route:
  - destination: {host: ${ECHO_HOST}, subset: v9}
` }));
  proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '2']);
  ({ listen, admin } = e2e.parseProxyReady(proxy));
  assert.notEqual(listen.port, 0, 'readiness line must print the real listen port');
  assert.notEqual(admin.port, 0, 'readiness line must print the real admin port');
});

after(e2e.cleanupAll);

function describe(r) {
  return `status ${r.status} body ${r.body.slice(0, 300)}`;
}

test('admin /ready answers 200 once the readiness line is printed', async () => {
  const r = await e2e.request({ port: admin.port, path: '/ready' });
  assert.equal(r.status, 200, describe(r));
});

test('uri prefix /v1 routes to subset v1 only', async () => {
  for (let i = 0; i < 10; ++i) {
    const r = await get(`/v1/item/${i}`);
    assert.equal(r.status, 200, describe(r));
    assert.equal(e2e.who(r), 'v1', `GET ${url(`/v1/item/${i}`)}: ${describe(r)}`);
  }
});

test('the upstream receives the path of the request, not the absolute URL', async () => {
  const r = await get('/v1/path?q=1');
  assert.equal(r.status, 200, describe(r));
  assert.equal(JSON.parse(r.body).url, '/v1/path?q=1');
});

test('header x-version: v2 routes to v2 even for a /v1 path (first matching rule wins)', async () => {
  const r = await get('/v1/x', { 'x-version': 'v2' });
  assert.equal(r.status, 200, describe(r));
  assert.equal(e2e.who(r), 'v2', describe(r));
});

test('exact uri /only-v2 routes to v2, /only-v2/more matches no rule (404)', async () => {
  const r = await get('/only-v2');
  assert.equal(e2e.who(r), 'v2', describe(r));
  const r2 = await get('/only-v2/more');
  assert.equal(r2.status, 404, describe(r2));
});

test('no matching rule gives 404 and does not reach an upstream', async () => {
  const before1 = v1.count();
  const before2 = v2.count();
  const r = await get('/nothing-matches-this');
  assert.equal(r.status, 404, describe(r));
  assert.equal(v1.count() + v2.count(), before1 + before2);
});

test('a VirtualService routing to a subset no DestinationRule defines is held back, not served', async () => {
  const r = await e2e.request({ port: admin.port, path: '/config_dump' });
  const held = JSON.parse(r.body).config_held_back.join('\n');
  assert.match(held, /error\[IST0101\]: .*dangling-subset\.yaml:\d+:\d+: VirtualService\/default\/dangling: .*"echo\.mesh\.local\+v9"; held back/);
  // Its own routes are not applied, and the other VirtualServices are untouched.
  const other = await get('/v1/still');
  assert.equal(e2e.who(other), 'v1', describe(other));
});

test('origin-form with a mesh Host header is routed like absolute-form', async () => {
  const r = await e2e.request({ port: listen.port, path: '/v1/origin', headers: { host: ECHO_HOST } });
  assert.equal(r.status, 200, describe(r));
  assert.equal(e2e.who(r), 'v1', describe(r));
});

test('weights 80/20 split 1000 requests 80±5% / 20±5%', async () => {
  const counts = { v1: 0, v2: 0, ...await e2e.countUpstreams(1000, 8, (agent) => get('/split', {}, { agent })) };
  assert.equal(counts.other, 0, `non-upstream answers: ${JSON.stringify(counts)}`);
  assert.ok(counts.v1 >= 750 && counts.v1 <= 850, `v1 got ${counts.v1}/1000`);
  assert.ok(counts.v2 >= 150 && counts.v2 <= 250, `v2 got ${counts.v2}/1000`);
});

test('keep-alive: ten requests on one client connection all succeed and it stays open', async () => {
  const conn = await e2e.RawConnection.connect(listen.port);
  try {
    for (let i = 0; i < 10; ++i) {
      const r = await conn.send(e2e.rawGet(url(`/v1/ka/${i}`), ECHO_HOST));
      assert.equal(r.status, 200, `request ${i} on one connection: ${describe(r)}`);
      assert.equal(e2e.who(r), 'v1');
    }
    assert.equal(conn.closed, false, 'proxy closed a keep-alive connection');
  } finally {
    conn.close();
  }
});

test('Content-Length together with Transfer-Encoding is rejected with 400 and the connection closed', async () => {
  const conn = await e2e.RawConnection.connect(listen.port);
  try {
    const before1 = v1.count();
    const r = await conn.send(`POST ${url('/v1/smuggle')} HTTP/1.1\r\nHost: ${ECHO_HOST}\r\n` +
      'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
    assert.equal(r.status, 400, describe(r));
    assert.equal(await conn.waitClosed(3_000), true, 'connection must be closed after a 400');
    assert.equal(v1.count(), before1, 'the ambiguous request must not reach the upstream');
  } finally {
    conn.close();
  }
});

test('fault abort 100% returns 418 without calling the upstream', async () => {
  const before1 = v1.count();
  const r = await get('/fault/x');
  assert.equal(r.status, 418, describe(r));
  assert.equal(v1.count(), before1);
});

test('route timeout 300ms against an upstream delaying 2s gives 504 quickly', async () => {
  const t0 = Date.now();
  const r = await get('/slow/x', { 'x-test-delay-ms': '2000' }, { timeoutMs: 5_000 });
  const took = Date.now() - t0;
  assert.equal(r.status, 504, describe(r));
  assert.ok(took < 1_500, `504 took ${took} ms`);
});

test('retries: two 503s then success gives 200 after three upstream attempts', async () => {
  const key = `retry-${Date.now()}`;
  const r = await get('/retry/x', { 'x-test-fail-first': '2', 'x-test-key': key });
  assert.equal(r.status, 200, describe(r));
  assert.equal(e2e.who(r), 'v1');
  assert.equal(v1.count((q) => q.headers['x-test-key'] === key), 3);
});

test('an unknown host in explicit mode gets 502 naming it, not a hang', async () => {
  const r = await e2e.proxyRequest(listen, 'http://no-such-service.mesh.local/x');
  assert.equal(r.status, 502, describe(r));
  assert.match(r.body, /no-such-service\.mesh\.local/, describe(r));
});

test('the proxy process survived all of the above', () => {
  assert.equal(proxy.exitInfo, null, proxy.describe());
});
