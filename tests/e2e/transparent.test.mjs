// The sidecar's transparent mode in a pod made of network namespaces (tests/e2e/lib/pods.mjs):
// `sluice init-netfilter` sends the pod's outbound TCP and DNS to `sluice proxy
// --transparent-listen ... --dns-listen ...`. Asserted here, against a "remote" pod with plain
// servers and a stub resolver:
// - DNS: mesh names get their addresses from the sidecar, other names are forwarded to the pod's
//   resolver (NXDOMAIN relayed as such);
// - HTTP to a ServiceEntry address is routed by its VirtualService (by Host and by the address
//   alone); HTTP to an address outside the mesh reaches that address unchanged; curl's
//   `Upgrade: h2c` is taken by the sidecar (stream 1 and 3 routed, the upstream sees no h2c);
// - non-HTTP TCP: client-first and server-first exchanges, half-close, and TCP to a service
//   address going where the service's VirtualService `tcp` route sends it;
// - inbound: connections into the pod are redirected to the sidecar and relayed to the app.
// Skips (saying why) where network namespaces cannot be made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { PodNet } from './lib/pods.mjs';

const MARK = '1337';
const ECHO_VIP = '240.241.0.10';
const TCP_VIP = '240.241.0.20';

let pods;
let skipReason = null;
let app;
let remote;

function meshConfig(remoteIp) {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.mesh.test]
  addresses: [${ECHO_VIP}]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: ${remoteIp}, ports: {http: 8081}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo-b, namespace: default}
spec:
  hosts: [echo-b.mesh.test]
  location: MESH_INTERNAL
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: ${remoteIp}, ports: {http: 8082}}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo-tcp, namespace: default}
spec:
  hosts: [echo-tcp.mesh.test]
  addresses: [${TCP_VIP}]
  location: MESH_INTERNAL
  ports: [{number: 9000, name: tcp, protocol: TCP}]
  resolution: STATIC
  endpoints:
  - {address: ${remoteIp}, labels: {version: v1}}
  - {address: ${remoteIp}, ports: {tcp: 9004}, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo-tcp, namespace: default}
spec:
  host: echo-tcp.mesh.test
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo-tcp, namespace: default}
spec:
  hosts: [echo-tcp.mesh.test]
  tcp:
  - match: [{port: 9000}]
    route: [{destination: {host: echo-tcp.mesh.test, subset: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.mesh.test]
  http:
  - match: [{uri: {prefix: /b}}]
    route: [{destination: {host: echo-b.mesh.test}}]
    headers: {response: {add: {x-routed-by: sluice}}}
  - route: [{destination: {host: echo.mesh.test}}]
    headers: {response: {add: {x-routed-by: sluice}}}
`;
}

before(async () => {
  pods = new PodNet('tp');
  skipReason = await pods.create();
  if (skipReason) return;
  remote = await pods.addPod('remote');
  // The app pod's resolver is the remote pod's stub; the sidecar forwards there.
  app = await pods.addPod('app', { nameserver: remote.ip });
  await remote.start(process.execPath, [new URL('./lib/pod_servers.mjs', import.meta.url).pathname,
    JSON.stringify({ ip: remote.ip, http: { 8081: 'a', 8082: 'b' }, tcpEcho: [9000], tcpBanner: [9001],
      tcpTag: { 9004: 'v2' },
      dns: { a: { 'outside.example': remote.ip } } })], { name: 'servers', readyLine: /pod servers ready/ });

  const configDir = e2e.makeTempDir('sluice-transparent-');
  e2e.writeAtomic(configDir, 'mesh.yaml', meshConfig(remote.ip));
  await app.start(process.execPath, [new URL('./lib/pod_servers.mjs', import.meta.url).pathname,
    JSON.stringify({ ip: app.ip, http: { 8090: 'app' } })], { name: 'app', readyLine: /pod servers ready/ });
  const init = await app.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
    '--inbound-port', '15006', '--dns-port', '15053', '--proxy-mark', MARK]);
  assert.equal(init.code, 0, init.stderr);
  const sidecar = await app.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
    '--inbound-listen', '0.0.0.0:15006',
    '--dns-listen', '127.0.0.1:15053', '--upstream-mark', MARK, '--config', configDir,
    '--admin', '127.0.0.1:15000', '--service-node', 'app'], { name: 'sidecar' });
  assert.match(sidecar.ready[0],
    /listen 127\.0\.0\.1:15001,0\.0\.0\.0:15006 admin 127\.0\.0\.1:15000 dns 127\.0\.0\.1:15053/);
});

after(async () => {
  await pods?.destroy();
  await e2e.cleanupAll();
});

async function resolve(name) {
  const r = await app.run('getent', ['ahostsv4', name], { timeoutMs: 10_000 });
  return r.code === 0 ? r.stdout.trim().split(/\s+/)[0] : `exit ${r.code}`;
}

async function sidecarCounter(name) {
  const r = await app.http({ requests: ['http://127.0.0.1:15000/stats/prometheus'] });
  const m = r.results[0].body.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

test('mesh names resolve to their addresses from the sidecar; other names are forwarded', async (t) => {
  if (skipReason) return t.skip(skipReason);
  assert.equal(await resolve('echo.mesh.test'), ECHO_VIP);
  assert.equal(await resolve('ECHO.mesh.test.'), ECHO_VIP, 'case and trailing dot do not matter');
  assert.equal(await resolve('echo-tcp.mesh.test'), TCP_VIP);
  assert.equal(await resolve('outside.example'), remote.ip, 'forwarded to the pod resolver');
  assert.equal(await resolve('nowhere.example'), 'exit 2', 'NXDOMAIN relayed');
});

test('HTTP to a service address is routed by its VirtualService, by name and by address', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const r = await app.http({ requests: ['http://echo.mesh.test/a', 'http://echo.mesh.test/b/x',
    `http://${ECHO_VIP}/b/y`, `http://${ECHO_VIP}/z`] });
  const [byNameA, byNameB, byAddrB, byAddrA] = r.results;
  for (const x of r.results) {
    assert.equal(x.status, 200, JSON.stringify(x));
    assert.equal(x.headers['x-routed-by'], 'sluice', 'went through the VirtualService');
  }
  assert.equal(byNameA.body, 'a GET /a');
  assert.equal(byNameB.body, 'b GET /b/x');
  assert.equal(byAddrB.body, 'b GET /b/y');
  assert.equal(byAddrA.body, 'a GET /z');
  assert.equal(byNameA.headers['x-seen-host'], 'echo.mesh.test', 'Host is kept');
});

test('curl\'s Upgrade: h2c to a service is answered 101 by the sidecar, both streams routed', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const r = await app.run('curl', e2e.curlH2cArgs(['http://echo.mesh.test/b/up', 'http://echo.mesh.test/z']),
    { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(e2e.h2cTraceProblems(r.stderr), [], r.stderr);
  const results = e2e.parseCurlResults(r.stdout);
  assert.deepEqual(results.map((x) => [x.status, x.version, x.body]),
    [[200, '2', 'b GET /b/up'], [200, '2', 'a GET /z']], r.stdout);
  assert.doesNotMatch(r.stderr, /^< x-seen-(upgrade|http2-settings)/mi, 'the upstream saw no upgrade');
  assert.match(r.stderr, /^< x-routed-by: sluice/mi);
});

test('HTTP to an address outside the mesh reaches that address unchanged, over a pooled connection', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const before = await sidecarCounter('sluice_downstream_requests_total');
  const connsBefore = await sidecarCounter('sluice_upstream_connections_total');
  const urls = [1, 2, 3].map((i) => `http://${remote.ip}:8082/plain?q=${i}`);
  const r = await app.http({ requests: urls });
  r.results.forEach((x, i) => {
    assert.equal(x.status, 200, JSON.stringify(x));
    assert.equal(x.body, `b GET /plain?q=${i + 1}`);
    assert.equal(x.headers['x-routed-by'], undefined);
  });
  assert.equal(await sidecarCounter('sluice_downstream_requests_total'), before + 3,
    'the requests went through the sidecar');
  assert.equal(await sidecarCounter('sluice_upstream_connections_total'), connsBefore + 1,
    'three client connections, one kept-alive upstream connection');
});

test('non-HTTP TCP passes through: client-first, server-first, and to a service address by its tcp route', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const before = await sidecarCounter('sluice_tcp_connections_total');
  const binary = Buffer.from([0, 1, 2, 0xff, 0x68, 0x69, 0x0d, 0x0a]).toString('hex');
  const r = await app.http({ tcp: [
    { host: remote.ip, port: 9000, send: binary, expect: 8 },
    { host: remote.ip, port: 9001, serverFirst: 7, send: Buffer.from('ping').toString('hex'), expect: 4 },
    ...[1, 2, 3, 4].map(() => ({ host: TCP_VIP, port: 9000, send: Buffer.from('via vip').toString('hex'), expect: 10 })),
  ] });
  const [clientFirst, serverFirst, ...viaVip] = r.results;
  assert.equal(clientFirst.status, 'ok', JSON.stringify(clientFirst));
  assert.equal(clientFirst.received, Buffer.from([0, 1, 2, 0xff, 0x48, 0x49, 0x0d, 0x0a]).toString('hex'));
  assert.equal(serverFirst.status, 'ok', JSON.stringify(serverFirst));
  assert.equal(Buffer.from(serverFirst.banner, 'hex').toString(), 'BANNER\n');
  assert.equal(Buffer.from(serverFirst.received, 'hex').toString(), 'ping');
  for (const v of viaVip) {
    assert.equal(v.status, 'ok', JSON.stringify(v));
    assert.equal(Buffer.from(v.received, 'hex').toString(), 'v2:via vip', 'the tcp route sends port 9000 to subset v2');
  }
  assert.equal(await sidecarCounter('sluice_tcp_connections_total'), before + 6);
});

test('a half-closed TCP connection still gets the server\'s last words', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const script = `
    const s = require('node:net').connect({ host: '${remote.ip}', port: 9001, allowHalfOpen: true });
    let got = '';
    s.on('data', (d) => { got += d; if (got === 'BANNER\\n') s.end('last'); });
    s.on('end', () => { process.stdout.write(JSON.stringify(got)); process.exit(0); });
    setTimeout(() => { process.stdout.write('timeout ' + JSON.stringify(got)); process.exit(1); }, 5000);`;
  const r = await app.run(process.execPath, ['-e', script], { timeoutMs: 10_000 });
  assert.equal(r.stdout, JSON.stringify('BANNER\nlastBYE\n'), r.stderr);
});

test('inbound: connections into the pod go through the sidecar to the application', async (t) => {
  if (skipReason) return t.skip(skipReason);
  const before = await sidecarCounter('sluice_inbound_connections_total');
  const r = await remote.http({ requests: [`http://${app.ip}:8090/in`, `http://${app.ip}:8090/again`] });
  for (const x of r.results) assert.equal(x.status, 200, JSON.stringify(x));
  assert.deepEqual(r.results.map((x) => x.body), ['app GET /in', 'app GET /again']);
  assert.equal(await sidecarCounter('sluice_inbound_connections_total'), before + 2);
});
