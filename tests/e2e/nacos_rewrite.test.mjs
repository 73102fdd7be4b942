// Method 2 of the seed (the Nacos-subscribe EnvoyFilter) through `sluice proxy`: instance lists
// fetched through the sidecar on the filter's port come back with every `ip` replaced by the
// service's mesh host, with a correct Content-Length, uncompressed, and the request reaches the
// registry with udpPort=0 (no UDP push could undo the rewrite). Everything else passes unchanged.
// The registry here is a recording stand-in on loopback, so the wire details can be asserted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';

const LIST = {
  name: 'DEFAULT_GROUP@@service-provider',
  clusters: '',
  cacheMillis: 10000,
  hosts: [
    { instanceId: '10.0.130.11#8070#DEFAULT#DEFAULT_GROUP@@service-provider', ip: '10.0.130.11', port: 8070,
      weight: 1.0, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT',
      serviceName: 'DEFAULT_GROUP@@service-provider', metadata: { label: 'v1' } },
    { instanceId: '10.0.130.12#8070#DEFAULT#DEFAULT_GROUP@@service-provider', ip: '10.0.130.12', port: 8070,
      weight: 2.0, healthy: false, enabled: true, ephemeral: true, clusterName: 'DEFAULT',
      serviceName: 'DEFAULT_GROUP@@service-provider', metadata: { label: 'v2' } },
  ],
};

let registry;       // { port, seen: [{ url, headers }] }
let otherRegistry;  // same stand-in on a port no filter names
let proxy;

function standInRegistry() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url, headers: req.headers });
    const body = JSON.stringify(LIST, null, 2);  // pretty-printed, as some servers answer
    if (req.url.startsWith('/nacos/v1/ns/instance/list') && req.headers['x-test-chunked']) {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Several chunks, split inside the JSON: the rewrite must see the whole body.
      for (let i = 0; i < body.length; i += 50) res.write(body.slice(i, i + 50));
      res.end();
      return;
    }
    if (req.url.startsWith('/nacos/v1/ns/instance/list') && req.headers['x-test-broken']) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': 9 });
      res.end('not json!');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ server, seen, port: server.address().port })));
}

before(async () => {
  registry = await standInRegistry();
  otherRegistry = await standInRegistry();
  const configDir = e2e.makeTempDir('sluice-nacos-rewrite-');
  const filter = readFileSync(join(e2e.sourceDir(), 'examples/seed/external-envoyfilter.yaml'), 'utf8');
  assert.match(filter, /portNumber: 8848/);
  e2e.writeAtomic(configDir, 'external-envoyfilter.yaml',
    filter.replace('portNumber: 8848', `portNumber: ${registry.port}`));
  const sidecar = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0'], { name: 'sidecar' });
  proxy = e2e.parseProxyReady(sidecar).listen;
});

after(async () => {
  await e2e.cleanupAll();
  for (const r of [registry, otherRegistry]) r?.server.close();
});

function listUrl(port, extra = '') {
  return `http://127.0.0.1:${port}/nacos/v1/ns/instance/list?serviceName=DEFAULT_GROUP%40%40service-provider` +
    `&clusters=&udpPort=53111&clientIP=10.0.130.13&healthyOnly=false${extra}`;
}

function assertRewritten(r) {
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['content-encoding'], undefined, 'no compression the client did not get');
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  const list = JSON.parse(r.body);
  assert.equal(list.name, LIST.name, 'the cache key stays');
  assert.equal(list.clusters, LIST.clusters);
  assert.deepEqual(list.hosts.map((h) => h.ip), ['service-provider', 'service-provider']);
  assert.deepEqual(list.hosts.map((h) => [h.port, h.healthy, h.weight, h.metadata.label, h.instanceId]),
    LIST.hosts.map((h) => [h.port, h.healthy, h.weight, h.metadata.label, h.instanceId]));
}

test('an instance list through the sidecar names the mesh host; the registry sees udpPort=0 and no Accept-Encoding', async () => {
  const r = await e2e.proxyRequest(proxy, listUrl(registry.port),
    { headers: { 'accept-encoding': 'gzip,deflate,sdch' } });
  assertRewritten(r);
  const sent = registry.seen.at(-1);
  const q = new URL(sent.url, 'http://x').searchParams;
  assert.equal(q.get('udpPort'), '0', 'UDP push disabled so it cannot undo the rewrite');
  assert.equal(q.get('clientIP'), '10.0.130.13', 'other parameters untouched');
  assert.equal(q.get('serviceName'), 'DEFAULT_GROUP@@service-provider');
  assert.equal(sent.headers['accept-encoding'], undefined);
});

test('a chunked instance list is read whole, rewritten and sent with Content-Length', async () => {
  const r = await e2e.proxyRequest(proxy, listUrl(registry.port), { headers: { 'x-test-chunked': '1' } });
  assertRewritten(r);
  assert.equal(r.headers['transfer-encoding'], undefined);
});

test('keep-alive: several lists on one client connection stay correctly framed', async () => {
  const agent = e2e.keepAliveAgent(1);
  try {
    for (let i = 0; i < 3; i++) {
      const u = new URL(listUrl(registry.port));
      const r = await e2e.request({ port: proxy.port, path: u.href, agent,
        headers: { host: u.host, ...(i === 1 ? { 'x-test-chunked': '1' } : {}) } });
      assertRewritten(r);
      if (i > 0) assert.equal(r.socketReused, true);
    }
  } finally {
    agent.destroy();
  }
});

test('a body that is not an instance list passes unchanged', async () => {
  const r = await e2e.proxyRequest(proxy, listUrl(registry.port), { headers: { 'x-test-broken': '1' } });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'not json!');
});

test('other registry paths and other ports are not rewritten', async () => {
  const beat = await e2e.proxyRequest(proxy,
    `http://127.0.0.1:${registry.port}/nacos/v1/ns/service/list?pageNo=1&pageSize=10&udpPort=53111`);
  assert.deepEqual(JSON.parse(beat.body).hosts.map((h) => h.ip), ['10.0.130.11', '10.0.130.12']);
  assert.match(registry.seen.at(-1).url, /udpPort=53111/);

  const other = await e2e.proxyRequest(proxy, listUrl(otherRegistry.port));
  assert.deepEqual(JSON.parse(other.body).hosts.map((h) => h.ip), ['10.0.130.11', '10.0.130.12']);
  assert.match(otherRegistry.seen.at(-1).url, /udpPort=53111/);
});
