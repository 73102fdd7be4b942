// Resource bounds of `sluice proxy`: an idle keep-alive downstream connection holds no read
// buffer (its RSS cost, read from /proc, stays a few KiB: it was ~37 KiB with 16 KiB buffers
// held while idle), and --max-downstream-connections refuses the connection beyond the cap
// (accepted and closed at once, no byte), counts it in sluice_downstream_connections_overflow_total
// and gives the slot back when a connection closes.
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

async function metric(name) {
  const r = await e2e.request({ port: admin.port, path: '/stats/prometheus' });
  const m = r.body.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

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

test(`the connection beyond --max-downstream-connections ${CAP} is refused and counted`, async () => {
  // The warm-up connections closed; wait until the proxy has seen every close.
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_active')) === open.length,
    { what: 'the active gauge to match the open connections' });
  while (open.length < CAP) open.push(await e2e.RawConnection.connect(proxy.port));
  // connect() completes in the kernel before the proxy's accept: wait until it took them all.
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_active')) === CAP,
    { what: `${CAP} active connections` });
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 0);

  const refused = await e2e.RawConnection.connect(proxy.port);
  refused.write(e2e.rawGet('/refused', HOST));
  assert.equal(await refused.waitClosed(3_000), true, 'refused: closed by the proxy');
  assert.equal(refused.buf.length, 0, 'no response bytes for a refused connection');
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 1);

  // Connections under the cap keep working, and a closed one gives its slot back.
  assert.equal((await open[0].send(e2e.rawGet('/still', HOST))).status, 200);
  open.pop().close();
  await e2e.waitFor(async () => (await metric('sluice_downstream_connections_active')) === CAP - 1,
    { what: 'the slot to be given back' });
  const again = await idleConnection(CAP);
  open.push(again);
  assert.equal(await metric('sluice_downstream_connections_overflow_total'), 1);
});
