// Spring Cloud Consul (the demo-consul jar of examples/spring-cloud, built by `make spring-apps`)
// against `sluice registry --protocol consul`: providers v1 + v2 register (HTTP check on
// /actuator/health, which the embedded agent probes), the consumer alternates v1/v2 through Spring
// Cloud LoadBalancer, a sidecar with --registry consul:// routes to both by label, and a graceful
// stop deregisters. Every request the Spring apps made to the agent goes through a recording
// relay: none may have failed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const HELLO = /^Hello Nacos Discovery From (v1|v2)/;

// Relays every request to the agent and records method, path and status.
async function startRecorder(agentPort) {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const up = http.request({ host: '127.0.0.1', port: agentPort, method: req.method, path: req.url,
        headers: req.headers }, (r) => {
        const call = { method: req.method, path: req.url.split('?')[0], url: req.url, status: r.statusCode };
        calls.push(call);
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      up.on('error', (err) => { calls.push({ method: req.method, url: req.url, status: 0, err: String(err) }); res.destroy(); });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return { calls, port: server.address().port };
}

const clusters = (port) => e2e.clustersJson(port);
const { providerEndpoints } = e2e;

test('Spring Cloud Consul providers v1/v2 and the consumer on the embedded agent; every agent call answered', async (t) => {
  const skip = e2e.springSkipReason(['demo-consul']);
  if (skip) { t.skip(skip); return; }
  const agent = await e2e.startSluice(['registry', '--protocol', 'consul', '--listen', '127.0.0.1:0'],
    { name: 'sluice registry consul', readyLine: /sluice registry listening on (\S+):(\d+)\n/ });
  const agentPort = Number(agent.ready[2]);
  const recorder = await startRecorder(agentPort);
  const registry = `127.0.0.1:${recorder.port}`;
  const [v1, v2, consumer] = await Promise.all([
    e2e.startDemoApp('consul', { role: 'provider', version: 'v1', registry }),
    e2e.startDemoApp('consul', { role: 'provider', version: 'v2', registry }),
    // The consumer uses Spring Cloud Consul's TTL heartbeat instead of the HTTP check.
    e2e.startDemoApp('consul', { role: 'consumer', registry, props: {
      'spring.cloud.consul.discovery.heartbeat.enabled': 'true',
      'spring.cloud.consul.discovery.heartbeat.ttl': '3s',
    } }),
  ]);

  // The agent probed the providers' HTTP checks: both pass.
  const health = await e2e.waitFor(async () => {
    const r = await e2e.request({ port: agentPort, path: '/v1/health/service/service-provider?passing=true' });
    const entries = JSON.parse(r.body);
    return entries.length === 2 ? entries : null;
  }, { timeoutMs: 20_000, intervalMs: 100, what: 'both providers passing their HTTP checks' });
  assert.deepEqual(health.map((e) => e.Service.Meta.label).sort(), ['v1', 'v2']);
  for (const e of health) {
    const check = e.Checks.find((c) => c.ServiceID === e.Service.ID);
    assert.equal(check.Type, 'http');
    assert.match(check.Output, /actuator\/health/);
  }

  // The consumer alternates v1/v2 through Spring Cloud LoadBalancer.
  const seen = [];
  await e2e.waitFor(async () => {
    const r = await consumer.get('/echo/world');
    return r.status === 200 && HELLO.test(r.body);
  }, { timeoutMs: 30_000, intervalMs: 200, what: 'the consumer to reach a provider' });
  for (let i = 0; i < 6; ++i) {
    const r = await consumer.get('/echo/world');
    assert.equal(r.status, 200, r.body);
    seen.push(r.body.match(HELLO)[1]);
  }
  assert.deepEqual([...new Set(seen)].sort(), ['v1', 'v2'], `consumer saw ${seen.join(',')}`);

  // The consumer's TTL check passes through its heartbeats (PUT /v1/agent/check/pass/service:ID).
  const consumerHealth = await e2e.waitFor(async () => {
    const r = await e2e.request({ port: agentPort, path: '/v1/health/service/consumer?passing=true' });
    const entries = JSON.parse(r.body);
    return entries.length === 1 ? entries : null;
  }, { timeoutMs: 10_000, intervalMs: 100, what: 'the consumer passing its TTL check' }).catch(async (e) => {
    const all = await e2e.request({ port: agentPort, path: '/v1/agent/services' });
    const checks = await e2e.request({ port: agentPort, path: '/v1/agent/checks' });
    throw new Error(`${e.message}: services ${all.body} checks ${checks.body} calls ${JSON.stringify(recorder.calls.filter((c) => c.method === 'PUT'))}`);
  });
  assert.equal(consumerHealth[0].Checks.find((c) => c.ServiceID === consumerHealth[0].Service.ID).Type, 'ttl');
  assert.ok(recorder.calls.some((c) => c.method === 'PUT' && c.path.startsWith('/v1/agent/check/pass/service:')),
    'the heartbeat went to /v1/agent/check/pass/service:ID');

  // A sidecar following the same agent routes to both by label.
  const sidecar = await e2e.startSluice(['proxy', '--config', e2e.makeTempDir('sluice-consul-spring-'),
    '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0', '--registry', `consul://127.0.0.1:${agentPort}`],
  { name: 'sidecar' });
  const { listen, admin } = e2e.parseProxyReady(sidecar);
  const eps = await e2e.waitFor(async () => {
    const e = providerEndpoints(await clusters(admin.port)).filter((x) => x.healthy);
    return e.length === 2 ? e : null;
  }, { timeoutMs: 10_000, intervalMs: 50, what: 'both Spring providers as healthy endpoints' });
  assert.deepEqual(Object.fromEntries(eps.map((e) => [e.labels.label, e.address])),
    { v1: `127.0.0.1:${v1.port}`, v2: `127.0.0.1:${v2.port}` });
  const via = new Set();
  for (let i = 0; i < 4; ++i) {
    const r = await e2e.proxyRequest(listen, 'http://service-provider/echo/x');
    assert.equal(r.status, 200, r.body);
    via.add(r.body.match(HELLO)?.[1]);
  }
  assert.deepEqual([...via].sort(), ['v1', 'v2']);

  // A graceful stop deregisters v2: it leaves the sidecar's routing.
  await v2.stop();
  await e2e.waitFor(async () => providerEndpoints(await clusters(admin.port)).length === 1,
    { timeoutMs: 10_000, intervalMs: 50, what: 'v2 to leave routing after its deregistration' });

  // What Spring Cloud Consul asked the agent, and that every answer was a success.
  const kinds = new Set(recorder.calls.map((c) => `${c.method} ${c.path.replace(/\/[^/]*$/, (m) =>
    (/register$|services$|leader$|self$/.test(m) ? m : '/*'))}`));
  console.log(`# Spring Cloud Consul called: ${[...kinds].sort().join('; ')}`);
  assert.ok(recorder.calls.some((c) => c.method === 'PUT' && c.path === '/v1/agent/service/register'));
  assert.ok(recorder.calls.some((c) => c.method === 'PUT' && c.path.startsWith('/v1/agent/service/deregister/')));
  assert.ok(recorder.calls.some((c) => c.path.startsWith('/v1/health/service/service-provider')));
  const failed = recorder.calls.filter((c) => !(c.status >= 200 && c.status < 300));
  assert.deepEqual(failed, [], 'every request a Spring app made to the agent succeeded');
  await v1.stop();
  await consumer.stop();
});
