// Run inside a pod (`ip netns exec NS node pod_servers.mjs '<json>'`): small servers a test can
// aim traffic at, all on the given address. Prints "pod servers ready" once every one listens.
//
// Spec: { "ip": "10.0.130.9",
//         "http": { "8081": "a", "8082": "b" },     each answers `<name> <method> <url>` and
//                                                    echoes the Host it got in x-seen-host (and
//                                                    Upgrade / HTTP2-Settings, when it got them,
//                                                    in x-seen-upgrade / x-seen-http2-settings)
//         "tcpEcho": [9000],                          client-first: echoes bytes, ASCII a-z upper-cased
//         "tcpTag": { "9004": "v2" },                  client-first: echoes "v2:" + bytes
//         "tcpBanner": [9001],                        server-first: "BANNER\n", then echoes; on the
//                                                    client's EOF writes "BYE\n" and closes
//         "dns": { "port": 53, "a": { "outside.example": "10.0.130.9" } } }
// The DNS stub answers A queries for the names in `a` (others: NXDOMAIN; AAAA of a known name:
// no answer) — the pod network's "real" resolver the sidecar forwards to.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const spec = JSON.parse(process.argv[2] ?? '{}');
const ip = spec.ip;
const waits = [];

function listening(server, port) {
  waits.push(new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, resolve);
  }));
}

for (const [port, name] of Object.entries(spec.http ?? {})) {
  listening(http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const seen = { 'x-seen-host': req.headers.host ?? '' };
      for (const h of ['upgrade', 'http2-settings']) {
        if (req.headers[h] !== undefined) seen[`x-seen-${h}`] = req.headers[h];
      }
      res.writeHead(200, { 'content-type': 'text/plain', ...seen });
      res.end(`${name} ${req.method} ${req.url}`);
    });
  }), Number(port));
}

for (const port of spec.tcpEcho ?? []) {
  listening(net.createServer((s) => {
    s.on('data', (d) => s.write(d.map((b) => (b >= 0x61 && b <= 0x7a ? b - 0x20 : b))));
    s.on('end', () => s.end());
    s.on('error', () => {});
  }), port);
}

for (const [port, tag] of Object.entries(spec.tcpTag ?? {})) {
  listening(net.createServer((s) => {
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from(`${tag}:`), d])));
    s.on('end', () => s.end());
    s.on('error', () => {});
  }), Number(port));
}

for (const port of spec.tcpBanner ?? []) {
  listening(net.createServer({ allowHalfOpen: true }, (s) => {
    s.write('BANNER\n');
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('BYE\n'));
    s.on('error', () => {});
  }), port);
}

function dnsName(buf, off) {
  const labels = [];
  for (;;) {
    const len = buf[off];
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: off + 1 };
    labels.push(buf.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
}

if (spec.dns) {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (q, rinfo) => {
    if (q.length < 12) return;
    const { name, end } = dnsName(q, 12);
    const type = q.readUInt16BE(end);
    const question = q.subarray(12, end + 4);
    const addr = spec.dns.a?.[name];
    const answers = [];
    if (addr && type === 1) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      addr.split('.').forEach((o, i) => { rr[12 + i] = Number(o); });
      answers.push(rr);
    }
    const head = Buffer.alloc(12);
    q.copy(head, 0, 0, 2);
    head.writeUInt16BE(0x8180 | (addr ? 0 : 3), 2);  // response, RD, RA; NXDOMAIN when unknown
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answers.length, 6);
    sock.send(Buffer.concat([head, question, ...answers]), rinfo.port, rinfo.address);
  });
  waits.push(new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(spec.dns.port ?? 53, ip, resolve);
  }));
}

await Promise.all(waits);
process.stdout.write('pod servers ready\n');
