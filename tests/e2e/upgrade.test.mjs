// Connection upgrades (WebSocket) through `sluice proxy` and `sluice gateway`: the Upgrade and
// Connection headers reach the upstream, its 101 reaches the client, and from then on the bytes
// flow both ways unchanged until either side closes; an upstream that declines answers as usual.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as e2e from './lib/index.mjs';

let upstream;
let seen = [];
let proxy;
let gatewayPort;

before(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(400, { 'content-type': 'text/plain', 'content-length': 11 });
    res.end('not upgrade');
  });
  upstream.on('upgrade', (req, socket, head) => {
    seen.push(req.headers);
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused');
      return;
    }
    // The 101 and the server's first frame in one write: early bytes must not be lost.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: test\r\n\r\nhi!');
    if (head.length) socket.write(head.toString().toUpperCase());
    socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
    socket.on('end', () => socket.end());
  });
  await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'ws', hosts: ['ws.mesh.local'],
    endpoints: [{ address: '127.0.0.1', port: upstream.address().port }] }));
  e2e.writeAtomic(dir, 'gw.yaml', e2e.gateway({ name: 'gw', servers: [{ port: 80 }] }));
  e2e.writeAtomic(dir, 'vs.yaml', e2e.virtualService({ name: 'ws', hosts: ['*'], gateways: ['gw'],
    http: '- route:\n  - destination:\n      host: ws.mesh.local' }));
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  proxy = e2e.parseProxyReady(p).listen;
  gatewayPort = await e2e.freePort();
  await e2e.startSluice(['gateway', '--config', dir, '--admin', '127.0.0.1:0',
    '--port-offset', String(gatewayPort - 80)]);
});

after(async () => {
  await e2e.cleanupAll();
  upstream?.close();
});

function waitForText(conn, text, timeoutMs = 5_000) {
  return e2e.waitFor(() => conn.buf.toString('latin1').includes(text) || (conn.closed ? 'closed' : null),
    { timeoutMs, what: `'${text}' on the client connection` });
}

const UPGRADE = (path, host) => `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive, Upgrade\r\n` +
  'Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

for (const via of ['sidecar', 'gateway']) {
  test(`${via}: a WebSocket upgrade becomes a two-way byte stream`, async () => {
    seen = [];
    const port = via === 'sidecar' ? proxy.port : gatewayPort;
    const c = await e2e.RawConnection.connect(port);
    c.write(UPGRADE('/chat', 'ws.mesh.local'));
    assert.equal(await waitForText(c, 'hi!'), true);
    const head = c.buf.toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, /\r\nupgrade: websocket\r\n/i);
    assert.match(head, /\r\nconnection: upgrade\r\n/i);
    assert.equal(seen.at(-1).upgrade, 'websocket');
    assert.match(seen.at(-1).connection, /upgrade/i);
    assert.equal(seen.at(-1)['sec-websocket-key'], 'dGhlIHNhbXBsZSBub25jZQ==');
    c.buf = Buffer.alloc(0);
    c.write('\x81\x05hello');  // any bytes: the proxy no longer parses HTTP
    assert.equal(await waitForText(c, '\x81\x05HELLO'), true);
    c.sock.end();  // the client's close travels to the upstream, whose close comes back
    assert.equal(await c.waitClosed(5_000), true);
  });
}

test('an upstream that declines the upgrade answers as usual', async () => {
  const c = await e2e.RawConnection.connect(proxy.port);
  const r = await c.send(UPGRADE('/refuse', 'ws.mesh.local'));
  assert.equal(r.status, 403);
  assert.equal(r.body, 'refused');
});

test('a request without Connection: upgrade does not pass an Upgrade header on', async () => {
  seen = [];
  const r = await e2e.proxyRequest(proxy, 'http://ws.mesh.local/plain', { headers: { upgrade: 'websocket' } });
  assert.equal(r.status, 400);
  assert.equal(seen.at(-1).upgrade, undefined);
});
