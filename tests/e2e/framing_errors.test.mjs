// Every framing error gets an answer while one can still be given. Each vector goes over a raw
// socket through a running `sluice proxy` to a loopback upstream that records every byte per
// connection. For a request whose chunked body breaks after its head was forwarded, the client
// gets the exact status line (400, or 413 for an oversized chunk extension) before its connection
// closes, and the upstream connection that got the head is closed by the proxy and never carries a
// second request (a request pipelined behind the bad body never reaches the upstream). Ambiguous
// heads (a Content-Length list, even of identical values; an oversized head) are answered before
// anything is forwarded. A broken upstream response is a 502 and its connection is discarded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as e2e from './lib/index.mjs';

const HOST = 'up.mesh.local';

// A raw upstream: records each connection's bytes; answers complete GET requests (keep-alive)
// by path: /ok -> 200, /broken/<kind> -> a malformed response. Never answers anything else (a
// chunked POST just waits, as a real server would for the rest of its body).
const BROKEN_RESPONSES = {
  'cl-list': 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello',
  'status-code': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
  'bare-lf': 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n',
};

function startRecordingUpstream() {
  const conns = [];
  const server = net.createServer((sock) => {
    const c = { id: conns.length, data: Buffer.alloc(0), ended: false, answered: 0 };
    conns.push(c);
    let pending = Buffer.alloc(0);
    sock.on('data', (d) => {
      c.data = Buffer.concat([c.data, d]);
      pending = Buffer.concat([pending, d]);
      for (let guard = 0; guard < 100; ++guard) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        if (!head.startsWith('GET ')) return;  // bodies are never answered
        pending = pending.subarray(end + 4);
        const path = head.split(' ')[1];
        const broken = path.startsWith('/broken/') ? BROKEN_RESPONSES[path.slice(8)] : undefined;
        c.answered += 1;
        sock.write(broken ?? `HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Conn: ${c.id}\r\n\r\nok`);
      }
    });
    sock.on('end', () => { c.ended = true; sock.end(); });
    sock.on('close', () => { c.ended = true; });
    sock.on('error', () => { c.ended = true; });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, conns, port: server.address().port }));
  });
}

// Request heads seen on one upstream connection (request lines at the start of a line).
function requestLines(c) {
  return c.data.toString('latin1').match(/^[A-Z]+ \S+ HTTP\/1\.1\r$/gm) ?? [];
}

let upstream;
let proxy;

before(async () => {
  upstream = await startRecordingUpstream();
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'up', hosts: [HOST],
    endpoints: [{ address: '127.0.0.1', port: upstream.port }] }));
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0']);
  proxy = e2e.parseProxyReady(p).listen;
});

after(async () => {
  await e2e.cleanupAll();
  await new Promise((resolve) => upstream.server.close(resolve));
  for (const s of upstream.server.connections ?? []) s.destroy();
});

// The next response on `c`, with its status line exactly as sent.
async function readResponse(c) {
  await e2e.waitFor(() => c.buf.indexOf('\r\n') >= 0 || c.closed, { what: 'a status line' });
  const statusLine = c.buf.subarray(0, Math.max(0, c.buf.indexOf('\r\n'))).toString('latin1');
  return { ...(await c.readResponse(5_000)), statusLine };
}

const CHUNKED_HEAD = `POST /upload HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n`;
const SMUGGLED = `GET /smuggled HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;

const bodyVectors = [
  { name: '0x5 size', bad: '0x5\r\nhello\r\n0\r\n\r\n', status: 'HTTP/1.1 400 Bad Request' },
  { name: '-1 size', bad: '-1\r\nx\r\n0\r\n\r\n', status: 'HTTP/1.1 400 Bad Request' },
  { name: 'size overflowing 64 bits', bad: '10000000000000000\r\nx\r\n0\r\n\r\n',
    status: 'HTTP/1.1 400 Bad Request' },
  { name: '5x size', bad: '5x\r\nhello\r\n0\r\n\r\n', status: 'HTTP/1.1 400 Bad Request' },
  { name: 'LF in a chunk extension', bad: '5;name=va\nlue\r\nhello\r\n0\r\n\r\n',
    status: 'HTTP/1.1 400 Bad Request' },
  { name: '70 KiB chunk extension', bad: `5;x=${'a'.repeat(70 * 1024)}\r\nhello\r\n0\r\n\r\n`,
    status: 'HTTP/1.1 413 Content Too Large' },
];

for (const v of bodyVectors) {
  test(`chunked body with ${v.name} after the head was forwarded: ${v.status}, upstream closed`, async () => {
    const before = upstream.conns.length;
    const c = await e2e.RawConnection.connect(proxy.port);
    // The head and a good first chunk go first; wait until the upstream has them.
    c.write(`${CHUNKED_HEAD}5\r\nhello\r\n`);
    const up = await e2e.waitFor(() => upstream.conns.slice(before)
      .find((u) => u.data.includes('hello')), { what: 'the forwarded head and first chunk' });
    assert.equal(requestLines(up).length, 1);
    // Then the bad chunk, with a request pipelined behind it.
    c.write(v.bad + SMUGGLED);
    const r = await readResponse(c);
    assert.equal(r.statusLine, v.status);
    assert.equal(r.headers.connection, 'close');
    assert.match(r.body, /malformed request body: /);
    assert.equal(await c.waitClosed(3_000), true, 'the downstream connection is closed');
    // The upstream connection that got the head is closed by the proxy, never reused.
    await e2e.waitFor(() => up.ended, { what: 'the upstream connection to be closed' });
    assert.deepEqual(requestLines(up), ['POST /upload HTTP/1.1\r'], 'no second request on it');
    for (const u of upstream.conns) {
      assert.ok(!u.data.includes('/smuggled'), 'the pipelined request never went upstream');
    }
    c.close();
  });
}

// Ambiguous heads are answered before anything goes upstream.
const headVectors = [
  { name: 'Content-Length: 5, 5', head: 'Content-Length: 5, 5\r\n', status: 'HTTP/1.1 400 Bad Request' },
  { name: 'Content-Length: 5, 6', head: 'Content-Length: 5, 6\r\n', status: 'HTTP/1.1 400 Bad Request' },
  { name: 'two Content-Length: 5 fields', head: 'Content-Length: 5\r\nContent-Length: 5\r\n',
    status: 'HTTP/1.1 400 Bad Request' },
  { name: 'a 70 KiB header', head: `X-Big: ${'b'.repeat(70 * 1024)}\r\n`,
    status: 'HTTP/1.1 431 Request Header Fields Too Large' },
];

for (const v of headVectors) {
  test(`request head with ${v.name}: ${v.status}, never forwarded`, async () => {
    const before = upstream.conns.length;
    const c = await e2e.RawConnection.connect(proxy.port);
    c.write(`POST /cl HTTP/1.1\r\nHost: ${HOST}\r\n${v.head}\r\nhello${SMUGGLED}`);
    const r = await readResponse(c);
    assert.equal(r.statusLine, v.status);
    assert.equal(r.headers.connection, 'close');
    assert.equal(await c.waitClosed(3_000), true);
    // A request on a fresh connection still works (and proves the upstream is reachable).
    const ok = await e2e.RawConnection.connect(proxy.port);
    assert.equal((await ok.send(e2e.rawGet('/ok', HOST))).status, 200);
    ok.close();
    for (const u of upstream.conns.slice(before)) {
      const lines = requestLines(u);
      assert.ok(lines.every((l) => l.startsWith('GET /ok ')), `only /ok went upstream: ${lines}`);
    }
    c.close();
  });
}

for (const kind of Object.keys(BROKEN_RESPONSES)) {
  test(`a malformed upstream response (${kind}) is a 502 and its connection is discarded`, async () => {
    const before = upstream.conns.length;
    const c = await e2e.RawConnection.connect(proxy.port);
    c.write(e2e.rawGet(`/broken/${kind}`, HOST));
    const r = await readResponse(c);
    assert.equal(r.statusLine, 'HTTP/1.1 502 Bad Gateway');
    assert.match(r.body, /upstream sent a malformed response/);
    const used = upstream.conns.slice(before);
    assert.ok(used.length >= 1);
    await e2e.waitFor(() => used.every((u) => u.ended), { what: 'the upstream connection(s) closed' });
    for (const u of used) assert.equal(requestLines(u).length, 1, 'one request per connection');
    // The next request on the same downstream connection gets a fresh upstream connection.
    const next = await c.send(e2e.rawGet('/ok', HOST));
    assert.equal(next.status, 200);
    assert.ok(!used.some((u) => u.answered > 1), 'the broken connection was not reused');
    c.close();
  });
}
