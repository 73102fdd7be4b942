// HTTP/2 cleartext downstream with prior knowledge (node's own http2 client) through
// `sluice proxy` to HTTP/1.1 upstreams of the echo mesh: every stream takes the HTTP/1.1 request
// path, so VirtualService routing by :authority / path / headers, subsets, faults, timeouts and
// retries apply per stream; many streams share one connection; request bodies arrive whole;
// malformed requests get RST_STREAM(PROTOCOL_ERROR); a drained proxy says GOAWAY; the access log
// says which protocol each request came with.
// The HTTP/1.1 `Upgrade: h2c` with a real client (curl --http2 on an http:// URL) on the
// sidecar's and the gateway's listeners: 101, the upgraded request as stream 1 and the next as
// stream 3, routed; the upstream never sees h2c or HTTP2-Settings; an upgrade that cannot be
// honoured is served as HTTP/1.1. (The transparent listener's: transparent.test.mjs, in its pod.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http2 from 'node:http2';
import * as e2e from './lib/index.mjs';
import { ECHO_HOST, echoMeshFiles } from './lib/fixtures.mjs';

let v1;
let v2;
let proxy;
let listen;
let admin;
let gatewayListen;
const GW_HOST = 'echo.example.com';

before(async () => {
  v1 = await e2e.startUpstream('v1');
  v2 = await e2e.startUpstream('v2');
  const dir = e2e.makeTempDir();
  const files = echoMeshFiles({ v1Port: v1.port, v2Port: v2.port, gatewayPort: 8080, gatewayHost: GW_HOST });
  for (const [name, text] of Object.entries(files)) e2e.writeAtomic(dir, name, text);
  proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1', '--access-log']);
  ({ listen, admin } = e2e.parseProxyReady(proxy));
  const gw = await e2e.startSluice(['gateway', '--config', dir, '--admin', '127.0.0.1:0',
    '--listen-host', '127.0.0.1', '--ephemeral-ports', '--concurrency', '1']);
  [gatewayListen] = e2e.parseGatewayReady(gw).listeners;
});

after(e2e.cleanupAll);

function connect() {
  const session = http2.connect(`http://127.0.0.1:${listen.port}`);
  session.on('error', () => {});
  return session;
}

// One request on `session`; resolves { status, headers, body } or { error } (bounded in time).
function h2request(session, path, { method = 'GET', headers = {}, body, authority = ECHO_HOST } = {}) {
  return new Promise((resolve) => {
    const req = session.request({ ':method': method, ':path': path, ':authority': authority, ...headers });
    const timer = setTimeout(() => { req.close(); resolve({ error: 'timeout' }); }, 10_000);
    let status = 0;
    let head = {};
    const chunks = [];
    req.on('response', (h) => { status = h[':status']; head = h; });
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      clearTimeout(timer);
      resolve({ status, headers: head, body: Buffer.concat(chunks).toString('utf8') });
    });
    req.on('error', (e) => { clearTimeout(timer); resolve({ error: e.code ?? String(e), rst: req.rstCode }); });
    if (body !== undefined) req.end(body); else req.end();
  });
}

test('a GET over h2c prior knowledge is routed by path to subset v1', async () => {
  const s = connect();
  try {
    const r = await h2request(s, '/v1/item?q=1');
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(r.headers['x-upstream'], 'v1');
    const seen = JSON.parse(r.body);
    assert.equal(seen.url, '/v1/item?q=1');
    assert.equal(seen.headers.host, ECHO_HOST, 'the upstream gets :authority as Host');
    assert.ok(seen.headers['x-request-id'], 'the request path added x-request-id');
    assert.equal(r.headers.connection, undefined, 'no connection-specific field on HTTP/2');
  } finally { s.close(); }
});

test('header match, 404 without a rule and fault abort apply per stream', async () => {
  const s = connect();
  try {
    const byHeader = await h2request(s, '/v1/x', { headers: { 'x-version': 'v2' } });
    assert.equal(byHeader.headers['x-upstream'], 'v2', JSON.stringify(byHeader));
    assert.equal((await h2request(s, '/nothing-matches')).status, 404);
    assert.equal((await h2request(s, '/fault/x')).status, 418);
    // An authority the mesh does not know (explicit proxy): 502 naming it, as for HTTP/1.1.
    const unknown = await h2request(s, '/x', { authority: 'nowhere.invalid' });
    assert.equal(unknown.status, 502, JSON.stringify(unknown));
  } finally { s.close(); }
});

test('route timeout gives 504 and retries on 5xx replay a whole request body', async () => {
  const s = connect();
  try {
    const slow = await h2request(s, '/slow/x', { headers: { 'x-test-delay-ms': '2000' } });
    assert.equal(slow.status, 504, JSON.stringify(slow));
    v1.reset();
    const r = await h2request(s, '/retry/body', {
      method: 'POST', body: 'payload-123', headers: { 'x-test-fail-first': '2', 'x-test-key': 'h2-retry' },
    });
    assert.equal(r.status, 200, JSON.stringify(r));
    assert.equal(JSON.parse(r.body).body, 'payload-123');
    assert.equal(v1.count((q) => q.headers['x-test-key'] === 'h2-retry'), 3, 'two 503s retried, then 200');
  } finally { s.close(); }
});

test('streams are multiplexed: 40 concurrent requests on one connection all answer', async () => {
  const s = connect();
  try {
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      h2request(s, `/v1/m/${i}`, { headers: { 'x-test-delay-ms': String(50 + (i % 5) * 20) } })));
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200, `stream ${i}: ${JSON.stringify(r)}`);
      assert.equal(JSON.parse(r.body).url, `/v1/m/${i}`);
    }
  } finally { s.close(); }
});

test('a large streamed request body (chunked over the bridge) reaches the upstream intact', async () => {
  const s = connect();
  try {
    const body = 'z'.repeat(300 * 1024);
    const r = await new Promise((resolve) => {
      const req = s.request({ ':method': 'POST', ':path': '/v1/upload', ':authority': ECHO_HOST });
      const chunks = [];
      let status = 0;
      req.on('response', (h) => { status = h[':status']; });
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString('utf8') }));
      req.on('error', (e) => resolve({ error: String(e) }));
      // Written in pieces after the head, so it cannot arrive whole with it.
      let sent = 0;
      const pump = () => {
        while (sent < body.length) {
          const piece = body.slice(sent, sent + 16 * 1024);
          sent += piece.length;
          if (!req.write(piece)) { req.once('drain', pump); return; }
        }
        req.end();
      };
      setImmediate(pump);
    });
    assert.equal(r.status, 200, JSON.stringify(r).slice(0, 300));
    assert.equal(JSON.parse(r.body).body.length, body.length);
  } finally { s.close(); }
});

test('a request with a connection-specific field is reset with PROTOCOL_ERROR, the connection lives on', async () => {
  const s = connect();
  try {
    // node refuses to send such a field itself; ask for a TE other than trailers instead.
    const bad = await h2request(s, '/v1/x', { headers: { te: 'gzip' } }).catch((e) => ({ error: String(e) }));
    assert.ok(bad.error, `expected a failed stream: ${JSON.stringify(bad)}`);
    const ok = await h2request(s, '/v1/after');
    assert.equal(ok.status, 200, JSON.stringify(ok));
  } finally { s.close(); }
});

// The istio_requests_total series with response_flags `flags`, summed.
async function requestsWithFlags(flags) {
  const prom = (await e2e.request({ port: admin.port, path: '/stats/prometheus' })).body;
  return prom.split('\n').filter((l) => l.startsWith('istio_requests_total{') &&
    l.includes(`response_flags="${flags}"`)).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

test('a client that resets its stream mid-response is counted DC and its connection serves on', async () => {
  const s = connect();
  try {
    const before = await requestsWithFlags('DC');
    // The echo of a 400 KiB body is larger than the stream's flow-control window: the response
    // is still being written when the client resets the stream after its head.
    const body = 'r'.repeat(400 * 1024);
    const status = await new Promise((resolve) => {
      const req = s.request({ ':method': 'POST', ':path': '/v1/big', ':authority': ECHO_HOST });
      req.on('response', (h) => { req.close(http2.constants.NGHTTP2_CANCEL); resolve(h[':status']); });
      req.on('error', () => {});
      req.end(body);
    });
    assert.equal(status, 200);
    await e2e.waitFor(async () => (await requestsWithFlags('DC')) > before,
      { what: 'a DC request in istio_requests_total' });
    const ok = await h2request(s, '/v1/after-reset');
    assert.equal(ok.status, 200, JSON.stringify(ok));
  } finally { s.close(); }
});

test('a client that resets its stream mid-request-body gets nothing more, the connection serves on', async () => {
  const s = connect();
  try {
    const before = await requestsWithFlags('DC');
    const req = s.request({ ':method': 'POST', ':path': '/v1/half', ':authority': ECHO_HOST });
    req.on('error', () => {});
    const closed = new Promise((resolve) => req.on('close', resolve));
    // More than the stream's 256 KiB receive window: the last piece goes out only once the proxy
    // reopened the window, i.e. once the stream's request path is reading the body.
    for (let i = 0; i < 20; ++i) {
      await new Promise((resolve) => req.write('x'.repeat(16 * 1024), resolve));
    }
    req.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    await e2e.waitFor(async () => (await requestsWithFlags('DC')) > before,
      { what: 'the reset request counted DC' });
    const ok = await h2request(s, '/v1/after-half');
    assert.equal(ok.status, 200, JSON.stringify(ok));
  } finally { s.close(); }
});

test('an HTTP/1.1 client on the same listener is still served as HTTP/1.1', async () => {
  const r = await e2e.request({ port: listen.port, path: '/v1/plain', headers: { host: ECHO_HOST } });
  assert.equal(r.status, 200);
  assert.equal(e2e.who(r), 'v1');
});

// One curl run (one connection) over `paths`: { results, trace }.
function curlH2c(port, host, paths) {
  const args = e2e.curlH2cArgs(paths.map((p) => `http://127.0.0.1:${port}${p}`), { host });
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`curl ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve({ results: e2e.parseCurlResults(stdout), trace: stderr });
    });
  });
}

function assertNoH2cUpstream(seen, what) {
  assert.equal(seen.headers['http2-settings'], undefined, `${what}: HTTP2-Settings reached the upstream`);
  assert.ok(!/h2c/i.test(seen.headers.upgrade ?? ''), `${what}: the upstream saw Upgrade ${seen.headers.upgrade}`);
  assert.ok(!/upgrade|http2-settings/i.test(seen.headers.connection ?? ''),
    `${what}: the upstream saw Connection ${seen.headers.connection}`);
}

for (const [via, target] of [['sidecar', () => [listen, ECHO_HOST]], ['gateway', () => [gatewayListen, GW_HOST]]]) {
  test(`${via}: curl's Upgrade: h2c gets 101, stream 1 and stream 3 are HTTP/2 and routed`, async () => {
    const [l, host] = target();
    const { results, trace } = await curlH2c(l.port, host, ['/v1/upgraded?q=1', '/only-v2']);
    // curl really asked for the upgrade, got it from the proxy, and sent the next as stream 3.
    assert.deepEqual(e2e.h2cTraceProblems(trace), [], trace);
    assert.equal(results.length, 2, trace);
    const [first, second] = results;
    assert.deepEqual([first.status, first.version, second.status, second.version], [200, '2', 200, '2'], trace);
    // Stream 1 took the request path: routed by the VirtualService's prefix match to v1.
    const one = JSON.parse(first.body);
    assert.equal(one.who, 'v1', first.body);
    assert.equal(one.url, '/v1/upgraded?q=1');
    assert.equal(one.headers.host, host);
    assertNoH2cUpstream(one, 'stream 1');
    const three = JSON.parse(second.body);
    assert.equal(three.who, 'v2', 'the exact match /only-v2 sends stream 3 to v2');
    assertNoH2cUpstream(three, 'stream 3');
  });
}

// A raw HTTP/1.1 request asking for h2c on the sidecar's listener (`settings: null`: none).
function h2cRequest({ method = 'GET', path, settings = 'AAMAAABkAAQCAAAAAAIAAAAA', body, upgrade = 'h2c' }) {
  let s = `${method} ${path} HTTP/1.1\r\nHost: ${ECHO_HOST}\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
    `Upgrade: ${upgrade}\r\n`;
  if (settings !== null) s += `HTTP2-Settings: ${settings}\r\n`;
  if (body !== undefined) s += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
  return `${s}\r\n${body ?? ''}`;
}

test('an h2c upgrade with a body, or with bad or missing HTTP2-Settings, is served as HTTP/1.1 without it', async () => {
  const cases = [
    ['a body', h2cRequest({ method: 'POST', path: '/v1/with-body', body: 'payload' })],
    ['bad settings', h2cRequest({ path: '/v1/bad-settings', settings: 'AAMAAA' })],
    ['no settings', h2cRequest({ path: '/v1/no-settings', settings: null })],
  ];
  for (const [what, wire] of cases) {
    const c = await e2e.RawConnection.connect(listen.port);
    try {
      const r = await c.send(wire);
      assert.equal(r.status, 200, `${what}: ${r.body}`);
      const seen = JSON.parse(r.body);
      assert.equal(seen.who, 'v1', what);
      assertNoH2cUpstream(seen, what);
      if (what === 'a body') assert.equal(seen.body, 'payload');
      // Still HTTP/1.1 on the same connection.
      const again = await c.send(e2e.rawGet('/v1/after', ECHO_HOST));
      assert.equal(again.status, 200, what);
    } finally { c.close(); }
  }
});
