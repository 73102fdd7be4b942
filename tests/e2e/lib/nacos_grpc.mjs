// A Nacos 2.x/3.x gRPC client in Node (@grpc/grpc-js over the project's own
// nacos_grpc_service.proto), opening its connection the way nacos-client does: unary
// ServerCheckRequest, the bi-stream with ConnectionSetupRequest (abilityTable, so the server
// answers SetupAckRequest), then unary requests on the same HTTP/2 connection. Server pushes
// (NotifySubscriberRequest) are recorded and acked.
//
//   const c = await NacosGrpcClient.connect('127.0.0.1:9848');
//   const r = await c.request('InstanceRequest', { serviceName: 'svc', type: 'registerInstance', instance: {...} });
//   await c.waitForPush((p) => p.body.serviceName === 'svc');
//   c.close();
//   const raw = await unaryRaw('127.0.0.1:9848', Buffer.from('garbage'));  // { payload } | { code, details }
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { sourceDir } from './proc.mjs';
import { waitFor } from './net.mjs';

const definition = protoLoader.loadSync(
  join(sourceDir(), 'src', 'registry', 'nacos', 'nacos_grpc_service.proto'),
  { keepCase: true, longs: Number, defaults: true });
const proto = grpc.loadPackageDefinition(definition);
const REQUEST_METHOD = proto.Request.service.request;

// The bytes of a Payload, e.g. to send a valid frame with a broken JSON body.
export function encodePayloadBytes(type, bodyText) {
  return REQUEST_METHOD.requestSerialize({ metadata: { type, headers: {} },
    body: { type_url: '', value: Buffer.from(bodyText) } });
}

// Each client its own HTTP/2 connection: the server identifies clients by their transport.
const CHANNEL_OPTIONS = { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_send_message_length': 64 << 20 };

function toPayload(type, body) {
  return { metadata: { type, clientIp: '127.0.0.1', headers: {} },
    body: { type_url: '', value: Buffer.from(JSON.stringify(body)) } };
}

function fromPayload(payload) {
  const text = payload.body?.value?.length ? payload.body.value.toString('utf8') : '{}';
  return { type: payload.metadata?.type ?? '', body: JSON.parse(text) };
}

let nextId = 1;

export class NacosGrpcClient {
  constructor(address) {
    this.address = address;
    this.unary = new proto.Request(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
    this.bi = new proto.BiRequestStream(address, grpc.credentials.createInsecure(),
      { channelOverride: this.unary.getChannel() });
    this.pushes = [];
    this.closed = false;
  }

  // Connects and sets up; rejects when ServerCheck or the setup ack does not come.
  static async connect(address, { timeoutMs = 5_000 } = {}) {
    const client = new NacosGrpcClient(address);
    const check = await client.request('ServerCheckRequest', {}, { timeoutMs });
    if (check.type !== 'ServerCheckResponse') throw new Error(`ServerCheck answered ${JSON.stringify(check)}`);
    client.connectionId = check.body.connectionId;
    let acked;
    const ack = new Promise((resolve) => { acked = resolve; });
    client.stream = client.bi.requestBiStream();
    client.stream.on('data', (payload) => {
      const m = fromPayload(payload);
      if (m.type === 'SetupAckRequest') acked();
      if (m.type.endsWith('Request')) {
        client.pushes.push(m);
        const answer = m.type.replace(/Request$/, 'Response');
        client.stream.write(toPayload(answer, { requestId: m.body.requestId, resultCode: 200, errorCode: 0 }));
      }
    });
    client.stream.on('error', () => {});
    client.stream.on('end', () => { client.closed = true; });
    client.stream.write(toPayload('ConnectionSetupRequest', {
      requestId: String(nextId++), clientVersion: 'Nacos-Node-grpc-js:v1', tenant: '',
      labels: { source: 'sdk', module: 'naming' }, abilityTable: {}, module: 'internal', headers: {},
    }));
    if (check.body.supportAbilityNegotiation) {
      await Promise.race([ack, new Promise((_, reject) => setTimeout(
        () => reject(new Error('no SetupAckRequest')), timeoutMs))]);
    }
    return client;
  }

  // One unary request; resolves { type, body } (also for ErrorResponse), rejects on a gRPC error.
  request(type, body, { timeoutMs = 5_000 } = {}) {
    const full = { requestId: String(nextId++), headers: {}, module: 'naming', ...body };
    return new Promise((resolve, reject) => {
      this.unary.request(toPayload(type, full), { deadline: Date.now() + timeoutMs }, (err, reply) => {
        if (err) reject(err);
        else resolve(fromPayload(reply));
      });
    });
  }

  waitForPush(pred, { timeoutMs = 5_000, what = 'a push' } = {}) {
    return waitFor(() => this.pushes.some(pred), { timeoutMs, intervalMs: 20, what });
  }

  close() {
    this.closed = true;
    this.stream?.cancel();
    this.unary.close();
  }
}

// A unary /Request/request call with raw message bytes (bytes no Nacos client would send).
// Resolves { payload: { type, body } } or { code, details } for a gRPC status.
export function unaryRaw(address, bytes, { method = '/Request/request', timeoutMs = 10_000 } = {}) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
  return new Promise((resolve) => {
    client.makeUnaryRequest(method, (b) => b, (b) => b, bytes, { deadline: Date.now() + timeoutMs },
      (err, reply) => {
        client.close();
        if (err) {
          resolve({ code: err.code, details: err.details });
          return;
        }
        resolve({ payload: fromPayload(REQUEST_METHOD.responseDeserialize(reply)) });
      });
  });
}

export const grpcStatus = grpc.status;
