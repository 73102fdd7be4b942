// The seed's scenario on pods with transparent sidecars, as one suite each registry's test file
// calls with what is its own (how its registry and apps start, what else it checks), for both
// ways of putting the apps' calls under the mesh:
//   method 1 (reverse DNS, the seed's any-spring-cloud-support.yaml): the consumer dials the
//     provider pods and its sidecar maps their addresses back to service-provider;
//   method 2 (registry interception, spec.method = 2 with the registry's files): the consumer's
//     own registry reads pass its sidecar, which rewrites every instance address to
//     service-provider, so the app dials the service by name.
// Topology: a registry pod first (10.0.130.2), provider-v1/v2, a consumer, optionally an ingress
// gateway, and a client pod; sidecars (`sluice init-netfilter` + `sluice proxy
// --transparent-listen`) in the provider and consumer pods read the registry. The test:
//   (order b only) empty config: round robin, passed through, no mesh calls; then the method's
//     files applied to the running sidecars (method 2: and the consumer restarted, as the seed's
//     FAQ says: its registry connection was opened before the interception);
//   the method on, no routing rules: every call routed as service-provider, round robin kept;
//   the seed's DestinationRule + VirtualService: /echo/hello -> v1 only, the rest -> v2;
//   then the registry's own checks (`afterRouting`).
//
//   seedScenario({
//     title: 'Spring Cloud Zookeeper in pods', tag: 'z', label: 'zookeeper pods',
//     skipReason: () => springSkipReason(['demo-zookeeper']),
//     registryPod: 'zookeeper', gateway: true,
//     startRegistry: async (topo) => ({ url: 'zookeeper://...', apps: '...' }),
//     startApps: async (topo, registry) => ({ v1, v2, consumer }),
//   });
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './index.mjs';
import { PodNet, podsUnavailable } from './pods.mjs';
import { providerEndpoints } from './admin.mjs';

// The seed's ports: the EnvoyFilter matches 8070, the gateway's VirtualService routes to 8080.
export const PROVIDER_PORT = 8070;
export const CONSUMER_PORT = 8080;
const ADMIN = 'http://127.0.0.1:15000';
// Method 1's files and what the consumer sidecar's /config_dump shows once they are loaded.
const METHOD1 = { files: ['any-spring-cloud-support.yaml'], marker: 'any-spring-cloud-support' };
const ROUTING_FILES = ['service-provider.yaml', 'service-provider-vs.yaml'];

// Start-up orders: (a) the method's files written before any app starts; (b) applied to running
// apps and sidecars.
const ORDERS = { a: { configFirst: true }, b: { configFirst: false } };

export function seedFile(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/seed', name), 'utf8');
}

// Every process of the topology, for failure messages.
export function describeAll(topo) {
  return [...topo.net.pods.values()].flatMap((p) => [...p.procs]).map((p) => p.describe().slice(-4000)).join('\n');
}

// `n` sequential GETs of /echo/<word> from the client pod, through the gateway when there is one,
// else straight to the consumer: ['200 <body>', ...].
export async function echo(topo, word, n) {
  const target = topo.gateway ? `http://${topo.gateway.ip}` : `http://${topo.consumer.ip}:${CONSUMER_PORT}`;
  const out = await topo.client.http({
    requests: Array.from({ length: n }, () => `${target}/echo/${word}`), timeoutMs: 5_000,
  });
  return out.results.map((r) => (r.error ? `ERROR ${r.error}` : `${r.status} ${r.body}`));
}

export const hello = (v, word) => `200 Hello Nacos Discovery From ${v}${word}`;

// Only v1 and v2 answer, alternating. `strict`: never the same twice in a row; else (a client
// load balancer over a registry list that reshuffles) evenly split with at most one repeat.
export function assertRoundRobin(lines, word, topo, { strict = true } = {}) {
  const msg = `expected v1/v2 alternation:\n${lines.join('\n')}\n${describeAll(topo)}`;
  for (const l of lines) assert.ok(l === hello('v1', word) || l === hello('v2', word), msg);
  if (strict) {
    for (let i = 1; i < lines.length; i += 1) assert.notEqual(lines[i], lines[i - 1], msg);
    return;
  }
  const v1 = lines.filter((l) => l === hello('v1', word)).length;
  const repeats = lines.filter((l, i) => i > 0 && l === lines[i - 1]).length;
  assert.ok(v1 >= lines.length / 2 - 1 && v1 <= lines.length / 2 + 1, msg);
  assert.ok(repeats <= 1, msg);
}

export function assertAll(lines, version, word, topo) {
  assert.deepEqual(lines, lines.map(() => hello(version, word)),
    `expected every /echo/${word} from ${version}:\n${lines.join('\n')}\n${describeAll(topo)}`);
}

// GET on the consumer sidecar's admin port, from inside the consumer pod.
export async function consumerAdmin(topo, path) {
  const out = await topo.consumer.http({ requests: [`${ADMIN}${path}`], timeoutMs: 2_000 });
  const r = out.results[0];
  if (r.error) throw new Error(`${path}: ${r.error}`);
  return r.body;
}

// A counter of the consumer sidecar's /stats/prometheus: the sum of `name` over series whose
// labels contain `labelText` (all series when empty).
export async function consumerCounter(topo, name, labelText = '') {
  const text = await consumerAdmin(topo, '/stats/prometheus');
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^(\w+)(\{[^}]*\})?\s+(\d+(?:\.\d+)?)$/);
    if (m && m[1] === name && (m[2] ?? '').includes(labelText)) sum += Number(m[3]);
  }
  return sum;
}

// Requests the consumer's sidecar routed as the mesh service service-provider (not passthrough).
export const meshCalls = (topo) => consumerCounter(topo, 'istio_requests_total',
  'destination_service_name="service-provider"');

// Writes mesh config files into every sidecar's directory: names of examples/seed files,
// [folder, name] pairs of files under examples/, or { name, text } written as given.
export function applyToMesh(topo, files) {
  for (const dir of topo.dirs) writeExampleFiles(dir, files);
}

function writeExampleFiles(dir, files) {
  for (const f of files) {
    if (f.text !== undefined) {
      e2e.writeAtomic(dir, f.name, f.text);
      continue;
    }
    const [folder, name] = Array.isArray(f) ? f : ['seed', f];
    e2e.writeAtomic(dir, name, readFileSync(join(e2e.sourceDir(), 'examples', folder, name), 'utf8'));
  }
}

// Ready when the consumer has seen both providers (registration, its registry reads and its load
// balancer's cache all converged), bounded. `slow`: the consumer's view settles slowly (a client
// load balancer over a list the registry reshuffles, a restarted JVM).
export async function waitForBothProviders(topo, { slow = true } = {}) {
  let lines = [];
  await e2e.waitFor(async () => {
    lines = await echo(topo, 'ready', slow ? 4 : 2);
    return lines.some((l) => l.includes('v1ready')) && lines.some((l) => l.includes('v2ready'));
  }, { timeoutMs: slow ? 90_000 : 30_000, intervalMs: slow ? 500 : 250, what: 'the consumer to reach both providers' })
    .catch(async (e) => {
      const clusters = await consumerAdmin(topo, '/clusters').catch((x) => x.message);
      throw new Error(`${e.message}; last answers: ${JSON.stringify(lines)}\n` +
        `consumer sidecar /clusters:\n${clusters}\n${describeAll(topo)}`);
    });
}

// The seed's apps, started together: provider v1 and v2 in their pods (spec.startProvider(topo,
// version, registry)) and the consumer (spec.startConsumer(topo, registry)).
export async function startSeedApps(topo, registry, { startProvider, startConsumer }) {
  const [v1, v2, consumer] = await Promise.all([
    startProvider(topo, 'v1', registry),
    startProvider(topo, 'v2', registry),
    startConsumer(topo, registry),
  ]);
  return { v1, v2, consumer };
}

// The seed's FAQ for method 2: the interception must see the app's registry reads from the start,
// so an app started before it gets a rolling restart — the consumer (topo.apps.consumer, started
// again by topo.startConsumer()).
export async function restartConsumer(topo) {
  await topo.apps.consumer.stop({ timeoutMs: 10_000 });
  topo.apps.consumer = await topo.startConsumer();
  await waitForBothProviders(topo);
}

export async function waitForConfig(topo, marker) {
  await e2e.waitFor(async () => (await consumerAdmin(topo, '/config_dump')).includes(marker),
    { timeoutMs: 10_000, intervalMs: 100, what: `the consumer sidecar's /config_dump to show ${marker}` });
}

// Method 1's readiness: the consumer's sidecar maps both provider pod addresses back to
// service-provider (reverse DNS on /config_dump). The consumer's own registry client may know the
// providers before the sidecar's registry read does; counting mesh calls starts from a sidecar
// that has caught up.
export async function waitForReverseDns(topo) {
  const want = [topo.v1, topo.v2].map((p) => `${p.ip}:${PROVIDER_PORT}`);
  let known = {};
  // 30 s, not 10: under CI load (ctest -j2 beside a browser and other JVMs) the sidecar once took
  // longer than 10 s to list the real Eureka server's second provider (not understood yet).
  await e2e.waitFor(async () => {
    const dump = JSON.parse(await consumerAdmin(topo, '/config_dump'));
    known = dump.reverse_dns?.addresses ?? {};
    return want.every((a) => (known[a] ?? '').startsWith('service-provider.'));
  }, { timeoutMs: 30_000, intervalMs: 100, what: `the consumer sidecar's reverse DNS to know ${want.join(' and ')}` })
    .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(known)}`); });
}

// The seed's routing took effect (bounded): /echo/hello answered by v1 only, the rest by v2.
export async function waitForSeedRouting(topo) {
  await e2e.waitFor(async () => {
    const hellos = await echo(topo, 'hello', 4);
    const worlds = await echo(topo, 'world', 4);
    return hellos.every((l) => l === hello('v1', 'hello')) && worlds.every((l) => l === hello('v2', 'world'));
  }, { timeoutMs: 10_000, intervalMs: 200, what: 'the seed\'s routing to take effect' })
    .catch((e) => { throw new Error(`${e.message}\n${describeAll(topo)}`); });
}

// The seed's steps once a registry-interception method (method 2) makes the consumer call
// service-provider by name: with no routing rules its sidecar routes every call as
// service-provider and round-robins (the seed's "before"); then the seed's DestinationRule and
// VirtualService go in and /echo/hello goes to v1 only, the rest to v2. `label` names the run in
// the test log.
export async function assertSeedStepsThroughTheMesh(topo, label) {
  const meshBefore = await meshCalls(topo);
  const before = await echo(topo, 'world', 8);
  console.log(`# ${label} before: ${before.map((l) => l.slice(-7)).join(' ')}`);
  assertRoundRobin(before, 'world', topo, { strict: false });
  assert.ok(await meshCalls(topo) >= meshBefore + 8, 'the consumer sidecar routed the calls as service-provider');
  await applySeedRouting(topo, label, { settle: true });
}

// The seed's DestinationRule + VirtualService go in; then /echo/hello is answered by v1 only and
// the rest by v2. `settle`: the consumer's calls take a while to follow (a client load balancer
// over a registry list that reshuffles), so the routing is waited for before it is asserted.
async function applySeedRouting(topo, label, { settle }) {
  applyToMesh(topo, ROUTING_FILES);
  await waitForConfig(topo, 'hello-v1');
  if (settle) await waitForSeedRouting(topo);
  const hellos = await echo(topo, 'hello', 8);
  const worlds = await echo(topo, 'world', 8);
  console.log(`# ${label} after: hello ${hellos.map((l) => l.slice(-7)).join(' ')}; ` +
    `world ${worlds.map((l) => l.slice(-7)).join(' ')}`);
  assertAll(hellos, 'v1', 'hello', topo);
  assertAll(worlds, 'v2', 'world', topo);
}

// The consumer sidecar's endpoints of service-provider (over its default and subset clusters,
// once each) are exactly the two provider pods on PROVIDER_PORT, labelled v1 and v2.
export async function assertProviderEndpointsLabelled(topo) {
  const eps = providerEndpoints(JSON.parse(await consumerAdmin(topo, '/clusters?format=json')));
  assert.deepEqual(eps.map((e) => `${e.address} ${e.labels.label}`).sort(),
    [`${topo.v1.ip}:${PROVIDER_PORT} v1`, `${topo.v2.ip}:${PROVIDER_PORT} v2`]);
}

// A transparent sidecar in `pod` (`sluice init-netfilter` + `sluice proxy --transparent-listen`,
// DNS proxy, admin on 127.0.0.1:15000 inside the pod) reading `registryUrl`; its config directory
// is a new one (appended to topo.dirs) holding `files` (as applyToMesh takes them). The sidecar's
// own registry reads are marked and bypass the interception.
export async function startSidecar(topo, pod, registryUrl, files = []) {
  const dir = e2e.makeTempDir(`sluice-${topo.net.tag}-${pod.name}-`);
  topo.dirs.push(dir);
  writeExampleFiles(dir, files);
  const nf = await pod.run(e2e.sluiceBin(), ['init-netfilter', '--outbound-port', '15001',
    '--dns-port', '15053', '--proxy-mark', '1337']);
  assert.equal(nf.code, 0, `init-netfilter in ${pod.name}: ${nf.stdout}${nf.stderr}`);
  await pod.startSluice(['proxy', '--transparent-listen', '127.0.0.1:15001',
    '--dns-listen', '127.0.0.1:15053', '--vip-cidr', '240.240.0.0/16', '--upstream-mark', '1337',
    '--config', dir, '--registry', registryUrl, '--admin', '127.0.0.1:15000',
    '--service-node', pod.name], { name: 'sidecar' });
}

// The method a spec asks for: its files, its /config_dump marker, and whether an app started
// before the files must be restarted (method 2).
function methodOf(spec) {
  if ((spec.method ?? 1) === 1) return { number: 1, ...METHOD1, restart: false };
  return { number: 2, files: spec.methodFiles, marker: spec.methodMarker, restart: true };
}

async function startTopology(tag, configFirst, spec) {
  const method = methodOf(spec);
  const net = new PodNet(tag);
  const topo = { net, skip: await net.create(), dirs: [], apps: {} };
  if (topo.skip) return topo;
  const registryPod = await net.addPod(spec.registryPod ?? 'registry');
  const v1 = await net.addPod('provider-v1');
  const v2 = await net.addPod('provider-v2');
  const consumer = await net.addPod('consumer');
  const gateway = spec.gateway ? await net.addPod('gateway') : null;
  const client = await net.addPod('client');
  Object.assign(topo, { registryPod, v1, v2, consumer, gateway, client, mesh: [v1, v2, consumer] });

  // `ready`: the registry may finish starting while the sidecars start (they retry).
  const registry = await spec.startRegistry(topo);
  registry.ready?.catch(() => {});  // awaited below
  for (const pod of topo.mesh) await startSidecar(topo, pod, registry.url, configFirst ? method.files : []);
  topo.registry = await registry.ready ?? null;

  // The apps reach the registry through their pods' interception.
  const started = Date.now();
  topo.apps = spec.startApps ? await spec.startApps(topo, registry) : await startSeedApps(topo, registry, spec);
  topo.startConsumer = () => spec.startConsumer(topo, registry);
  const apps = Object.values(topo.apps);
  console.log(`# ${spec.label} (method ${method.number}, order ${configFirst ? 'a' : 'b'}): apps up in ` +
    `${Date.now() - started} ms (${apps.map((a) => `${a.name} ${a.startupMs} ms`).join(', ')})`);

  if (gateway) {
    const gwDir = e2e.makeTempDir(`sluice-${tag}-gw-`);
    for (const f of ['test-gateway.yaml', 'consumer.yaml']) e2e.writeAtomic(gwDir, f, seedFile(f));
    await gateway.startSluice(['gateway', '--config', gwDir, '--listen-host', gateway.ip,
      '--registry', registry.url, '--admin', '127.0.0.1:15000']);
  }

  // Ready when the consumer (through the gateway, when there is one) reaches both providers.
  await waitForBothProviders(topo, { slow: spec.converging || method.number === 2 });
  return topo;
}

// One describe() per start-up order. The spec:
//   title, tag (a short netns prefix), label (for the log lines);
//   orders: ['a', 'b'] (default both, see ORDERS);
//   skipReason(): a reason to skip besides missing pods (built apps, a peer binary), or null;
//   registryPod: the first pod's name ('registry'); gateway: whether an ingress gateway pod
//     fronts the consumer (the seed's test-gateway.yaml + consumer.yaml);
//   startRegistry(topo) -> { url (what the sidecars and the gateway read), ready?: Promise (its
//     value becomes topo.registry), ... anything startApps wants };
//   startApps(topo, registry) -> { v1, v2, consumer } (started apps, each with name/startupMs),
//     or startProvider(topo, version, registry) and startConsumer(topo, registry), which
//     startSeedApps calls (each returns a started app);
//   method: 1 (default) or 2; with 2 also methodFiles ([examples folder, file] pairs),
//     methodMarker (what /config_dump shows once they are loaded), startConsumer(topo, registry)
//     (also the consumer again, for the restart), beforeMethod(topo) (order b: checks while passed
//     through) and onWire(topo) (the rewrite's proof on the wire, before the seed's steps);
//   converging: the consumer's view of the registry settles slowly (Spring LoadBalancer over a
//     list the registry reshuffles): readiness waits up to 90 s, round robin may repeat once, the
//     routing rules are waited for before they are asserted;
//   afterRouting(topo): the registry's own checks at the end.
export function seedScenario(spec) {
  const method = methodOf(spec);
  const how = method.number === 1 ? 'method 1 (reverse DNS)' : 'method 2 (registry interception)';
  for (const order of spec.orders ?? ['a', 'b']) {
    const { configFirst } = ORDERS[order];
    const what = `method ${method.number} config ${configFirst ? 'written before any app starts'
      : 'applied to running apps and sidecars'}`;
    describe(`${spec.title}, ${how}, order ${order}: ${what}`, () => {
      let topo;
      before(async () => {
        const why = podsUnavailable() ?? spec.skipReason?.() ?? null;
        if (why) { topo = { skip: why }; return; }
        topo = await startTopology(`${spec.tag}${order}`, configFirst, spec);
      });
      after(async () => {
        await Promise.all(Object.values(topo?.apps ?? {}).map((a) => a.stop?.({ timeoutMs: 10_000 }).catch(() => {})));
        await topo?.registry?.stop?.().catch(() => {});
        await topo?.net?.destroy();
      });

      test('v1/v2 alternate before the routing rules; /echo/hello -> v1 and the rest -> v2 after', { timeout: 300_000 }, async (t) => {
        if (topo.skip) return t.skip(topo.skip);
        const strict = !spec.converging && method.number === 1;
        if (!configFirst) {
          // Empty config: the sidecars pass traffic through untouched.
          const passthrough = await meshCalls(topo);
          assertRoundRobin(await echo(topo, 'world', 8), 'world', topo, { strict });
          assert.equal(await meshCalls(topo), passthrough, 'no mesh routing without the method config');
          await spec.beforeMethod?.(topo);
          applyToMesh(topo, method.files);
          await waitForConfig(topo, method.marker);
          if (method.restart) await restartConsumer(topo);
        }
        const label = `${spec.label} (method ${method.number}, order ${order})`;
        if (method.number === 2) {
          await spec.onWire?.(topo);
          await assertSeedStepsThroughTheMesh(topo, label);
        } else {
          await assertMethod1Steps(topo, label, spec.converging);
        }
        await spec.afterRouting?.(topo);
      });
    });
  }
}

// Method 1's steps: the sidecar knows the providers from the registry, so the consumer's calls to
// their pod addresses are routed as service-provider and round robin keeps the seed's "before";
// then the seed's routing rules.
async function assertMethod1Steps(topo, label, converging) {
  await waitForReverseDns(topo);
  const viaMesh = await meshCalls(topo);
  const before = await echo(topo, 'world', 8);
  console.log(`# ${label} before: ${before.map((l) => l.slice(-7)).join(' ')}`);
  assertRoundRobin(before, 'world', topo, { strict: !converging });
  const routed = await meshCalls(topo) - viaMesh;
  if (!converging) assert.equal(routed, 8, 'the sidecar routed every call as service-provider');
  else assert.ok(routed >= 8, `the sidecar routed the calls as service-provider (${routed} of 8)`);
  await applySeedRouting(topo, label, { settle: converging });
}
