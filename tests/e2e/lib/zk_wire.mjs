// ZooKeeper's wire protocol (length-prefixed jute records) for tests that speak it byte by byte:
// a scripted server (zk_stub_server.mjs) and a raw client (zk_raw_client.mjs) that check what a
// sidecar's ZooKeeper interception forwards. Facts: ../shared/research/registries.md §5.2.
//
//   const bytes = getDataRequest(2, '/services/service-provider/i1');
//   const frames = new FrameReader(); frames.push(chunk); frames.next() -> Buffer | null
export const OP = { getData: 4, getChildren: 8, ping: 11 };
export const STAT_BYTES = 68;

export const i32 = (v) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
export const i64 = (v) => { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(v)); return b; };
export const buffer = (data) => {
  const d = Buffer.isBuffer(data) ? data : Buffer.from(data);
  return Buffer.concat([i32(d.length), d]);
};
export const frame = (...parts) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([i32(body.length), body]);
};

export const stat = (dataLength) => Buffer.concat([i64(11), i64(12), i64(13), i64(14), i32(1), i32(2),
  i32(3), i64(0x1234), i32(dataLength), i32(0), i64(15)]);

export const connectRequest = () => frame(i32(0), i64(0), i32(10_000), i64(0), buffer(Buffer.alloc(16)),
  Buffer.from([0]));
export const connectResponse = (sessionId = 0x1000ab) => frame(i32(0), i32(10_000), i64(sessionId),
  buffer(Buffer.alloc(16, 'p')), Buffer.from([0]));

export const request = (xid, type, ...body) => frame(i32(xid), i32(type), ...body);
export const getDataRequest = (xid, path) => request(xid, OP.getData, buffer(path), Buffer.from([0]));
export const pingRequest = () => request(-2, OP.ping);

export const reply = (xid, err, ...body) => frame(i32(xid), i64(100 + Math.max(xid, 0)), i32(err), ...body);
export const getDataReply = (xid, data) => {
  const d = Buffer.from(data);
  return reply(xid, 0, buffer(d), stat(d.length));
};
// A getData answer whose buffer length does not add up with its frame (what no server sends):
// the frame is well delimited, its record is not.
export const malformedGetDataReply = (xid, data) => {
  const d = Buffer.from(data);
  return reply(xid, 0, i32(d.length + 7), d, stat(d.length));
};

// The xid, type and (getData) path of a request frame (length prefix included).
export function parseRequest(f) {
  const xid = f.readInt32BE(4);
  const type = f.readInt32BE(8);
  let path = null;
  if (type === OP.getData && f.length >= 16) {
    const n = f.readInt32BE(12);
    path = f.subarray(16, 16 + n).toString();
  }
  return { xid, type, path };
}

// The data of a getData answer frame (length prefix included), as a string.
export function getDataOf(f) {
  const n = f.readInt32BE(20);
  return f.subarray(24, 24 + n).toString();
}

// Splits a byte stream into frames (length prefix included).
export class FrameReader {
  constructor() { this.buf = Buffer.alloc(0); }
  push(chunk) { this.buf = Buffer.concat([this.buf, chunk]); }
  next() {
    if (this.buf.length < 4) return null;
    const len = this.buf.readUInt32BE(0);
    if (this.buf.length < 4 + len) return null;
    const f = this.buf.subarray(0, 4 + len);
    this.buf = this.buf.subarray(4 + len);
    return f;
  }
}

// The instance record Spring Cloud Zookeeper writes (Curator's JsonInstanceSerializer).
export function curatorRecord({ name, id, address, port, metadata = {} }) {
  return JSON.stringify({
    name, id, address, port, sslPort: null,
    payload: { '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
      id: name, name, metadata: { instance_status: 'UP', ...metadata } },
    registrationTimeUTC: 1700000000000, serviceType: 'DYNAMIC',
  });
}
