// Run inside a pod (`node zk_stub_server.mjs '<json>'`): a scripted ZooKeeper server for the
// interception's malformed-frame tests, speaking the wire protocol of zk_wire.mjs on every
// address of the pod. Spec: { "port": 2181, "records": { "<path>": "<data>" },
// "malformed": ["<path>"] }. Answers the handshake; getData of a path in `records` with its
// data, of a path in `malformed` with a getData answer whose buffer length does not add up;
// pings with a ping reply; any other request with UNIMPLEMENTED (-6), keeping the connection
// open (a real server closes it). Prints "zk stub listening on PORT" when ready.
import net from 'node:net';
import {
  FrameReader, connectResponse, getDataReply, malformedGetDataReply, parseRequest, reply, OP,
} from './zk_wire.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const records = spec.records ?? {};
const malformed = new Set(spec.malformed ?? []);

const server = net.createServer((sock) => {
  const frames = new FrameReader();
  let handshake = true;
  sock.on('data', (chunk) => {
    frames.push(chunk);
    for (let f = frames.next(); f; f = frames.next()) {
      if (handshake) {
        handshake = false;
        sock.write(connectResponse());
        continue;
      }
      const { xid, type, path } = parseRequest(f);
      if (type === OP.ping) sock.write(reply(-2, 0));
      else if (type === OP.getData && malformed.has(path)) sock.write(malformedGetDataReply(xid, records[path] ?? '{}'));
      else if (type === OP.getData && path in records) sock.write(getDataReply(xid, records[path]));
      else if (type === OP.getData) sock.write(reply(xid, -101));  // NONODE
      else sock.write(reply(xid, -6));  // UNIMPLEMENTED
    }
  });
  sock.on('error', () => {});
});
server.listen(spec.port ?? 2181, '0.0.0.0', () => {
  process.stdout.write(`zk stub listening on ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
