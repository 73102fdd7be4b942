// gRPC through `sluice proxy` with real @grpc/grpc-js clients and servers: the client speaks
// HTTP/2 to the sidecar (h2c prior knowledge, :authority = the mesh host), the sidecar speaks
// HTTP/2 to the servers because the ServiceEntry port is protocol GRPC (Istio protocol
// selection). Unary and server-streaming calls, status codes and metadata end to end, a client
// deadline and grpc-timeout, a gRPC method routed to a subset by a VirtualService, header
// routing, retries on UNAVAILABLE, a grpcStatus fault abort, many calls multiplexed, and a
// gateway GRPC server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import * as e2e from './lib/index.mjs';
import { startGrpcEcho, closeAllGrpcEcho, echoClient, unary, serverStream, status } from './lib/grpc_echo.mjs';

const HOST = 'echo-grpc.mesh.local';
let v1;
let v2;
let proxy;
let listen;
let admin;
let client;
let gw;
let gwClient;

function meshFiles(v1Port, v2Port) {
  return {
    'se.yaml': `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: echo-grpc, namespace: default}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  ports:
  - {number: 50051, name: grpc-echo, protocol: GRPC}
  resolution: STATIC
  endpoints:
  - {address: 127.0.0.1, ports: {grpc-echo: ${v1Port}}, labels: {version: v1}}
  - {address: 127.0.0.1, ports: {grpc-echo: ${v2Port}}, labels: {version: v2}}
`,
    'dr.yaml': e2e.destinationRule({
      name: 'echo-grpc', host: HOST, subsets: { v1: { version: 'v1' }, v2: { version: 'v2' } },
    }),
    'vs.yaml': e2e.virtualService({
      name: 'echo-grpc', hosts: [HOST], http: `
- name: count-to-v2
  match:
  - uri: {exact: /echo.Echo/Count}
  route:
  - destination: {host: ${HOST}, subset: v2}
- name: retry-unavailable
  match:
  - headers:
      x-test-fail-first: {}
  retries: {attempts: 3, retryOn: unavailable}
  route:
  - destination: {host: ${HOST}, subset: v1}
- name: fault-grpc
  match:
  - headers:
      x-fault: {exact: grpc}
  fault:
    abort:
      grpcStatus: RESOURCE_EXHAUSTED
      percentage: {value: 100}
  route:
  - destination: {host: ${HOST}, subset: v1}
- name: header-v2
  match:
  - headers:
      x-version: {exact: v2}
  route:
  - destination: {host: ${HOST}, subset: v2}
- name: say-v1
  route:
  - destination: {host: ${HOST}, subset: v1}
`,
    }),
    'gw.yaml': `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: grpc-gw, namespace: default}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 9090, name: grpc, protocol: GRPC}
    hosts: ["*"]
`,
    'gw-vs.yaml': e2e.virtualService({
      name: 'grpc-gw', hosts: ['api.example.com'], gateways: ['grpc-gw'], http: `
- route:
  - destination: {host: ${HOST}, subset: v2}
`,
    }),
  };
}

before(async () => {
  v1 = await startGrpcEcho('v1');
  v2 = await startGrpcEcho('v2');
  const dir = e2e.makeTempDir();
  for (const [name, text] of Object.entries(meshFiles(v1.port, v2.port))) e2e.writeAtomic(dir, name, text);
  proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '1']);
  ({ listen, admin } = e2e.parseProxyReady(proxy));
  client = echoClient(`127.0.0.1:${listen.port}`, HOST);
  gw = await e2e.startSluice(['gateway', '--config', dir, '--admin', '127.0.0.1:0',
    '--listen-host', '127.0.0.1', '--ephemeral-ports', '--concurrency', '1']);
  const ready = e2e.parseGatewayReady(gw);
  gwClient = echoClient(`127.0.0.1:${ready.listeners[0].port}`, 'api.example.com');
});

after(async () => {
  client?.close();
  gwClient?.close();
  await closeAllGrpcEcho();
  await e2e.cleanupAll();
});

test('a unary call goes through the sidecar to subset v1 over HTTP/2, metadata both ways', async () => {
  const before1 = v1.count('Say');
  const r = await unary(client, { text: 'hello', n: 7 }, { metadata: { 'x-user': 'alice' } });
  assert.equal(r.code, undefined, JSON.stringify(r));
  assert.deepEqual([r.reply.text, r.reply.who, r.reply.n], ['hello', 'v1', 7]);
  assert.deepEqual(r.metadata['x-served-by'], 'v1', 'response metadata passes back');
  assert.equal(v1.count('Say'), before1 + 1);
  const seen = v1.calls.at(-1).metadata;
  assert.equal(seen['x-user'], 'alice', 'request metadata reaches the server');
  assert.ok(seen['x-request-id'], 'the request path added x-request-id');
});

test('a header match routes a unary call to v2', async () => {
  const r = await unary(client, { text: 'x' }, { metadata: { 'x-version': 'v2' } });
  assert.equal(r.reply?.who, 'v2', JSON.stringify(r));
});

test('the gRPC method Echo/Count is routed to subset v2 and streams every message', async () => {
  const r = await serverStream(client, { text: 's', n: 50 });
  assert.equal(r.code, 0, `${r.details} ${r.messages.length}`);
  assert.equal(r.messages.length, 50);
  assert.deepEqual(r.messages.map((m) => m.n), Array.from({ length: 50 }, (_, i) => i + 1));
  assert.ok(r.messages.every((m) => m.who === 'v2'));
});

test('status codes and messages pass end to end (grpc-status in trailers)', async () => {
  for (const code of [status.NOT_FOUND, status.PERMISSION_DENIED, status.INTERNAL, status.UNAVAILABLE]) {
    const r = await unary(client, { text: 'e' }, { metadata: { 'x-test-grpc-status': code } });
    assert.equal(r.code, code, JSON.stringify(r));
    assert.equal(r.details, `asked for ${code}`);
  }
});

test('a client deadline shorter than the server delay ends the call DEADLINE_EXCEEDED', async () => {
  const started = Date.now();
  const r = await unary(client, { text: 'slow' }, { metadata: { 'x-test-delay-ms': 2000 }, deadlineMs: 300 });
  // Whichever fires first, the client's deadline or the proxy's grpc-timeout (the same instant):
  // DEADLINE_EXCEEDED either way.
  assert.equal(r.code, status.DEADLINE_EXCEEDED, JSON.stringify(r));
  assert.ok(Date.now() - started < 1500, 'the deadline, not the server, ended the call');
  // The connection is still good afterwards.
  const ok = await unary(client, { text: 'after' });
  assert.equal(ok.reply?.text, 'after', JSON.stringify(ok));
});

test('40 concurrent calls are multiplexed and all answer', async () => {
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    unary(client, { text: `c${i}`, n: i }, { metadata: { 'x-test-delay-ms': 20 + (i % 4) * 20 } })));
  for (const [i, r] of results.entries()) assert.equal(r.reply?.n, i, `call ${i}: ${JSON.stringify(r)}`);
});

test('retryOn unavailable retries a call the server answers UNAVAILABLE, then it succeeds', async () => {
  const before1 = v1.count('Say');
  const r = await unary(client, { text: 'r' }, { metadata: { 'x-test-fail-first': 2, 'x-test-key': 'grpc-retry' } });
  assert.equal(r.reply?.text, 'r', JSON.stringify(r));
  assert.equal(v1.count('Say') - before1, 3, 'two UNAVAILABLE answers retried, the third served');
});

test('a fault abort with grpcStatus answers RESOURCE_EXHAUSTED without reaching a server', async () => {
  const before = v1.count() + v2.count();
  const r = await unary(client, { text: 'f' }, { metadata: { 'x-fault': 'grpc' } });
  assert.equal(r.code, status.RESOURCE_EXHAUSTED, JSON.stringify(r));
  assert.equal(v1.count() + v2.count(), before);
});

test('grpc-timeout bounds the call in the proxy: a trailers-only DEADLINE_EXCEEDED, the server not waited for', async () => {
  // Raw HTTP/2 (node:http2) so the client itself has no deadline: only grpc-timeout can end it.
  const session = http2.connect(`http://127.0.0.1:${listen.port}`);
  session.on('error', () => {});
  try {
    const started = Date.now();
    const r = await new Promise((resolve) => {
      const req = session.request({
        ':method': 'POST', ':path': '/echo.Echo/Say', ':authority': HOST,
        'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m',
        'x-test-delay-ms': '3000',
      });
      const out = { headers: {}, trailers: {} };
      req.on('response', (h) => { out.headers = h; });
      req.on('trailers', (t) => { out.trailers = t; });
      req.on('data', () => {});
      req.on('end', () => resolve(out));
      req.on('error', (e) => resolve({ error: String(e) }));
      req.end(Buffer.from([0, 0, 0, 0, 0]));  // one empty message
    });
    const elapsed = Date.now() - started;
    assert.equal(r.headers[':status'], 200, JSON.stringify(r));
    assert.equal(r.headers['grpc-status'], '4', `timeout as DEADLINE_EXCEEDED: ${JSON.stringify(r)}`);
    assert.ok(elapsed >= 250 && elapsed < 2000, `ended by grpc-timeout after ${elapsed} ms`);
  } finally { session.close(); }
});

test('a local error reply reaches a gRPC client as a gRPC status (no route: UNIMPLEMENTED)', async () => {
  const other = echoClient(`127.0.0.1:${listen.port}`, 'unknown.mesh.invalid');
  try {
    const r = await unary(other, { text: 'x' });
    assert.equal(r.code, status.UNAVAILABLE, `502 unknown service maps to UNAVAILABLE: ${JSON.stringify(r)}`);
    assert.match(r.details ?? '', /unknown|not a mesh|nowhere|service/i, JSON.stringify(r));
  } finally { other.close(); }
});

test('a gateway GRPC server routes gRPC calls by host to the mesh service', async () => {
  const r = await unary(gwClient, { text: 'via-gateway' });
  assert.equal(r.reply?.who, 'v2', JSON.stringify(r));
  const st = await serverStream(gwClient, { text: 'g', n: 5 });
  assert.equal(st.messages.length, 5, JSON.stringify(st));
});

test('Istio metrics label gRPC calls request_protocol="grpc" with their grpc_response_status', async () => {
  const ok = await unary(client, { text: 'm' });
  assert.equal(ok.reply?.text, 'm', JSON.stringify(ok));
  const nf = await unary(client, { text: 'e' }, { metadata: { 'x-test-grpc-status': status.NOT_FOUND } });
  assert.equal(nf.code, status.NOT_FOUND, JSON.stringify(nf));
  const prom = (await e2e.request({ port: admin.port, path: '/stats/prometheus' })).body;
  const series = prom.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
  const grpcWith = (code) => series.some((l) => l.includes('request_protocol="grpc"') &&
    l.includes(`grpc_response_status="${code}"`) && l.includes('response_code="200"'));
  assert.ok(grpcWith(0), `a series for grpc-status 0 (OK):\n${series.join('\n')}`);
  assert.ok(grpcWith(status.NOT_FOUND), `a series for grpc-status 5 (NOT_FOUND):\n${series.join('\n')}`);
  // The fault abort (a local gRPC answer) is counted with its status and flag FI.
  assert.ok(series.some((l) => l.includes(`grpc_response_status="${status.RESOURCE_EXHAUSTED}"`) &&
    l.includes('response_flags="FI"')), series.join('\n'));
});

test('a 300 KiB message goes up and comes back whole (flow control on both sides of the stream)', async () => {
  const text = 'q'.repeat(300 * 1024);
  const r = await unary(client, { text, n: 3 });
  assert.equal(r.code, undefined, JSON.stringify(r).slice(0, 300));
  assert.equal(r.reply.text.length, text.length);
  assert.equal(r.reply.who, 'v1');
});

// An HTTP/1.1 client's gRPC request (what a gRPC-aware HTTP/1.1 proxy in front would send) to
// the HTTP/2 upstream: the answer comes back chunked with grpc-status as a chunked trailer.
test('an HTTP/1.1 gRPC request to the HTTP/2 upstream gets the reply chunked, grpc-status as a trailer', async () => {
  const text = Buffer.from('over h1');
  // Msg{text = "over h1"}: field 1, wire type 2, length, bytes; in one gRPC frame (uncompressed).
  const msg = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
  const { default: http } = await import('node:http');
  const r = await new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: listen.port, method: 'POST', path: '/echo.Echo/Say',
      headers: { host: HOST, 'content-type': 'application/grpc', te: 'trailers', 'content-length': frame.length },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, trailers: res.trailers,
        body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end(frame);
  });
  assert.equal(r.status, 200, JSON.stringify(r.headers));
  assert.equal(r.headers['transfer-encoding'], 'chunked', JSON.stringify(r.headers));
  assert.equal(r.trailers['grpc-status'], '0', JSON.stringify(r.trailers));
  assert.ok(r.body.length > 5 && r.body.includes(text), `the reply message: ${r.body.toString('hex')}`);
  assert.ok(r.body.includes(Buffer.from('v1')), 'served by v1');
});
