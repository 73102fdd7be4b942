// The seed's scenario on "pods" (network namespaces on a bridge, tests/e2e/lib/pods.mjs): a
// Nacos registry pod, provider-v1/v2, a consumer, an ingress gateway and a client pod, with
// transparent sidecars (`sluice init-netfilter` + `sluice proxy --transparent-listen`) in the mesh
// pods. The applications know nothing about the mesh: no http_proxy, no code change.
//
//   method 1 (reverse DNS): the seed's any-spring-cloud-support.yaml; the consumer calls provider
//     pod addresses, its sidecar maps them back to service-provider.
//   method 2 (Nacos list rewrite): the seed's external-nacos-svc.yaml + external-envoyfilter.yaml;
//     a consumer on the official Nacos Node SDK sees instance ip `service-provider`, resolved by
//     its sidecar's DNS.
// Each in two start-up orders: (a) mesh config before any app starts, (b) everything started
// with empty config dirs, traffic flowing, then the config applied without restarts.
// Skips (saying why) without root / network namespaces / iptables nat.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import { CONSUMER_PORT, PROVIDER_PORT, applyToMesh, assertAll, assertRoundRobin, consumerAdmin, consumerCounter, describeAll, echo,
  meshCalls, seedFile, waitForReverseDns } from './lib/seed_scenario.mjs';

after(e2e.cleanupAll);

const NACOS_HOST = 'mse-xxx-p.nacos-ans.mse.aliyuncs.com';
const REGISTRY_IP = '10.0.130.2';
const NACOS = `${REGISTRY_IP}:8848`;

const METHOD_FILES = {
  1: ['any-spring-cloud-support.yaml'],
  2: ['external-nacos-svc.yaml', 'external-envoyfilter.yaml'],
};
// What the consumer sidecar's /config_dump shows once it loaded the method's EnvoyFilter.
const METHOD_MARKERS = { 1: ['any-spring-cloud-support'], 2: ['external-nacos-svc', 'nacos-subscribe-lua'] };
const ROUTING_FILES = ['service-provider.yaml', 'service-provider-vs.yaml'];

// The transparent sidecar flags are landing while this test is written; say so instead of
// failing on an unknown option.
function sidecarMissing() {
  const r = spawnSync(e2e.sluiceBin(), ['proxy', '--help'], { encoding: 'utf8', timeout: 10_000 });
  for (const flag of ['--transparent-listen', '--dns-listen', '--vip-cidr', '--upstream-mark']) {
    if (!r.stdout.includes(flag)) return `sluice proxy has no ${flag} yet`;
  }
  return null;
}

const SIDECAR_MISSING = sidecarMissing();

// ---- topology ---------------------------------------------------------------------------------

// Builds and starts one topology. `method`: 1 or 2 (which consumer and which mesh config);
// `sidecars`: whether mesh pods get init-netfilter + a sidecar; `configFirst`: write the method's
// config before anything starts (order a) instead of leaving the dirs empty (order b).
async function startTopology(tag, { method, sidecars, configFirst }) {
  const net = new PodNet(tag);
  const topo = { net, method, skip: await net.create(), dirs: [], sidecars: {} };
  if (topo.skip) return topo;
  const registry = await net.addPod('registry');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer', { hosts: { [NACOS_HOST]: registry.ip } });
  const gateway = await net.addPod('gateway');
  const client = await net.addPod('client');
  assert.equal(registry.ip, REGISTRY_IP);
  Object.assign(topo, { registry, v1, v2, consumer, gateway, client, mesh: [v1, v2, consumer] });

  // Short cacheMillis / beats so SDK polls and registry changes show within a second.
  await registry.startSluice(['registry', '--listen', NACOS,
    '--data-dir', e2e.makeTempDir('sluice-pods-nacos-'),
    '--cache-millis', '500'], { readyLine: /sluice registry listening on \S+\n/ });

  if (sidecars) {
    for (const pod of topo.mesh) {
      const dir = e2e.makeTempDir(`sluice-pods-${pod.name}-`);
      topo.dirs.push(dir);
      if (configFirst) for (const f of METHOD_FILES[method]) e2e.writeAtomic(dir, f, seedFile(f));
      const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
        '--dns-port', '15053', '--proxy-mark', '1337']);
      assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
      topo.sidecars[pod.name] = await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
        '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
        '--config', dir, '--registry', `nacos://${NACOS}`, '--admin', '127.0.0.1:15000',
        '--service-node', pod.name], { name: 'sidecar' });
    }
  }

  const provider = (pod, version) => pod.startSluice(['demo-app', 'provider', '--service', 'service-provider',
    '--version', version, '--ip', pod.ip, '--port', String(PROVIDER_PORT), '--registry', NACOS,
    '--beat-interval-ms', '1000'],
  { readyLine: new RegExp(`demo-app provider service-provider ${version} listening on `) });
  await Promise.all([provider(v1, 'v1'), provider(v2, 'v2')]);

  if (method === 1) {
    await consumer.startSluice(['demo-app', 'consumer', '--ip', consumer.ip, '--port', String(CONSUMER_PORT),
      '--registry', NACOS, '--refresh-ms', '300', '--call-timeout-ms', '3000'],
    { readyLine: /demo-app consumer consumer v1 listening on / });
  } else {
    const script = new URL('./lib/sdk_consumer.mjs', import.meta.url).pathname;
    await consumer.start(process.execPath, [script, JSON.stringify({
      server: `${NACOS_HOST}:8848`, ip: consumer.ip, port: CONSUMER_PORT })],
    { name: 'sdk-consumer', readyLine: /sdk-consumer listening on /, readyTimeoutMs: 20_000 });
  }

  const gwDir = e2e.makeTempDir('sluice-pods-gw-');
  for (const f of ['test-gateway.yaml', 'consumer.yaml']) e2e.writeAtomic(gwDir, f, seedFile(f));
  await gateway.startSluice(['gateway', '--config', gwDir, '--listen-host', gateway.ip,
    '--registry', `nacos://${NACOS}`, '--admin', '127.0.0.1:15000']);

  // Ready when the gateway reaches the consumer and the consumer has seen both providers.
  await e2e.waitFor(async () => {
    const lines = await echo(topo, 'ready', 2);
    return lines.some((l) => l.endsWith('v1ready')) && lines.some((l) => l.endsWith('v2ready'));
  }, { timeoutMs: 20_000, intervalMs: 200, what: 'the gateway to reach the consumer and both providers' })
    .catch((e) => { throw new Error(`${e.message}\n${describeAll(topo)}`); });
  return topo;
}

// The consumer SDK's current view of service-provider (method 2), from inside the consumer pod.
async function sdkView(topo) {
  const out = await topo.consumer.http({ requests: [`http://${topo.consumer.ip}:${CONSUMER_PORT}/debug`] });
  const r = out.results[0];
  if (r.error || r.status !== 200) throw new Error(`/debug: ${r.error ?? r.body}`);
  return JSON.parse(r.body).hosts;
}

// ---- without sidecars: the harness and the applications alone --------------------------------

for (const method of [1, 2]) {
  describe(`pods without sidecars, ${method === 1 ? 'demo-app' : 'Nacos SDK'} consumer`, () => {
    let topo;
    before(async () => {
      const why = podsUnavailable();
      if (why) { topo = { skip: why }; return; }
      topo = await startTopology(`p${method}`, { method, sidecars: false });
    });
    after(async () => { await topo?.net?.destroy(); });

    test('the consumer round-robins v1/v2 through the gateway (the seed\'s "before")', async (t) => {
      if (topo.skip) return t.skip(topo.skip);
      assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
      if (method === 2) {
        // No sidecar, no rewrite: the SDK sees the providers' pod addresses.
        const hosts = await sdkView(topo);
        assert.deepEqual(hosts.map((h) => h.ip).sort(), [topo.v1.ip, topo.v2.ip]);
      }
      // Pod plumbing: the hosts file maps the seed's Nacos host; nothing leaked into the root ns.
      const hosts = await topo.consumer.run('getent', ['hosts', NACOS_HOST]);
      assert.match(hosts.stdout, new RegExp(`^${REGISTRY_IP.replace(/\./g, '\\.')}\\s`), hosts.stderr);
      const rootAddrs = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(rootAddrs, /10\.0\.130\./, 'pod addresses stay in the pods');
    });
  });
}

// ---- with sidecars ----------------------------------------------------------------------------

const ORDERS = [
  { order: 'a', configFirst: true, what: 'mesh config written before any app starts' },
  { order: 'b', configFirst: false, what: 'config applied to running apps and sidecars' },
];

for (const method of [1, 2]) {
  for (const { order, configFirst, what } of ORDERS) {
    const name = method === 1 ? 'reverse DNS' : 'Nacos list rewrite';
    describe(`method ${method} (${name}), order ${order}: ${what}`, () => {
      let topo;
      before(async () => {
        const why = podsUnavailable() ?? SIDECAR_MISSING;
        if (why) { topo = { skip: why }; return; }
        topo = await startTopology(`m${method}${order}`, { method, sidecars: true, configFirst });
      });
      after(async () => { await topo?.net?.destroy(); });

      test('round robin before the routing rules; /echo/hello -> v1 and the rest -> v2 after', async (t) => {
        if (topo.skip) return t.skip(topo.skip);
        if (!configFirst) {
          // Empty config: the sidecars pass traffic through untouched (invisible to the mesh).
          const passthroughBefore = await meshCalls(topo);
          assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
          assert.equal(await meshCalls(topo), passthroughBefore, 'no mesh routing without the method config');
          applyToMesh(topo, METHOD_FILES[method]);
          await e2e.waitFor(async () => {
            const dump = await consumerAdmin(topo, '/config_dump');
            return METHOD_MARKERS[method].every((m) => dump.includes(m));
          }, { timeoutMs: 10_000, intervalMs: 100,
            what: `the consumer sidecar's /config_dump to show ${METHOD_MARKERS[method].join(' and ')}` });
        }
        if (method === 2) {
          // The SDK's instance list came through the sidecar's rewrite: ips are the mesh host.
          const hosts = await e2e.waitFor(async () => {
            const h = await sdkView(topo);
            return h.length === 2 && h.every((x) => x.ip === 'service-provider') ? h : null;
          }, { timeoutMs: 10_000, intervalMs: 200, what: 'the SDK to see ip service-provider' })
            .catch(async (e) => {
              const view = await sdkView(topo).catch((x) => x.message);
              throw new Error(`${e.message}; SDK view: ${JSON.stringify(view)}\n${describeAll(topo)}`);
            });
          assert.deepEqual(hosts.map((h) => h.port), [PROVIDER_PORT, PROVIDER_PORT]);
          assert.deepEqual(hosts.map((h) => h.metadata.label).sort(), ['v1', 'v2']);
        }
        if (method === 1) await waitForReverseDns(topo);
        // Now through the mesh: the consumer's sidecar routes each call as service-provider.
        const viaMesh = await meshCalls(topo);
        assertRoundRobin(await echo(topo, 'world', 8), 'world', topo);
        assert.equal(await meshCalls(topo) - viaMesh, 8, 'the sidecar routed every call as service-provider');

        applyToMesh(topo, ROUTING_FILES);
        await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes('hello-v1'),
          { timeoutMs: 10_000, intervalMs: 100, what: 'the consumer sidecar /config_dump to show hello-v1' });
        assertAll(await echo(topo, 'hello', 8), 'v1', 'hello', topo);
        assertAll(await echo(topo, 'world', 8), 'v2', 'world', topo);
        if (method === 1) {
          // Reverse DNS: the provider pods' addresses map back to the service.
          const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
          for (const pod of [topo.v1, topo.v2]) {
            const mapped = dump.reverse_dns.addresses[`${pod.ip}:${PROVIDER_PORT}`] ?? '';
            assert.match(mapped, /^service-provider\./,
              JSON.stringify(dump.reverse_dns));
          }
        }
      });

      if (method === 1 && order === 'a') {
        test('non-HTTP TCP through the transparent port: client-first and server-first', async (t) => {
          if (topo.skip) return t.skip(topo.skip);
          // In provider-v1 (inbound is not intercepted): an echo server and a banner-then-echo one.
          const servers = `const net=require('net');
            net.createServer((s)=>s.pipe(s)).listen(9000,'${topo.v1.ip}',()=>{
              net.createServer((s)=>{s.write(Buffer.from([0x53,0x00,0xff,0x0a]));s.pipe(s);})
                .listen(9001,'${topo.v1.ip}',()=>console.log('tcp servers ready'));});`;
          await topo.v1.start(process.execPath, ['-e', servers],
            { name: 'tcp-servers', readyLine: /tcp servers ready/ });
          const redirected = async () => {
            const r = await topo.consumer.run('iptables-save', ['-c', '-t', 'nat']);
            const m = r.stdout.match(/\[(\d+):\d+\] -A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
            assert.ok(m, `no SLUICE_REDIRECT counter in:\n${r.stdout}`);
            return Number(m[1]);
          };
          const before = await redirected();
          const tcpBefore = await consumerCounter(topo, 'sluice_tcp_connections_total');
          // Binary, not HTTP (NUL, 0xff, a bare CRLF, then "GET" to tempt a sniffer).
          const payload = Buffer.from([0x00, 0x01, 0x02, 0xfe, 0xff, 0x0d, 0x0a, 0x47, 0x45, 0x54])
            .toString('hex');
          const out = await topo.consumer.http({ timeoutMs: 4_000, tcp: [
            { host: topo.v1.ip, port: 9000, send: payload },
            { host: topo.v1.ip, port: 9001, send: payload, serverFirst: 4 },
          ] });
          const [clientFirst, serverFirst] = out.results;
          assert.equal(clientFirst.error, undefined,
            `client-first: ${JSON.stringify(clientFirst)}\n${describeAll(topo)}`);
          assert.equal(clientFirst.received, payload);
          assert.equal(serverFirst.error, undefined,
            `server-first: ${JSON.stringify(serverFirst)}\n${describeAll(topo)}`);
          assert.equal(serverFirst.banner, '5300ff0a');
          assert.equal(serverFirst.received, payload);
          assert.ok(await redirected() >= before + 2, 'both connections went through the sidecar port');
          assert.equal(await consumerCounter(topo, 'sluice_tcp_connections_total') - tcpBefore, 2,
            'the sidecar proxied both as TCP');
        });
      }
    });
  }
}
