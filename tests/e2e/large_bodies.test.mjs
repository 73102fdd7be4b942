// 1 GiB through `sluice proxy` in each direction: a Content-Length upload, a chunked upload and a
// 1 GiB download arrive byte-exact (length and SHA-256 checked at the far end), and the proxy's
// memory stays bounded (peak RSS well under the body size): bodies stream, they are not buffered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as e2e from './lib/index.mjs';

const GIB = 1024 * 1024 * 1024;
const PIECE = Buffer.alloc(1024 * 1024);
for (let i = 0; i < PIECE.length; i += 1) PIECE[i] = (i * 31 + 7) & 0xff;
const PIECES = GIB / PIECE.length;

let sink;   // upstream: counts and hashes uploads, serves the download
let proxy;
let proxyPid;

// Writes 1 GiB of PIECE to a writable stream with back-pressure, then ends it.
function writeGiB(stream) {
  let sent = 0;
  const pump = () => {
    while (sent < PIECES) {
      sent += 1;
      if (!stream.write(PIECE)) { stream.once('drain', pump); return; }
    }
    stream.end();
  };
  pump();
}

function expectedSha() {
  const h = crypto.createHash('sha256');
  for (let i = 0; i < PIECES; i += 1) h.update(PIECE);
  return h.digest('hex');
}
let SHA;

before(async () => {
  SHA = expectedSha();
  sink = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': GIB });
      writeGiB(res);
      return;
    }
    const h = crypto.createHash('sha256');
    let n = 0;
    req.on('data', (c) => { n += c.length; h.update(c); });
    req.on('end', () => {
      const body = JSON.stringify({ bytes: n, sha: h.digest('hex'), te: req.headers['transfer-encoding'] ?? null });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const dir = e2e.makeTempDir();
  e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ name: 'sink', hosts: ['sink.mesh.local'],
    endpoints: [{ address: '127.0.0.1', port: sink.address().port }] }));
  const p = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  proxy = e2e.parseProxyReady(p).listen;
  proxyPid = p.child.pid;
});

after(async () => {
  await e2e.cleanupAll();
  sink?.close();
});

function peakRssMiB() {
  const m = readFileSync(`/proc/${proxyPid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
  return Number(m[1]) / 1024;
}

function upload(headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'PUT', path: '/upload',
      headers: { host: 'sink.mesh.local', ...headers }, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error('upload timed out')));
    req.on('error', reject);
    writeGiB(req);
  });
}

test('1 GiB Content-Length upload streams through byte-exact', { timeout: 180_000 }, async () => {
  const r = await upload({ 'content-length': String(GIB) });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { bytes: GIB, sha: SHA, te: null });
});

test('1 GiB chunked upload streams through byte-exact and stays chunked', { timeout: 180_000 }, async () => {
  const r = await upload({ 'transfer-encoding': 'chunked' });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { bytes: GIB, sha: SHA, te: 'chunked' });
});

test('1 GiB download streams through byte-exact', { timeout: 180_000 }, async () => {
  const got = await new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/download',
      headers: { host: 'sink.mesh.local' }, agent: false }, (res) => {
      const h = crypto.createHash('sha256');
      let n = 0;
      res.on('data', (c) => { n += c.length; h.update(c); });
      res.on('end', () => resolve({ status: res.statusCode, n, sha: h.digest('hex'),
        length: res.headers['content-length'] }));
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error('download timed out')));
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(got, { status: 200, n: GIB, sha: SHA, length: String(GIB) });
});

// Under ASan/UBSan (make e2e-sanitized) the allocator keeps freed blocks in a quarantine (256 MiB
// by default) and maps shadow memory, so the peak is higher; still well under one body, which is
// what buffering would cost.
const MAX_PEAK_MIB = process.env.SLUICE_E2E_SANITIZED ? 512 : 64;

test(`the proxy never held a body in memory (peak RSS < ${MAX_PEAK_MIB} MiB after 3 GiB)`, () => {
  const peak = peakRssMiB();
  assert.ok(peak < MAX_PEAK_MIB, `peak RSS ${peak.toFixed(1)} MiB`);
});
