// The seed's scenario by method 2 (registry interception) over the ZooKeeper protocol, with the
// Spring Cloud Zookeeper apps (examples/spring-cloud demo-zookeeper, `make spring-apps`) in pods
// with transparent sidecars, against Debian's real ZooKeeper in its own pod:
// examples/registry-interception's external-zookeeper-svc.yaml + zookeeper-interception.yaml make
// every pod's connection to ZooKeeper's port pass its sidecar's ZooKeeper wire rewriter, which
// rewrites the `address` of each instance record the app reads (getData on
// /services/<name>/<id>) to the service name. Curator's instance list then names
// service-provider; Spring Cloud LoadBalancer dials service-provider:8070, the sidecar's DNS gives
// it a mesh VIP and the VirtualService decides: round robin before the routing rules,
// /echo/hello -> v1 and the rest -> v2 after. No reverse DNS (method 1) is configured, so a call
// routed as service-provider proves the app used the rewritten address. Two start-up orders: (a)
// the filter written before anything starts, (b) applied to running apps, then the consumer
// restarted, as the seed's FAQ says (its ZooKeeper connection was opened before the sidecar
// intercepted the port).
// Then the never-a-broken-session rule, without JVM apps: a four-letter word to the real
// ZooKeeper through the intercepted port, and a scripted server (lib/zk_stub_server.mjs) whose
// malformed answer, or a client's unknown request type, make the sidecar relay the rest of that
// connection byte for byte while the session keeps working.
// Method 1 on the same topology: zookeeper_pods.test.mjs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { PodNet, podsUnavailable } from './lib/pods.mjs';
import {
  CONSUMER_PORT, PROVIDER_PORT, assertProviderEndpointsLabelled, consumerAdmin, consumerCounter,
  seedScenario, startSidecar, waitForConfig,
} from './lib/seed_scenario.mjs';
import { springSkipReason, startDemoApp } from './lib/spring.mjs';
import { startZooKeeper, zookeeperSkipReason } from './lib/zookeeper.mjs';
import {
  connectResponse, curatorRecord, getDataOf, getDataReply, malformedGetDataReply, reply,
} from './lib/zk_wire.mjs';

after(e2e.cleanupAll);

const REGISTRY_IP = '10.0.130.2';
const ZK_PORT = 2181;
const CONNECT = `${REGISTRY_IP}:${ZK_PORT}`;
const METHOD_FILES = [['registry-interception', 'external-zookeeper-svc.yaml'],
  ['registry-interception', 'zookeeper-interception.yaml']];
const METHOD_MARKER = 'zookeeper-interception';

const libScript = (name) => new URL(`./lib/${name}`, import.meta.url).pathname;

// Runs one of lib/'s pod scripts in `pod` with a JSON spec; resolves its JSON output.
async function podScript(pod, name, spec, timeoutMs = 20_000) {
  const r = await pod.run(process.execPath, [libScript(name), JSON.stringify(spec)], { timeoutMs });
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`${name} in ${pod.name} printed no JSON (code ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

// ---- the seed's scenario ------------------------------------------------------------------------

// Method 2's proof on the wire: a ZooKeeper client in the consumer pod reads both provider
// records through its sidecar with the service name as address; port, metadata and the rest of
// the record kept. The consumer's own Curator reads were rewritten too (the sidecar's counter).
async function assertRecordsRewritten(topo, root = '/services') {
  const spec = { connect: CONNECT, name: 'service-provider', root };
  const out = await podScript(topo.consumer, 'zk_read_instances.mjs', spec);
  assert.equal(out.error, undefined, JSON.stringify(out));
  assert.deepEqual(out.instances.map((i) => [i.address, i.port, i.name]),
    [['service-provider', PROVIDER_PORT, 'service-provider'], ['service-provider', PROVIDER_PORT, 'service-provider']]);
  assert.deepEqual(out.instances.map((i) => i.payload.metadata.label).sort(), ['v1', 'v2']);
  assert.ok(out.instances.every((i) => i.payload['@class'].endsWith('ZookeeperInstance')));
  // The registry itself still holds the pod addresses (what the sidecars route to).
  const direct = await podScript(topo.client, 'zk_read_instances.mjs', spec);
  assert.deepEqual(direct.instances.map((i) => i.address).sort(), [topo.v1.ip, topo.v2.ip].sort());
  assert.ok(await consumerCounter(topo, 'sluice_registry_stream_records_rewritten_total') > 2,
    'the consumer app\'s own instance reads went through the rewriter');
  assert.equal(await consumerCounter(topo, 'sluice_registry_stream_passthrough_total'), 0);
  const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
  assert.deepEqual(dump.registry_interception.map((r) => [r.registry, r.port, r.protocol, r.options.root]),
    [['zookeeper', ZK_PORT, 'tcp', root]]);
}

// Registered as `consumer`, like zookeeper_pods.test.mjs. `root`: the apps' discovery root
// (spring.cloud.zookeeper.discovery.root), the sidecars' registry URL path and the interception's
// `root` option.
const zkScenario = ({ title, tag, orders, root }) => {
  const props = root ? { 'spring.cloud.zookeeper.discovery.root': root } : {};
  const startConsumer = (topo) => startDemoApp('zookeeper', { role: 'consumer', registry: CONNECT,
    pod: topo.consumer,
    props: { ...props, 'server.port': CONSUMER_PORT, 'spring.application.name': 'consumer' } });
  seedScenario({
    title,
    tag,
    orders,
    label: `ZooKeeper pods${root ? ` (root ${root})` : ''}`,
    skipReason: () => springSkipReason(['demo-zookeeper']) ?? zookeeperSkipReason(),
    registryPod: 'zookeeper',
    method: 2,
    methodFiles: root ? [METHOD_FILES[0], interceptionWithRoot(root)] : METHOD_FILES,
    methodMarker: METHOD_MARKER,
    startRegistry: async (topo) => {
      assert.equal(topo.registryPod.ip, REGISTRY_IP);
      return { url: `zookeeper://${CONNECT}${root ?? ''}`,
        ready: startZooKeeper({ pod: topo.registryPod, port: ZK_PORT }) };
    },
    startProvider: (topo, version) => startDemoApp('zookeeper', { role: 'provider', version,
      registry: CONNECT, pod: topo[version], props: { ...props, 'server.port': PROVIDER_PORT } }),
    startConsumer,
    // Passed through untouched: no connection went through the ZooKeeper rewriter yet.
    beforeMethod: async (topo) => {
      assert.equal(await consumerCounter(topo, 'sluice_registry_stream_connections_total'), 0);
    },
    onWire: (topo) => assertRecordsRewritten(topo, root),
    // The sidecar's view came from ZooKeeper: both instances at their pod address:port, labelled.
    afterRouting: assertProviderEndpointsLabelled,
  });
};

// The example's interception filter with `root: ROOT` in its value, as a user whose apps keep
// their instances elsewhere writes it.
function interceptionWithRoot(root) {
  const [folder, name] = METHOD_FILES[1];
  const text = readFileSync(join(e2e.sourceDir(), 'examples', folder, name), 'utf8');
  const key = '            registry: zookeeper\n';
  assert.ok(text.includes(key), `${name} has no '${key.trim()}' line`);
  return { name, text: text.replace(key, `${key}            root: ${root}\n`) };
}

zkScenario({ title: 'Spring Cloud Zookeeper pods (ZooKeeper wire interception)', tag: 'zm' });
// Order a only: the root option changes what the rewriter follows, not how the method starts.
zkScenario({ title: 'Spring Cloud Zookeeper pods, discovery root /mesh/services (the interception\'s root option)',
  tag: 'zr', orders: ['a'], root: '/mesh/services' });

// ---- unknown or malformed frames: relayed unmodified, the session keeps working ----------------

describe('ZooKeeper interception: an unknown or malformed frame makes the sidecar relay the rest unmodified', () => {
  let topo;
  const good = '/services/service-provider/i1';
  const bad = '/services/service-provider/i2';
  const records = {
    [good]: curatorRecord({ name: 'service-provider', id: 'i1', address: '10.0.130.9', port: PROVIDER_PORT }),
    [bad]: curatorRecord({ name: 'service-provider', id: 'i2', address: '10.0.130.8', port: PROVIDER_PORT }),
  };
  before(async () => {
    const why = podsUnavailable() ?? zookeeperSkipReason();
    if (why) { topo = { skip: why }; return; }
    const net = new PodNet('zmx');
    topo = { net, skip: await net.create(), dirs: [] };
    if (topo.skip) return;
    topo.registry = await net.addPod('zookeeper');
    topo.stub = await net.addPod('stub');
    topo.consumer = await net.addPod('consumer');
    const zkReady = startZooKeeper({ pod: topo.registry, port: ZK_PORT });
    zkReady.catch(() => {});
    await topo.stub.start(process.execPath, [libScript('zk_stub_server.mjs'),
      JSON.stringify({ port: ZK_PORT, records, malformed: [bad] })],
    { name: 'zk stub', readyLine: /zk stub listening on \d+\n/ });
    await startSidecar(topo, topo.consumer, `zookeeper://${CONNECT}`, METHOD_FILES);
    topo.zk = await zkReady;
    await waitForConfig(topo, METHOD_MARKER);
  });
  after(async () => {
    await topo?.zk?.stop().catch(() => {});
    await topo?.net?.destroy();
  });

  const counter = (name) => consumerCounter(topo, name);
  const client = (steps) => podScript(topo.consumer, 'zk_raw_client.mjs',
    { host: topo.stub.ip, port: ZK_PORT, steps, timeoutMs: 5_000 });
  const hex = (b) => b.toString('hex');

  test('a malformed getData answer: that answer and everything after it pass byte for byte', async (t) => {
    if (topo.skip) return t.skip(topo.skip);
    const gaveUp = await counter('sluice_registry_stream_passthrough_total');
    const out = await client([{ getData: good }, { getData: bad }, { getData: good }, { ping: true }]);
    assert.equal(out.error, undefined, JSON.stringify(out));
    assert.equal(out.handshake, hex(connectResponse()));
    // Before: the instance record is rewritten.
    const first = Buffer.from(out.replies[0], 'hex');
    assert.equal(JSON.parse(getDataOf(first)).address, 'service-provider');
    // The malformed answer as the server sent it, and from then on nothing is rewritten.
    assert.equal(out.replies[1], hex(malformedGetDataReply(2, records[bad])));
    assert.equal(out.replies[2], hex(getDataReply(3, records[good])));
    assert.equal(out.replies[3], hex(reply(-2, 0)));
    assert.equal(await counter('sluice_registry_stream_passthrough_total'), gaveUp + 1);
  });

  test('an unknown request type: its answer and everything after it pass byte for byte', async (t) => {
    if (topo.skip) return t.skip(topo.skip);
    const gaveUp = await counter('sluice_registry_stream_passthrough_total');
    const out = await client([{ getData: good }, { op: 999 }, { getData: good }, { ping: true }]);
    assert.equal(out.error, undefined, JSON.stringify(out));
    assert.equal(JSON.parse(getDataOf(Buffer.from(out.replies[0], 'hex'))).address, 'service-provider');
    assert.equal(out.replies[1], hex(reply(2, -6)));
    assert.equal(out.replies[2], hex(getDataReply(3, records[good])));
    assert.equal(out.replies[3], hex(reply(-2, 0)));
    assert.equal(await counter('sluice_registry_stream_passthrough_total'), gaveUp + 1);
  });

  test('the real ZooKeeper: a four-letter word on the intercepted port is answered as is', async (t) => {
    if (topo.skip) return t.skip(topo.skip);
    const gaveUp = await counter('sluice_registry_stream_passthrough_total');
    // `srvr` read as a frame length is 1.9 GB: not ZooKeeper framing, so the rest is relayed.
    const out = await topo.consumer.http({ tcp: [{ host: REGISTRY_IP, port: ZK_PORT,
      send: Buffer.from('srvr').toString('hex'), expect: 20 }], timeoutMs: 5_000 });
    const got = Buffer.from(out.results[0].received ?? '', 'hex').toString();
    assert.match(got, /^Zookeeper version: 3\./, JSON.stringify(out.results[0]));
    await e2e.waitFor(async () => (await counter('sluice_registry_stream_passthrough_total')) === gaveUp + 1,
      { timeoutMs: 5_000, intervalMs: 100, what: 'the sidecar to count the connection it relayed unmodified' });
  });
});
