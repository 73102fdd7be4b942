// `sluice registry`'s Nacos 2.x/3.x gRPC API (HTTP port + 1000 on a real server; here both ports
// are free-picked): bad input on the gRPC port, the official Node SDK (v1 HTTP) and a gRPC client
// sharing one store, and real Spring Cloud Alibaba apps (nacos-client 3.x, gRPC only): provider
// v1 + v2 and the consumer alternate, a stopped provider leaves, and a sluice sidecar with
// --registry nacos:// learns every change by push.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { NacosNamingClient } from 'nacos';
import * as e2e from './lib/index.mjs';
import {
  NACOS_GRPC_LINE as GRPC_LINE, NACOS_READY as READY, startNacosRegistry,
} from './lib/nacos_registry.mjs';
import { NacosGrpcClient, unaryRaw, encodePayloadBytes, grpcStatus } from './lib/nacos_grpc.mjs';

after(e2e.cleanupAll);

const startRegistry = startNacosRegistry;

const grpcClients = [];
const sdkClients = [];
after(async () => {
  for (const c of grpcClients) c.close();
  await Promise.all(sdkClients.map((c) => c.close().catch(() => {})));
});

async function grpcClient(registry) {
  const c = await NacosGrpcClient.connect(registry.grpcAddr);
  grpcClients.push(c);
  return c;
}

async function sdkClient(registry) {
  const quiet = { info() {}, debug() {}, log() {}, warn() {}, error() {} };
  const c = new NacosNamingClient({ logger: quiet, serverList: registry.addr, namespace: 'public' });
  await c.ready();
  sdkClients.push(c);
  return c;
}

function instanceRequest(type, serviceName, ip, port, metadata = {}) {
  return { namespace: 'public', serviceName, groupName: 'DEFAULT_GROUP', type,
    instance: { ip, port, weight: 1.0, healthy: true, enabled: true, ephemeral: true, clusterName: 'DEFAULT', metadata } };
}

async function query(client, serviceName) {
  const r = await client.request('ServiceQueryRequest', {
    namespace: 'public', serviceName, groupName: 'DEFAULT_GROUP', cluster: '', healthyOnly: false });
  assert.equal(r.type, 'QueryServiceResponse', JSON.stringify(r));
  return r.body.serviceInfo.hosts;
}

// What the registry holds over v1 HTTP, asked directly.
async function listV1(registry, service) {
  const q = new URLSearchParams({ serviceName: `DEFAULT_GROUP@@${service}`, namespaceId: 'public' });
  const r = await e2e.request({ port: registry.port, path: `/nacos/v1/ns/instance/list?${q}` });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body).hosts;
}

test('the gRPC transport is a module beside the binary: a sluice without it refuses to serve gRPC naming the file, and serves HTTP with --grpc-port off', async () => {
  const dir = e2e.makeTempDir('sluice-nomodule-');
  const bin = path.join(dir, 'sluice');
  fs.copyFileSync(e2e.sluiceBin(), bin);
  fs.chmodSync(bin, 0o755);
  const lonely = await e2e.startProcess(bin, ['registry', '--listen', '127.0.0.1:0'],
    { name: 'sluice registry (no module)' });
  const exit = await lonely.waitExit(15_000);
  assert.notEqual(exit.code, 0, lonely.describe());
  assert.match(lonely.stderr + lonely.stdout,
    new RegExp(`cannot load the gRPC server module ${path.join(dir, 'sluice-nacos-grpc.so')}`),
    lonely.describe());
  const httpOnly = await e2e.startProcess(bin, ['registry', '--listen', '127.0.0.1:0', '--grpc-port', 'off'],
    { name: 'sluice registry (HTTP only)', readyLine: READY });
  assert.doesNotMatch(httpOnly.stdout, GRPC_LINE);
  const list = await fetch(`http://127.0.0.1:${httpOnly.ready[2]}/nacos/v1/ns/service/list?pageNo=1&pageSize=10`);
  assert.equal(list.status, 200);
  await httpOnly.stop();
});

test('bad input on the gRPC port: garbage, an oversized payload, unknown types and broken JSON get an error; the registry keeps serving the other clients', async () => {
  const registry = await startRegistry();
  const bystander = await grpcClient(registry);
  const r0 = await bystander.request('InstanceRequest', instanceRequest('registerInstance', 'steady', '10.0.0.1', 80));
  assert.equal(r0.type, 'InstanceResponse', JSON.stringify(r0));

  // Bytes that are not HTTP/2: the server closes that connection.
  const closed = await new Promise((resolve, reject) => {
    const socket = net.connect(registry.grpcPort, '127.0.0.1', () => {
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage'.repeat(20));
    });
    socket.on('data', () => {});
    socket.on('error', () => resolve(true));
    socket.on('close', () => resolve(true));
    setTimeout(() => { socket.destroy(); reject(new Error('garbage connection was not closed')); }, 10_000);
  });
  assert.ok(closed);

  // A gRPC message that is not a Payload: a Nacos ErrorResponse saying so.
  const garbage = await unaryRaw(registry.grpcAddr, Buffer.from([0xff, 0xfe, 0x01, 0x02, 0x03]));
  assert.equal(garbage.payload?.type, 'ErrorResponse', JSON.stringify(garbage));
  assert.match(garbage.payload.body.message, /not a Nacos Payload/);

  // A Payload whose JSON body is broken.
  const broken = await unaryRaw(registry.grpcAddr, encodePayloadBytes('InstanceRequest', '{"serviceName": '));
  assert.equal(broken.payload?.type, 'ErrorResponse', JSON.stringify(broken));
  assert.match(broken.payload.body.message, /InstanceRequest body is not valid JSON/);

  // Above the 10 MiB message limit (the real server's default): RESOURCE_EXHAUSTED.
  const big = await unaryRaw(registry.grpcAddr, encodePayloadBytes('InstanceRequest', `"${'x'.repeat(11 << 20)}"`));
  assert.equal(big.code, grpcStatus.RESOURCE_EXHAUSTED, JSON.stringify(big).slice(0, 300));

  // An unknown request type on a registered connection: ErrorResponse 302.
  const unknown = await bystander.request('NoSuchRequest', {});
  assert.equal(unknown.type, 'ErrorResponse');
  assert.equal(unknown.body.errorCode, 302);
  // An unknown method: UNIMPLEMENTED.
  const method = await unaryRaw(registry.grpcAddr, Buffer.from('x'), { method: '/Nope/nope' });
  assert.equal(method.code, grpcStatus.UNIMPLEMENTED);
  // A request from a connection that never set up its stream: 301, the client must reconnect.
  const stranger = await unaryRaw(registry.grpcAddr,
    encodePayloadBytes('InstanceRequest', JSON.stringify(instanceRequest('registerInstance', 'x', '10.0.0.2', 80))));
  assert.equal(stranger.payload?.body.errorCode, 301, JSON.stringify(stranger));

  // Everyone else is unaffected: the bystander's connection and instance, and v1 HTTP.
  assert.deepEqual((await query(bystander, 'steady')).map((h) => h.ip), ['10.0.0.1']);
  const r1 = await bystander.request('InstanceRequest', instanceRequest('registerInstance', 'steady', '10.0.0.3', 80));
  assert.equal(r1.type, 'InstanceResponse');
  assert.deepEqual((await listV1(registry, 'steady')).map((h) => h.ip).sort(), ['10.0.0.1', '10.0.0.3']);
  assert.deepEqual(await listV1(registry, 'x'), []);
  assert.equal(registry.proc.exitInfo, null, 'the registry is still running');
});

test('the official Node SDK over v1 and a gRPC client share one store: each sees the other\'s instances, pushes included', async () => {
  const registry = await startRegistry();
  const sdk = await sdkClient(registry);
  const grpc = await grpcClient(registry);

  await sdk.registerInstance('sdk-svc', { ip: '10.0.1.1', port: 8070, metadata: { label: 'v1' } });
  const r = await grpc.request('InstanceRequest', instanceRequest('registerInstance', 'grpc-svc', '10.0.2.1', 8070, { label: 'v2' }));
  assert.equal(r.type, 'InstanceResponse', JSON.stringify(r));

  const fromGrpc = await query(grpc, 'sdk-svc');
  assert.deepEqual(fromGrpc.map((h) => [h.ip, h.port, h.metadata.label]), [['10.0.1.1', 8070, 'v1']]);
  const fromSdk = await sdk.getAllInstances('grpc-svc', 'DEFAULT_GROUP', '', false);
  assert.deepEqual(fromSdk.map((h) => [h.ip, h.port, h.metadata.label]), [['10.0.2.1', 8070, 'v2']]);

  // A gRPC subscriber is pushed what the SDK registers.
  const sub = await grpc.request('SubscribeServiceRequest', {
    namespace: 'public', serviceName: 'sdk-svc', groupName: 'DEFAULT_GROUP', subscribe: true, clusters: '' });
  assert.equal(sub.type, 'SubscribeServiceResponse');
  await sdk.registerInstance('sdk-svc', { ip: '10.0.1.2', port: 8070, metadata: { label: 'v2' } });
  await grpc.waitForPush((p) => p.type === 'NotifySubscriberRequest' && p.body.serviceName === 'sdk-svc' &&
    p.body.serviceInfo.hosts.some((h) => h.ip === '10.0.1.2'), { what: 'the push of the SDK registration' });

  // The gRPC client's connection closes: its instance is gone for the SDK too.
  grpc.close();
  await e2e.waitFor(async () => (await listV1(registry, 'grpc-svc')).length === 0,
    { timeoutMs: 5_000, what: 'the gRPC instance to leave with its connection' });
});

// ---- real Spring Cloud Alibaba apps (nacos-client 3.x) ----

const HELLO = /^Hello Nacos Discovery From (v1|v2)world$/;

// nacos-client dials the HTTP port + an offset (1000 by default); both ports are free-picked here.
function nacosApp(registry, opts) {
  return e2e.startDemoApp('nacos', {
    registry: registry.addr,
    jvmArgs: [`-Dnacos.server.grpc.port.offset=${registry.grpcPort - registry.port}`],
    ...opts,
  });
}

async function versionsFrom(consumer, n) {
  const versions = [];
  for (let i = 0; i < n; ++i) {
    const r = await consumer.get('/echo/world');
    const m = r.status === 200 && r.body.match(HELLO);
    versions.push(m ? m[1] : `error:${r.status ?? r.error}`);
  }
  return versions;
}

async function clusterEndpoints(admin) {
  const r = await e2e.request({ port: admin.port, path: '/clusters' });
  return r.body;
}

test('Spring Cloud Alibaba over gRPC: provider v1 + v2 register, the consumer alternates, a stopped provider leaves, a sidecar learns it all by push', async (t) => {
  const skip = e2e.springSkipReason(['demo-nacos']);
  if (skip) { t.skip(skip); return; }
  const registry = await startRegistry();
  const configDir = e2e.makeTempDir('sluice-nacos-grpc-');
  const sidecar = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--registry', `nacos://${registry.addr}?grpcPort=${registry.grpcPort}&transport=grpc`],
  { name: 'sidecar' });
  const { admin } = e2e.parseProxyReady(sidecar);

  const [v1, v2, consumer] = await Promise.all([
    nacosApp(registry, { role: 'provider', version: 'v1' }),
    nacosApp(registry, { role: 'provider', version: 'v2' }),
    nacosApp(registry, { role: 'consumer' }),
  ]);
  console.log(`# nacos flavour start-up: v1 ${v1.startupMs} ms, v2 ${v2.startupMs} ms, consumer ${consumer.startupMs} ms`);

  // Registered over gRPC, visible over v1 HTTP with their labels.
  await e2e.waitFor(async () => (await listV1(registry, 'service-provider')).length === 2,
    { timeoutMs: 30_000, what: 'both providers in the registry' });
  const hosts = await listV1(registry, 'service-provider');
  assert.deepEqual(hosts.map((h) => `${h.port}:${h.metadata.label}`).sort(),
    [`${v1.port}:v1`, `${v2.port}:v2`].sort());
  assert.match(registry.proc.stderr, /nacos grpc: connection \S+ registered 127\.0\.0\.1:\d+ of DEFAULT_GROUP@@service-provider/,
    'the providers registered over gRPC');

  // The consumer (Spring Cloud LoadBalancer over the gRPC-subscribed list) alternates.
  let versions = [];
  await e2e.waitFor(async () => {
    versions = await versionsFrom(consumer, 4);
    return versions.includes('v1') && versions.includes('v2');
  }, { timeoutMs: 60_000, intervalMs: 500, what: 'the consumer to reach v1 and v2' });
  versions = await versionsFrom(consumer, 10);
  const v1Count = versions.filter((v) => v === 'v1').length;
  assert.ok(v1Count >= 4 && v1Count <= 6, `not round robin: ${versions.join(' ')}`);

  // The sidecar's watcher (gRPC push) holds both endpoints with their labels.
  await e2e.waitFor(async () => {
    const body = await clusterEndpoints(admin);
    return body.includes(`127.0.0.1:${v1.port}::labels::`) && body.includes(`127.0.0.1:${v2.port}::labels::`);
  }, { timeoutMs: 5_000, what: 'the sidecar to know both providers' });
  assert.match(await clusterEndpoints(admin), /registry::nacos:\/\/\S+::reachable::true/);

  // Provider v2 crashes: its gRPC connection closes, the registry drops it at once, the sidecar
  // is pushed the change well under a second after the registry knows, the consumer only gets v1.
  await v2.kill();
  const killed = Date.now();
  await e2e.waitFor(async () => (await listV1(registry, 'service-provider')).length === 1,
    { timeoutMs: 15_000, intervalMs: 50, what: 'the crashed provider to leave the registry' });
  const leftRegistry = Date.now();
  await e2e.waitFor(async () => !(await clusterEndpoints(admin)).includes(`127.0.0.1:${v2.port}::`),
    { timeoutMs: 2_000, intervalMs: 20, what: 'the sidecar to drop the crashed provider' });
  const leftSidecar = Date.now();
  console.log(`# provider crash -> registry ${leftRegistry - killed} ms, -> sidecar ${leftSidecar - killed} ms`);
  assert.ok(leftSidecar - leftRegistry < 1_000, `push took ${leftSidecar - leftRegistry} ms`);
  await e2e.waitFor(async () => {
    const vs = await versionsFrom(consumer, 4);
    return vs.every((v) => v === 'v1');
  }, { timeoutMs: 30_000, intervalMs: 500, what: 'the consumer to use v1 only' });

  // A new provider appears in the sidecar by push (plus the service list for new services).
  const v2b = await nacosApp(registry, { role: 'provider', version: 'v2' });
  await e2e.waitFor(async () => (await clusterEndpoints(admin)).includes(`127.0.0.1:${v2b.port}::labels::`),
    { timeoutMs: 5_000, intervalMs: 20, what: 'the sidecar to learn the new provider' });

  // A graceful stop deregisters over gRPC.
  await v1.stop();
  await e2e.waitFor(async () => !(await listV1(registry, 'service-provider')).some((h) => h.port === v1.port),
    { timeoutMs: 15_000, what: 'the stopped provider to leave the registry' });
});
