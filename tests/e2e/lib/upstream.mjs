// Tiny upstream HTTP servers that say who they are, so a test can see where the mesh sent a
// request. Each binds 127.0.0.1:0 and answers every request with JSON
//   { "who": NAME, "method", "url", "headers", "body" }
// and the header `x-upstream: NAME`. Test knobs, taken from request headers so one config serves
// every case:
//   x-test-delay-ms: N      answer after N ms (bounded to 30 s)
//   x-test-status: N        answer with status N
//   x-test-fail-first: N    per (x-test-key or url), the first N requests get 503 (retries)
//   x-test-reset-first: N   per key, the first N requests have their connection destroyed
import http from 'node:http';
import { keepAliveAgent, runConcurrently } from './net.mjs';

const servers = new Set();

export async function startUpstream(name, { host = '127.0.0.1', port = 0 } = {}) {
  const state = {
    name, host, port: 0, requests: [], failCounts: new Map(), resetCounts: new Map(), sockets: new Set(),
  };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const entry = { method: req.method, url: req.url, headers: req.headers, body, at: Date.now() };
      state.requests.push(entry);
      const key = req.headers['x-test-key'] ?? req.url;
      const resetFirst = Number(req.headers['x-test-reset-first'] ?? 0);
      if (resetFirst > 0) {
        const n = (state.resetCounts.get(key) ?? 0) + 1;
        state.resetCounts.set(key, n);
        if (n <= resetFirst) { req.socket.destroy(); return; }
      }
      let status = Number(req.headers['x-test-status'] ?? 200);
      const failFirst = Number(req.headers['x-test-fail-first'] ?? 0);
      if (failFirst > 0) {
        const n = (state.failCounts.get(key) ?? 0) + 1;
        state.failCounts.set(key, n);
        if (n <= failFirst) status = 503;
      }
      const payload = JSON.stringify({ who: name, method: req.method, url: req.url, headers: req.headers, body });
      const delay = Math.min(Number(req.headers['x-test-delay-ms'] ?? 0), 30_000);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(status, {
          'content-type': 'application/json', 'content-length': Buffer.byteLength(payload),
          'x-upstream': name,
        });
        res.end(payload);
      };
      if (delay > 0) {
        const t = setTimeout(send, delay);
        res.on('close', () => clearTimeout(t));
      } else {
        send();
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => { state.sockets.add(s); s.on('close', () => state.sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  state.port = server.address().port;
  state.server = server;
  state.address = `${host}:${state.port}`;
  state.count = (pred = () => true) => state.requests.filter(pred).length;
  state.reset = () => { state.requests.length = 0; state.failCounts.clear(); state.resetCounts.clear(); };
  state.close = () => new Promise((resolve) => {
    servers.delete(state);
    for (const s of state.sockets) s.destroy();
    server.close(() => resolve());
  });
  servers.add(state);
  return state;
}

// Closes every upstream started by this process.
export async function closeAllUpstreams() {
  await Promise.all([...servers].map((s) => s.close()));
}

// Parses the JSON an upstream answered with; returns null for anything else (e.g. a proxy's 404).
export function who(response) {
  try {
    return JSON.parse(response.body).who ?? null;
  } catch {
    return null;
  }
}

// Sends `total` requests with `send(agent)` over `connections` keep-alive connections and counts
// which upstream answered each ({ v1, v2, ..., other }).
export async function countUpstreams(total, connections, send) {
  const agent = keepAliveAgent(connections);
  try {
    const results = await runConcurrently(total, connections, () => send(agent));
    const counts = { other: 0 };
    for (const r of results) {
      const name = who(r) ?? 'other';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  } finally {
    agent.destroy();
  }
}
