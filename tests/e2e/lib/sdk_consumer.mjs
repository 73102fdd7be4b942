// The seed's consumer written against the OFFICIAL Nacos Node SDK (npm `nacos`, HTTP v1 naming),
// for the method-2 test: it knows nothing about the mesh. Run in a pod:
//   node sdk_consumer.mjs '{"server":"HOST:8848","ip":"10.0.130.5","port":8080}'
// Options: server (Nacos HOST:PORT), ip/port (listen and register), service (default consumer),
// provider (default service-provider), namespace (default public), callTimeoutMs (default 3000).
//
// GET /echo/:s   picks a healthy provider instance from the SDK (round robin over the SDK's
//                cached, subscribed list) and answers with GET http://<ip>:<port>/echo/:s
// GET /debug     the SDK's current instances of the provider: { hosts: [{ ip, port, metadata }] }
// Prints `sdk-consumer listening on IP:PORT` once it serves and is registered.
import http from 'node:http';
import { NacosNamingClient } from 'nacos';

const opts = JSON.parse(process.argv[2] ?? '{}');
const service = opts.service ?? 'consumer';
const provider = opts.provider ?? 'service-provider';
const callTimeoutMs = opts.callTimeoutMs ?? 3_000;

const logger = {
  info() {}, debug() {}, log() {},
  warn: (...a) => console.error('sdk warn:', ...a.map(String)),
  error: (...a) => console.error('sdk error:', ...a.map(String)),
};
const client = new NacosNamingClient({
  logger, serverList: opts.server, namespace: opts.namespace ?? 'public',
});

let next = 0;
async function healthyInstances() {
  // selectInstances subscribes on first use; afterwards it reads the SDK's polled cache.
  const hosts = await client.selectInstances(provider);
  return [...hosts].sort((a, b) => `${a.ip}:${a.port}`.localeCompare(`${b.ip}:${b.port}`));
}

function call(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(callTimeoutMs, () => req.destroy(new Error(`${url} timed out after ${callTimeoutMs} ms`)));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const reply = (status, body, type = 'text/plain') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  try {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/debug') {
      const hosts = await healthyInstances();
      const view = hosts.map((h) => ({ ip: h.ip, port: h.port, metadata: h.metadata }));
      return reply(200, JSON.stringify({ hosts: view }), 'application/json');
    }
    const m = path.match(/^\/echo\/(.*)$/);
    if (!m) return reply(404, 'not found');
    const hosts = await healthyInstances();
    if (hosts.length === 0) return reply(502, `no healthy instance of ${provider}`);
    const h = hosts[next++ % hosts.length];
    const r = await call(`http://${h.ip}:${h.port}/echo/${m[1]}`);
    res.writeHead(r.status, { 'content-type': 'text/plain', 'content-length': r.body.length });
    return res.end(r.body);
  } catch (e) {
    return reply(502, `consumer call failed: ${e.message}`);
  }
});

await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(opts.port ?? 8080, opts.ip ?? '0.0.0.0', resolve);
});
await client.ready();
await client.registerInstance(service, { ip: opts.ip, port: opts.port ?? 8080, metadata: { version: 'v1' } });
console.log(`sdk-consumer listening on ${opts.ip}:${opts.port ?? 8080}`);

const stop = async () => {
  // Bounded: the registry (or the sidecar in front of it) may already be gone.
  const dereg = client.deregisterInstance(service, { ip: opts.ip, port: opts.port ?? 8080 }).catch(() => {});
  await Promise.race([dereg, new Promise((r) => setTimeout(r, 1_000))]);
  try { client.close(); } catch { /* best effort */ }
  server.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
