// Networking helpers for end-to-end tests: free loopback ports, bounded polling, HTTP requests
// in every form the mesh sees (origin-form with a Host header, absolute-form through an explicit
// proxy), and a raw keep-alive connection that shows exactly what went over the wire.
import net from 'node:net';
import http from 'node:http';

export const LOOPBACK = '127.0.0.1';

// A port that was free a moment ago (bind 0, read it back, close). Prefer letting the server
// under test bind port 0 itself and report it; use this only where a config file needs a number.
export function freePort(host = LOOPBACK) {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Polls `fn` until it returns a truthy value (which is returned), bounded in time and count.
// `fn` may throw or reject: that counts as "not yet"; the last error is reported on timeout.
export async function waitFor(fn, { timeoutMs = 5_000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  let lastError;
  for (let i = 0; i < maxTries && Date.now() <= deadline; ++i) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
    (lastError ? `: ${lastError.message}` : ''));
}

// One HTTP request with node's client. Options:
//   host, port          where to connect
//   path                request target as sent (origin-form '/x' or absolute 'http://svc/x')
//   method, headers, body, timeoutMs, agent (false = new connection, the default)
// Resolves { status, headers, body, socketReused }; rejects on connection errors and timeout.
export function request({
  host = LOOPBACK, port, path = '/', method = 'GET', headers = {}, body, timeoutMs = 5_000,
  agent = false,
}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path, method, headers, agent, setHost: !headers.host && !headers.Host },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({
          status: res.statusCode,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          socketReused: req.reusedSocket,
        }));
        res.on('error', reject);
      });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(
      `${method} ${path} via ${host}:${port} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// A request through an explicit HTTP proxy, as a process with http_proxy set sends it: the
// request line carries the absolute URL, Host carries its authority.
export function proxyRequest(proxy, url, opts = {}) {
  const u = new URL(url);
  return request({
    ...opts, host: proxy.host ?? LOOPBACK, port: proxy.port, path: u.href,
    headers: { host: u.host, ...(opts.headers ?? {}) },
  });
}

// GET until `status` comes back (e.g. an admin /ready endpoint), bounded.
export function waitForHttp({ host = LOOPBACK, port, path = '/ready', status = 200, timeoutMs = 10_000 }) {
  return waitFor(async () => {
    const r = await request({ host, port, path, timeoutMs: 1_000 });
    return r.status === status ? r : null;
  }, { timeoutMs, intervalMs: 50, what: `${path} on ${host}:${port} to return ${status}` });
}

// Parses one HTTP/1.1 response from the front of `buf` (a Buffer). Returns
// { status, headers, body, length } or null when more bytes are needed. Understands
// Content-Length and chunked bodies; a response without either is read to the end (`eof`).
export function parseResponse(buf, eof = false) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = head.shift();
  const m = statusLine.match(/^HTTP\/1\.[01] (\d{3})/);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(statusLine)}`);
  const headers = {};
  for (const line of head) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const status = Number(m[1]);
  let pos = headEnd + 4;
  const noBody = status === 204 || status === 304 || (status >= 100 && status < 200);
  if (noBody) return { status, headers, body: '', length: pos };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts = [];
    for (let guard = 0; guard < 100_000; ++guard) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(buf.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) {
        // The last chunk's line end doubles as the start of the (usually empty) trailer block.
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return null;
        return { status, headers, body: Buffer.concat(parts).toString('utf8'), length: trailerEnd + 4 };
      }
      if (buf.length < lineEnd + 2 + size + 2) return null;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
    throw new Error('too many chunks');
  }
  if (headers['content-length'] !== undefined) {
    const len = Number(headers['content-length']);
    if (buf.length < pos + len) return null;
    return { status, headers, body: buf.subarray(pos, pos + len).toString('utf8'), length: pos + len };
  }
  if (!eof) return null;
  return { status, headers, body: buf.subarray(pos).toString('utf8'), length: buf.length };
}

// One raw TCP connection for tests that must see the wire: keep-alive reuse, pipelining,
// malformed requests, whether the server closed the connection.
export class RawConnection {
  static connect(port, host = LOOPBACK, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`connect ${host}:${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(timer); resolve(new RawConnection(sock)); });
      sock.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.waiters = [];
    this.localPort = sock.localPort;
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this.wake(); });
    sock.on('end', () => { this.closed = true; this.wake(); });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => { this.closed = true; this.wake(); });
  }

  wake() { for (const w of [...this.waiters]) w(); }

  write(data) { this.sock.write(data); }

  // Sends `data` (string or Buffer) and resolves with the next complete response.
  async send(data, timeoutMs = 5_000) {
    this.write(data);
    return this.readResponse(timeoutMs);
  }

  // Resolves with the next complete response on the connection, bounded by `timeoutMs`.
  readResponse(timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
      const check = () => {
        let r;
        try {
          r = parseResponse(this.buf, this.closed);
        } catch (e) { finish(); reject(e); return; }
        if (r) {
          this.buf = this.buf.subarray(r.length);
          finish(); resolve(r); return;
        }
        if (this.closed) { finish(); reject(new Error(`connection closed before a full response; got ${JSON.stringify(this.buf.toString('latin1'))}`)); }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no complete response within ${timeoutMs} ms; got ${JSON.stringify(this.buf.toString('latin1').slice(0, 500))}`));
      }, timeoutMs);
      const finish = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  // Resolves true once the peer closed the connection, false if still open after `timeoutMs`.
  waitClosed(timeoutMs = 3_000) {
    return new Promise((resolve) => {
      const check = () => { if (this.closed) { finish(); resolve(true); } };
      const timer = setTimeout(() => { finish(); resolve(false); }, timeoutMs);
      const finish = () => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  close() { this.sock.destroy(); }
}

// Builds a GET request in wire form; `target` is '/path' or 'http://host/path'.
export function rawGet(target, host, extraHeaders = {}) {
  let s = `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n`;
  for (const [k, v] of Object.entries(extraHeaders)) s += `${k}: ${v}\r\n`;
  return `${s}\r\n`;
}

// Runs `fn(i)` for i in [0, count) with at most `concurrency` in flight; resolves with the
// results in order. Bounded: each call should carry its own timeout (request() does).
export async function runConcurrently(count, concurrency, fn) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

// A keep-alive agent with a fixed number of sockets (for load-like loops through a proxy).
export function keepAliveAgent(maxSockets = 8) {
  return new http.Agent({ keepAlive: true, maxSockets });
}
