// gRPC echo servers and clients (@grpc/grpc-js + @grpc/proto-loader over lib/echo.proto) for the
// HTTP/2 tests. A server says who it is in every reply and takes test knobs from metadata:
//   x-test-grpc-status: N   fail with status N (details "asked for N")
//   x-test-delay-ms: N      answer after N ms (bounded to 10 s)
//   x-test-fail-first: N    per x-test-key, the first N calls fail UNAVAILABLE (retries)
// Echo.Count streams `n` messages.
//
//   const v1 = await startGrpcEcho('v1');           // { port, calls, close() }
//   const c = echoClient('127.0.0.1:PORT', 'svc.mesh.local');  // :authority svc.mesh.local
//   const r = await unary(c, { text: 'hi' }, { metadata: { 'x-version': 'v2' }, deadlineMs: 500 });
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { sourceDir } from './proc.mjs';

const definition = protoLoader.loadSync(join(sourceDir(), 'tests', 'e2e', 'lib', 'echo.proto'),
  { keepCase: true, defaults: true });
const proto = grpc.loadPackageDefinition(definition);

const servers = new Set();

export async function startGrpcEcho(name) {
  const state = { name, calls: [], failCounts: new Map() };
  const knob = (call, key) => call.metadata.get(key)[0];
  const server = new grpc.Server();
  server.addService(proto.echo.Echo.service, {
    Say: (call, callback) => {
      state.calls.push({ method: 'Say', metadata: call.metadata.getMap(), request: call.request });
      const key = knob(call, 'x-test-key') ?? 'default';
      const failFirst = Number(knob(call, 'x-test-fail-first') ?? 0);
      const n = (state.failCounts.get(key) ?? 0) + 1;
      state.failCounts.set(key, n);
      const reply = () => {
        const status = Number(knob(call, 'x-test-grpc-status') ?? 0);
        if (n <= failFirst) return callback({ code: grpc.status.UNAVAILABLE, details: `failing call ${n}` });
        if (status !== 0) return callback({ code: status, details: `asked for ${status}` });
        const md = new grpc.Metadata();
        md.set('x-served-by', name);
        call.sendMetadata(md);
        return callback(null, { text: call.request.text, who: name, n: call.request.n });
      };
      const delay = Math.min(Number(knob(call, 'x-test-delay-ms') ?? 0), 10_000);
      if (delay > 0) setTimeout(reply, delay); else reply();
    },
    Count: (call) => {
      state.calls.push({ method: 'Count', metadata: call.metadata.getMap(), request: call.request });
      for (let i = 1; i <= call.request.n; ++i) call.write({ text: call.request.text, who: name, n: i });
      call.end();
    },
  });
  const port = await new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)));
  });
  state.port = port;
  state.count = (method) => state.calls.filter((c) => !method || c.method === method).length;
  state.close = () => new Promise((resolve) => { servers.delete(state); server.tryShutdown(() => resolve()); server.forceShutdown(); });
  servers.add(state);
  return state;
}

export async function closeAllGrpcEcho() {
  await Promise.all([...servers].map((s) => s.close()));
}

// A client that dials `address` (the proxy) and names `authority` in :authority.
export function echoClient(address, authority) {
  return new proto.echo.Echo(address, grpc.credentials.createInsecure(), {
    'grpc.default_authority': authority, 'grpc.use_local_subchannel_pool': 1,
  });
}

function metadataOf(obj = {}) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(obj)) md.set(k, String(v));
  return md;
}

// Resolves { reply, metadata } or { code, details } (never rejects; bounded by the deadline).
export function unary(client, request, { metadata, deadlineMs = 5_000 } = {}) {
  return new Promise((resolve) => {
    let head = null;
    const call = client.Say(request, metadataOf(metadata), { deadline: Date.now() + deadlineMs },
      (err, reply) => resolve(err ? { code: err.code, details: err.details } : { reply, metadata: head }));
    call.on('metadata', (md) => { head = md.getMap(); });
  });
}

// Resolves { messages, code, details }.
export function serverStream(client, request, { metadata, deadlineMs = 5_000 } = {}) {
  return new Promise((resolve) => {
    const messages = [];
    const call = client.Count(request, metadataOf(metadata), { deadline: Date.now() + deadlineMs });
    call.on('data', (m) => messages.push(m));
    call.on('error', (e) => resolve({ messages, code: e.code, details: e.details }));
    call.on('status', (s) => { if (s.code === 0) resolve({ messages, code: 0, details: s.details }); });
  });
}

export const status = grpc.status;
