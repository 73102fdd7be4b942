// Resource bounds of `sluice proxy`: an idle keep-alive downstream connection holds no read
// buffer (its RSS cost, read from /proc, stays a few KiB: it was ~37 KiB with 16 KiB buffers
// held while idle); at --max-downstream-connections the oldest idle connection is closed to make
// room for a new one, and with none idle the new one is refused (accepted and closed at once, no
// byte), counted in sluice_downstream_connections_overflow_total, the slot given back when a
// connection closes; --overload-max-heap-bytes refuses new connections and sheds idle ones, oldest
// first, while the heap is at the cap, and the proxy keeps serving what is in flight.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as e2e from './lib/index.mjs';

const HOST = 'up.mesh.local';
const IDLE = 400;  // connections held idle for the RSS measurement
const CAP = 500;
// Generous: the measured cost is ~4 KiB; a sanitizer build's allocator pads every block.
const MAX_KIB_PER_IDLE = process.env.SLUICE_E2E_SANITIZED ? 64 : 10;

let proxy;
let admin;
let proxyPid;
const open = [];

before(async () => {
  const upstream = await e2e.startUpstream('up');
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'up', hosts: [HOST],
    endpoints: [{ address: '127.0.0.1', port: upstream.port }] }));
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--max-downstream-connections', String(CAP)]);
  ({ listen: proxy, admin } = e2e.parseProxyReady(p));
  proxyPid = p.pid;
});

after(async () => {
  for (const c of open) c.close();
  await e2e.cleanupAll();
});

function rssKiB() {
  return Number(readFileSync(`/proc/${proxyPid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m)[1]);
}

// The value of the Prometheus sample `name` (labels included) on the admin port, or undefined.
async function metricAt(port, name) {
  const r = await e2e.request({ port, path: '/stats/prometheus' });
  const escaped = name.replace(/[{}"]/g, '\\$&');
  const m = r.body.match(new RegExp(`^${escaped} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

const metric = (name) => metricAt(admin.port, name);

// A keep-alive connection that made one request and now sits idle.
async function idleConnection(i) {
  const c = await e2e.RawConnection.connect(proxy.port);
  const r = await c.send(e2e.rawGet(`/idle/${i}`, HOST, { 'user-agent': 'resource-bounds/1.0' }));
  assert.equal(r.status, 200);
  return c;
}

test(`${IDLE} idle keep-alive connections cost at most ${MAX_KIB_PER_IDLE} KiB each`, async () => {
  // Warm up what every connection shares (upstream pool, stats series, allocator arenas).
  for (let i = 0; i < 20; ++i) (await idleConnection(i)).close();
  const before = rssKiB();
  for (let i = 0; i < IDLE; ++i) open.push(await idleConnection(i));
  const perConnection = (rssKiB() - before) / IDLE;
  assert.ok(perConnection <= MAX_KIB_PER_IDLE,
    `${perConnection.toFixed(2)} KiB per idle connection (limit ${MAX_KIB_PER_IDLE})`);
  // Idle, not dead: every one still serves a request.
  for (const [i, c] of open.slice(0, 20).entries()) {
    assert.equal((await c.send(e2e.rawGet(`/again/${i}`, HOST))).status, 200);
  }
});

test(`at --max-downstream-connections ${CAP} the oldest idle connection makes room; none idle: refused`, async () => {
  // The warm-up connections closed; wait until the proxy has seen every close.
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_active')) === open.length,
    { what: 'the active gauge to match the open connections' });
  while (open.length < CAP) open.push(await idleConnection(open.length));
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_idle')) === CAP,
    { what: `${CAP} idle connections` });

  // One more: served, and the connection idle longest is closed for it (0-19 were used again by
  // the test above, so that is open[20]).
  const extra = await idleConnection(CAP);
  assert.equal(await open[20].waitClosed(3_000), true, 'the oldest idle connection was closed');
  for (const i of [19, 21, CAP - 1]) assert.equal(open[i].closed, false, `open[${i}] still open`);
  assert.equal(await metric('sluice_overload_idle_connections_closed_total{reason="max_connections"}'), 1);
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 0);
  open.splice(20, 1);
  open.push(extra);

  // Every connection in a request (a head begun, not finished): nothing idle to close, so the
  // connection beyond the cap is refused.
  for (const c of open) c.write(`GET /busy HTTP/1.1\r\nhost: ${HOST}\r\n`);
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_idle')) === 0,
    { what: 'no idle connection left' });
  const refused = await e2e.RawConnection.connect(proxy.port);
  refused.write(e2e.rawGet('/refused', HOST));
  assert.equal(await refused.waitClosed(3_000), true, 'refused: closed by the proxy');
  assert.equal(refused.buf.length, 0, 'no response bytes for a refused connection');
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 1);

  // Connections under the cap keep working, and a closed one gives its slot back.
  assert.equal((await open[0].send('\r\n')).status, 200);
  open.pop().close();
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_active')) === CAP - 1,
    { what: 'the slot to be given back' });
  const again = await idleConnection(CAP + 1);
  open.push(again);
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 1);
  for (const c of open.splice(0)) c.close();
});

// --overload-max-heap-bytes: a second proxy, its cap a little above the heap the same proxy uses
// when quiet (read from a first run's sluice_overload_heap_bytes). Requests with big bodies are
// held in flight while idle keep-alive connections pile up until the heap reaches the cap: new
// connections are then refused, idle ones are closed oldest first, the requests in flight
// complete, and once under the cap the proxy accepts again.
test('heap overload: new connections refused, oldest idle closed, active requests served, recovery', async () => {
  const upstream = await e2e.startUpstream('heap-up');
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'heap-up', hosts: ['heap.mesh.local'],
    endpoints: [{ address: '127.0.0.1', port: upstream.port }] }));
  const start = async (cap) => {
    const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
      '--admin', '127.0.0.1:0', '--overload-max-heap-bytes', String(cap)]);
    const ready = e2e.parseProxyReady(p);
    const m = (name) => metricAt(ready.admin.port, name);
    const get = async (c, path) => c.send(e2e.rawGet(path, 'heap.mesh.local'));
    const connection = async (path) => {
      const c = await e2e.RawConnection.connect(ready.listen.port);
      return { c, r: await get(c, path).catch(() => null) };
    };
    return { p, m, get, connection, port: ready.listen.port };
  };
  const warm = async (px) => {
    for (let i = 0; i < 20; ++i) {
      const { c, r } = await px.connection(`/warm/${i}`);
      assert.equal(r?.status, 200);
      c.close();
    }
  };

  const quiet = await start(2 ** 40);
  await warm(quiet);
  await e2e.waitFor(async () => (await quiet.m('sluice_overload_heap_bytes')) > 0, { what: 'a heap sample' });
  const base = await quiet.m('sluice_overload_heap_bytes');
  await quiet.p.stop();
  // Headroom of about 1,000 idle connections' worth (more in a sanitizer build).
  const cap = Math.round(base * 1.1) + (process.env.SLUICE_E2E_SANITIZED ? 12 : 3) * 2 ** 20;
  const px = await start(cap);
  await warm(px);
  assert.equal(await px.m('sluice_overload_active'), 0, `quiet heap under the cap (base ${base}, cap ${cap})`);

  // Requests in flight: a 1 MiB body each, the first 256 KiB sent.
  const BODY = 2 ** 20;
  const active = [];
  for (let i = 0; i < 8; ++i) {
    const c = await e2e.RawConnection.connect(px.port);
    c.write(`POST /big/${i} HTTP/1.1\r\nhost: heap.mesh.local\r\ncontent-length: ${BODY}\r\n\r\n`);
    c.write(Buffer.alloc(BODY / 4, 'a'));
    active.push(c);
  }
  // Idle keep-alive connections, oldest first, until the proxy refuses one.
  const idle = [];
  let refusedAt = -1;
  for (let i = 0; i < 8000 && refusedAt < 0; ++i) {
    const { c, r } = await px.connection(`/idle/${i}`);
    if (r === null) {
      refusedAt = i;
      c.close();
    } else {
      assert.equal(r.status, 200);
      // An answer given during the overload ends keep-alive: that connection is not left idle.
      if (r.headers.connection === 'close') {
        c.close();
      } else {
        idle.push(c);
      }
    }
  }
  assert.ok(refusedAt >= 0, `no connection refused after ${idle.length} idle ones (cap ${cap})`);
  assert.ok((await px.m('sluice_overload_activations_total')) >= 1);
  assert.ok((await px.m('sluice_overload_refused_connections_total')) >= 1);
  await e2e.waitFor(() => /overload: heap in use \d+ bytes >= --overload-max-heap-bytes/
    .test(px.p.stdout + px.p.stderr), { what: 'the overload log line' });

  // Idle connections are closed, the oldest first: every closed one is older than every open one.
  await e2e.waitFor(() => idle.some((c) => c.closed), { timeoutMs: 10_000, what: 'an idle connection closed' });
  await e2e.waitFor(async () => (await px.m('sluice_overload_active')) === 0 ||
    idle.every((c) => c.closed), { timeoutMs: 20_000, what: 'idle connections shed' });
  const firstOpen = idle.findIndex((c) => !c.closed);
  if (firstOpen >= 0) {
    assert.ok(idle.slice(firstOpen).every((c) => !c.closed), 'idle connections closed oldest first');
  }
  assert.ok((await px.m('sluice_overload_idle_connections_closed_total{reason="heap"}')) >= 1);

  // The requests in flight complete.
  for (const [i, c] of active.entries()) {
    c.write(Buffer.alloc(BODY - BODY / 4, 'b'));
    const r = await c.readResponse(20_000);
    assert.equal(r.status, 200, `active request ${i}`);
    assert.equal(JSON.parse(r.body.toString()).body.length, BODY);
    c.close();
  }
  // Under the cap again: accepting and serving.
  for (const c of idle) c.close();
  await e2e.waitFor(async () => (await px.m('sluice_overload_active')) === 0,
    { timeoutMs: 20_000, what: 'the heap back under the cap' });
  const after = await e2e.RawConnection.connect(px.port);
  const r = await px.get(after, '/after').catch((e) => ({ error: e.message }));
  assert.equal(r?.status, 200, `served after the overload: ${JSON.stringify(r?.error ?? r?.status)}; ` +
    `active ${await px.m('sluice_overload_active')}, heap ${await px.m('sluice_overload_heap_bytes')}, ` +
    `refused ${await px.m('sluice_overload_refused_connections_total')}, activations ` +
    `${await px.m('sluice_overload_activations_total')}, cap ${cap}`);
  const c = after;
  c.close();
  await px.p.stop();
});
