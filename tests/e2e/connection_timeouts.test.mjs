// Downstream connection timeouts of `sluice proxy`: a request head that does not complete in
// --request-headers-timeout-ms gets 408 and the connection closes (a slow-header client cannot
// hold it forever); an idle keep-alive connection closes after --idle-timeout-ms; a client that
// keeps sending requests is never cut off by either.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';

let proxy;
let upstream;

before(async () => {
  upstream = await e2e.startUpstream('up');
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'up', hosts: ['up.mesh.local'],
    endpoints: [{ address: '127.0.0.1', port: upstream.port }] }));
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--request-headers-timeout-ms', '400', '--idle-timeout-ms', '800']);
  proxy = e2e.parseProxyReady(p).listen;
});

after(e2e.cleanupAll);

test('an incomplete request head gets 408 and the connection is closed', async () => {
  const c = await e2e.RawConnection.connect(proxy.port);
  c.write('GET /slow HTTP/1.1\r\nHost: up.mesh.local\r\nX-Slow: ');
  const started = Date.now();
  const r = await c.readResponse(5_000);
  assert.equal(r.status, 408);
  assert.match(r.body, /request headers not received in time/);
  assert.ok(Date.now() - started >= 300, 'not before the timeout');
  assert.equal(await c.waitClosed(3_000), true);
});

test('an idle keep-alive connection is closed after the idle timeout, silently', async () => {
  const c = await e2e.RawConnection.connect(proxy.port);
  const r = await c.send(e2e.rawGet('/one', 'up.mesh.local'));
  assert.equal(r.status, 200);
  const started = Date.now();
  assert.equal(await c.waitClosed(5_000), true, 'closed by the proxy');
  assert.ok(Date.now() - started >= 600, 'not before the idle timeout');
  assert.equal(c.buf.length, 0, 'no response bytes for an idle close');
});

test('a connection in use is not cut off: requests spaced below the idle timeout all succeed', async () => {
  const c = await e2e.RawConnection.connect(proxy.port);
  const deadline = Date.now() + 2_000;  // longer than both timeouts together
  let n = 0;
  while (Date.now() < deadline && n < 50) {
    const r = await c.send(e2e.rawGet(`/busy/${n}`, 'up.mesh.local'));
    assert.equal(r.status, 200);
    n += 1;
    await new Promise((resolve) => setTimeout(resolve, 200));  // the client's own pacing
  }
  assert.ok(n >= 5);
  assert.equal(c.closed, false);
  c.close();
});
