// Hot reload and shutdown of `sluice proxy`:
// - a good config change applies to the next request on an already-open keep-alive connection,
//   and that connection survives the reload;
// - a change with a YAML syntax error keeps the old routing and /config_dump shows the error with
//   file:line;
// - SIGTERM lets an in-flight request finish, then the process exits 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { ECHO_HOST, echoMeshFiles, echoRouteTo, describeResponse } from './lib/fixtures.mjs';

after(e2e.cleanupAll);

const url = (path) => `http://${ECHO_HOST}${path}`;


async function startMesh(subset) {
  const v1 = await e2e.startUpstream('v1');
  const v2 = await e2e.startUpstream('v2');
  const dir = e2e.makeTempDir();
  const files = echoMeshFiles({ v1Port: v1.port, v2Port: v2.port });
  files['virtual-service.yaml'] = echoRouteTo(subset);
  for (const [name, text] of Object.entries(files)) e2e.writeAtomic(dir, name, text);
  const proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0']);
  const { listen, admin } = e2e.parseProxyReady(proxy);
  return { v1, v2, dir, proxy, listen, admin };
}

async function configDump(admin) {
  const r = await e2e.request({ port: admin.port, path: '/config_dump' });
  assert.equal(r.status, 200, `/config_dump: ${describeResponse(r)}`);
  return r.body;
}

// The snapshot version /config_dump reports: the numeric "version" nearest the top of its JSON
// (breadth-first, bounded), whatever object the proxy wraps the snapshot in.
function dumpVersion(body) {
  let queue = [JSON.parse(body)];
  for (let depth = 0; depth < 4 && queue.length; ++depth) {
    const next = [];
    for (const node of queue) {
      if (node && typeof node === 'object' && !Array.isArray(node)) {
        if (typeof node.version === 'number') return node.version;
        next.push(...Object.values(node));
      }
    }
    queue = next;
  }
  return -1;
}

test('a good change applies to the next request on an open keep-alive connection', async () => {
  const m = await startMesh('v1');
  const conn = await e2e.RawConnection.connect(m.listen.port);
  try {
    const r1 = await conn.send(e2e.rawGet(url('/a'), ECHO_HOST));
    assert.equal(e2e.who(r1), 'v1', describeResponse(r1));
    const v0 = dumpVersion(await configDump(m.admin));
    assert.ok(v0 >= 1, 'config_dump should report the snapshot version');

    e2e.writeAtomic(m.dir, 'virtual-service.yaml', echoRouteTo('v2'));
    await e2e.waitFor(async () => dumpVersion(await configDump(m.admin)) > v0,
      { timeoutMs: 3_000, what: 'a new snapshot version after the config change' });

    const r2 = await conn.send(e2e.rawGet(url('/b'), ECHO_HOST));
    assert.equal(e2e.who(r2), 'v2', `next request on the same connection: ${describeResponse(r2)}`);
    assert.equal(conn.closed, false, 'the reload must not close client connections');
  } finally {
    conn.close();
    await m.proxy.stop();
  }
});

test('a change with a syntax error keeps the old routing and /config_dump names file:line', async () => {
  const m = await startMesh('v1');
  try {
    const v0 = dumpVersion(await configDump(m.admin));
    // An unterminated flow sequence: a YAML syntax error on a known line (line 8 of the file).
    e2e.writeAtomic(m.dir, 'virtual-service.yaml', `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: echo
  namespace: default
spec:
  hosts: [${ECHO_HOST}]
  http: [{route: [{destination: {host: ${ECHO_HOST}, subset: v2}}]
`);
    const dump = await e2e.waitFor(async () => {
      const body = await configDump(m.admin);
      return /virtual-service\.yaml:\d+/.test(body) ? body : null;
    }, { timeoutMs: 3_000, what: '/config_dump to show the error with file:line' });
    assert.match(dump, /virtual-service\.yaml:\d+/);
    assert.equal(dumpVersion(dump), v0, 'a bad config must not produce a new snapshot');

    const r = await e2e.proxyRequest(m.listen, url('/still-v1'));
    assert.equal(e2e.who(r), 'v1', `old routing must keep serving: ${describeResponse(r)}`);
    assert.match(m.proxy.stderr, /virtual-service\.yaml:\d+/, 'the error is logged with file:line');

    // Fixing it applies the fix and clears the error.
    e2e.writeAtomic(m.dir, 'virtual-service.yaml', echoRouteTo('v2'));
    await e2e.waitFor(async () => {
      const r2 = await e2e.proxyRequest(m.listen, url('/fixed'));
      return e2e.who(r2) === 'v2';
    }, { timeoutMs: 3_000, what: 'the fixed config to route to v2' });
    const after = await configDump(m.admin);
    assert.doesNotMatch(after, /virtual-service\.yaml:\d+/, 'errors are cleared by a good config');
  } finally {
    await m.proxy.stop();
  }
});

test('deleting the VirtualService file removes its routes', async () => {
  const m = await startMesh('v2');
  try {
    const r1 = await e2e.proxyRequest(m.listen, url('/x'));
    assert.equal(e2e.who(r1), 'v2', describeResponse(r1));
    e2e.removeFile(m.dir, 'virtual-service.yaml');
    // Without a VirtualService the service's default route spreads over both endpoints.
    const seen = new Set();
    await e2e.waitFor(async () => {
      const r = await e2e.proxyRequest(m.listen, url('/x'));
      seen.add(e2e.who(r));
      return seen.has('v1');
    }, { timeoutMs: 3_000, what: 'v1 to be reachable once the VirtualService is gone' });
  } finally {
    await m.proxy.stop();
  }
});

test('SIGTERM lets the in-flight request finish and exits 0', async () => {
  const m = await startMesh('v1');
  const inflight = e2e.proxyRequest(m.listen, url('/slow-drain'),
    { headers: { 'x-test-delay-ms': '800' }, timeoutMs: 5_000 });
  await e2e.waitFor(() => m.v1.count((q) => q.url === '/slow-drain') === 1,
    { timeoutMs: 3_000, what: 'the request to reach the upstream' });
  m.proxy.signal('SIGTERM');
  const r = await inflight;
  assert.equal(r.status, 200, `in-flight request during drain: ${describeResponse(r)}`);
  assert.equal(e2e.who(r), 'v1');
  const exit = await m.proxy.waitExit(10_000);
  assert.deepEqual(exit, { code: 0, signal: null }, m.proxy.describe());
  await assert.rejects(e2e.RawConnection.connect(m.listen.port, '127.0.0.1', 1_000),
    'nothing listens after exit');
});

test('SIGINT on an idle proxy exits 0 promptly', async () => {
  const m = await startMesh('v1');
  const t0 = Date.now();
  m.proxy.signal('SIGINT');
  const exit = await m.proxy.waitExit(5_000);
  assert.deepEqual(exit, { code: 0, signal: null }, m.proxy.describe());
  assert.ok(Date.now() - t0 < 3_000, `idle drain took ${Date.now() - t0} ms`);
});
