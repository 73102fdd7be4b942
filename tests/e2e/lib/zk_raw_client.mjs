// Run inside a pod (`node zk_raw_client.mjs '<json>'`): a ZooKeeper client that speaks the wire
// protocol byte by byte (zk_wire.mjs) and reports every frame it received, to check what a
// sidecar's interception forwarded. Spec: { "host", "port", "timeoutMs", "steps": [
// { "getData": "<path>" } | { "op": <type> } | { "ping": true }, ... ] }: the handshake, then each
// step's request, waiting for its answer before the next. Output (stdout, one JSON line):
// { "handshake": "<hex>", "replies": ["<hex>", ...], "error"?: "..." }.
import net from 'node:net';
import { FrameReader, connectRequest, getDataRequest, pingRequest, request } from './zk_wire.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');
const out = { replies: [] };
const frames = new FrameReader();
let waiting = null;
const nextFrame = () => new Promise((resolve, reject) => {
  const f = frames.next();
  if (f) resolve(f); else waiting = { resolve, reject };
});

const sock = net.connect(spec.port ?? 2181, spec.host);
const timer = setTimeout(() => { out.error = `timed out after ${spec.timeoutMs ?? 5000} ms`; finish(); },
  spec.timeoutMs ?? 5000);
function finish() {
  clearTimeout(timer);
  sock.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}
sock.on('data', (chunk) => {
  frames.push(chunk);
  if (!waiting) return;
  const f = frames.next();
  if (f) { const w = waiting; waiting = null; w.resolve(f); }
});
sock.on('error', (e) => { out.error = e.message; waiting?.reject(e); });
sock.on('close', () => { if (!out.error) out.error = 'connection closed'; waiting?.reject(new Error('closed')); });
sock.on('connect', async () => {
  try {
    sock.write(connectRequest());
    out.handshake = (await nextFrame()).toString('hex');
    let xid = 1;
    for (const step of spec.steps ?? []) {
      if (step.getData) sock.write(getDataRequest(xid++, step.getData));
      else if (step.ping) sock.write(pingRequest());
      else sock.write(request(xid++, step.op));
      out.replies.push((await nextFrame()).toString('hex'));
    }
  } catch (e) {
    out.error ??= e.message;
  }
  finish();
});
