// Run inside a pod (`ip netns exec NS node pod_http.mjs '<json>'`): bounded requests, one JSON
// result on stdout. The test's curl from a client pod, and its way to read a sidecar's admin
// endpoint on the pod's own loopback.
//
// Spec:
//   { "requests": [ "http://10.0.130.6/echo/world", { "url": ..., "method", "headers" }, ... ],
//     "timeoutMs": 3000 }                                  each request bounded by timeoutMs
//   { "tcp": [ { "host", "port", "send": "<hex>", "expect": N, "serverFirst": N }, ... ],
//     "timeoutMs": 3000 }
// A tcp exchange connects; with serverFirst N it first reads N bytes (the server's banner), then
// writes `send` and reads until `expect` more bytes arrived; the result carries what was read
// (hex), in order.
// Output: { "results": [ { "url"|"tcp", "status", "body", "error", "ms" }, ... ] }. Requests run
// one after another on fresh connections, so order-dependent behaviour (round robin) shows.
import http from 'node:http';
import net from 'node:net';

function get(req, timeoutMs) {
  const spec = typeof req === 'string' ? { url: req } : req;
  const started = Date.now();
  return new Promise((resolve) => {
    const done = (r) => resolve({ url: spec.url, ms: Date.now() - started, ...r });
    const options = { method: spec.method ?? 'GET', headers: spec.headers ?? {}, agent: false };
    const r = http.request(spec.url, options,
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode, headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => done({ error: e.message }));
      });
    r.setTimeout(timeoutMs, () => r.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    r.on('error', (e) => done({ error: e.message }));
    r.end(spec.body);
  });
}

function tcp(spec, timeoutMs) {
  const started = Date.now();
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    let banner = null;
    let finished = false;
    const sock = net.connect(spec.port, spec.host);
    const done = (r) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ tcp: `${spec.host}:${spec.port}`, ms: Date.now() - started,
        banner: banner?.toString('hex'), received: buf.toString('hex'), ...r });
    };
    const timer = setTimeout(() => done({ error: `timed out after ${timeoutMs} ms` }), timeoutMs);
    const payload = Buffer.from(spec.send ?? '', 'hex');
    const serverFirst = spec.serverFirst ?? 0;
    const expect = spec.expect ?? payload.length;
    const check = () => {
      if (banner === null && serverFirst > 0) {
        if (buf.length < serverFirst) return;
        banner = buf.subarray(0, serverFirst);
        buf = buf.subarray(serverFirst);
        sock.write(payload);
      }
      if (buf.length >= expect) done({ status: 'ok' });
    };
    sock.on('connect', () => { if (serverFirst === 0) sock.write(payload); });
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); check(); });
    sock.on('error', (e) => done({ error: e.message }));
    sock.on('end', () => done({ error: 'connection closed early' }));
  });
}

const spec = JSON.parse(process.argv[2] ?? '{}');
const timeoutMs = spec.timeoutMs ?? 3_000;
const results = [];
for (const req of spec.requests ?? []) results.push(await get(req, timeoutMs));
for (const t of spec.tcp ?? []) results.push(await tcp(t, timeoutMs));
process.stdout.write(`${JSON.stringify({ results })}\n`);
