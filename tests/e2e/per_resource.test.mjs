// Per-resource acceptance and "last good, per reference" in a running `sluice proxy`:
// - the seed's verbatim external-nacos-svc.yaml (no apiVersion line) beside valid files: it is
//   rejected and reported (log with file:line, /config_dump, a metric), every valid file applies,
//   and valid files written afterwards apply too;
// - a VirtualService routing to a subset no DestinationRule defines is held back (IST0101 on
//   /config_dump) and applies by itself once the DestinationRule arrives; an edit to a missing
//   subset keeps the last good version serving;
// - 100 alternating bad/good writes under bounded load: 0 failed requests.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { ECHO_HOST, echoMeshFiles, echoRouteTo, describeResponse } from './lib/fixtures.mjs';

after(e2e.cleanupAll);

const url = (path) => `http://${ECHO_HOST}${path}`;

// The seed's listing of external-nacos-svc.yaml, verbatim (it has no apiVersion line).
const SEED_NACOS_SERVICE_ENTRY = `kind: ServiceEntry
metadata:
  name: external-nacos-svc
spec:
  hosts:
  - "<your-nacos-server-host>" # Example: mse-xxx-p.nacos-ans.mse.aliyuncs.com
  location: MESH_EXTERNAL
  ports:
  - number: 8848
    name: http
  resolution: DNS
`;


async function startProxy(files) {
  const v1 = await e2e.startUpstream('v1');
  const v2 = await e2e.startUpstream('v2');
  const dir = e2e.makeTempDir();
  for (const [name, text] of Object.entries(files({ v1Port: v1.port, v2Port: v2.port }))) {
    e2e.writeAtomic(dir, name, text);
  }
  const proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--concurrency', '2']);
  const { listen, admin } = e2e.parseProxyReady(proxy);
  return { v1, v2, dir, proxy, listen, admin };
}

async function configDump(admin) {
  const r = await e2e.request({ port: admin.port, path: '/config_dump' });
  assert.equal(r.status, 200, `/config_dump: ${describeResponse(r)}`);
  return JSON.parse(r.body);
}

async function metric(admin, name) {
  const r = await e2e.request({ port: admin.port, path: '/stats/prometheus' });
  const m = r.body.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}

test('the seed\'s external-nacos-svc.yaml without apiVersion is rejected alone; every valid file applies', async () => {
  const seedDir = join(e2e.sourceDir(), 'examples', 'seed');
  const m = await startProxy((ports) => {
    const files = echoMeshFiles(ports);
    files['virtual-service.yaml'] = echoRouteTo('v1');
    // The seed's EnvoyFilters, DestinationRule and Gateway as shipped, and its ServiceEntry as
    // the seed lists it.
    for (const name of readdirSync(seedDir)) {
      if (name.endsWith('-vs.yaml') || name === 'consumer.yaml') continue;
      files[`seed-${name}`] = readFileSync(join(seedDir, name), 'utf8');
    }
    files['seed-external-nacos-svc.yaml'] = SEED_NACOS_SERVICE_ENTRY;
    return files;
  });
  try {
    const r = await e2e.proxyRequest(m.listen, url('/a'));
    assert.equal(e2e.who(r), 'v1', `the valid VirtualService applies: ${describeResponse(r)}`);
    const dump = await configDump(m.admin);
    const errors = dump.config_errors.join('\n');
    assert.match(errors, /seed-external-nacos-svc\.yaml:1:1: ServiceEntry\/default\/external-nacos-svc: apiVersion: apiVersion is required/);
    assert.equal(dump.reverse_dns.rules.length, 1, `the seed's reverse-DNS EnvoyFilter applies: ${JSON.stringify(dump.reverse_dns)}`);
    assert.equal(dump.registry_interception.length, 1, `the seed's Lua EnvoyFilter applies: ${JSON.stringify(dump.registry_interception)}`);
    assert.match(m.proxy.stderr, /seed-external-nacos-svc\.yaml:1:1/, 'the error is logged with file:line');
    assert.match(m.proxy.stderr, /ServiceEntry\/default\/external-nacos-svc/);
    assert.ok(await metric(m.admin, 'sluice_config_rejected_resources') >= 1, 'the rejection is a metric');

    // A valid file written afterwards takes effect although the bad one is still there.
    e2e.writeAtomic(m.dir, 'virtual-service.yaml', echoRouteTo('v2'));
    await e2e.waitFor(async () => e2e.who(await e2e.proxyRequest(m.listen, url('/b'))) === 'v2',
      { timeoutMs: 3_000, what: 'the VirtualService written after the bad file to apply' });
  } finally {
    await m.proxy.stop();
  }
});

test('a VirtualService to a missing subset is held back and applies when the DestinationRule arrives', async () => {
  const m = await startProxy((ports) => {
    const files = echoMeshFiles(ports);
    delete files['destination-rule.yaml'];
    files['virtual-service.yaml'] = echoRouteTo('v1');
    return files;
  });
  try {
    const dump = await configDump(m.admin);
    const held = dump.config_held_back.join('\n');
    assert.match(held, /error\[IST0101\]: .*virtual-service\.yaml:\d+:\d+: VirtualService\/default\/echo: .*"echo\.mesh\.local\+v1"; held back: not applied/);
    assert.equal(await metric(m.admin, 'sluice_config_held_back_resources'), 1);
    // Held back, so the service's default route spreads over both endpoints: no 503.
    const seen = new Set();
    for (let i = 0; i < 6; ++i) {
      const r = await e2e.proxyRequest(m.listen, url(`/before/${i}`));
      assert.equal(r.status, 200, describeResponse(r));
      seen.add(e2e.who(r));
    }
    assert.deepEqual([...seen].sort(), ['v1', 'v2']);

    e2e.writeAtomic(m.dir, 'destination-rule.yaml', echoMeshFiles({ v1Port: m.v1.port, v2Port: m.v2.port })['destination-rule.yaml']);
    await e2e.waitFor(async () => (await configDump(m.admin)).config_held_back.length === 0,
      { timeoutMs: 3_000, what: 'the held-back VirtualService to apply once the DestinationRule exists' });
    for (let i = 0; i < 6; ++i) {
      const r = await e2e.proxyRequest(m.listen, url(`/after/${i}`));
      assert.equal(e2e.who(r), 'v1', describeResponse(r));
    }

    // An edit to a subset nothing defines: the last good version (v1) keeps serving.
    e2e.writeAtomic(m.dir, 'virtual-service.yaml', echoRouteTo('v9'));
    await e2e.waitFor(async () => /echo\.mesh\.local\+v9.*last good version/.test((await configDump(m.admin)).config_held_back.join('\n')),
      { timeoutMs: 3_000, what: 'the edit to subset v9 to be held back' });
    for (let i = 0; i < 6; ++i) {
      const r = await e2e.proxyRequest(m.listen, url(`/edited/${i}`));
      assert.equal(r.status, 200, describeResponse(r));
      assert.equal(e2e.who(r), 'v1', describeResponse(r));
    }
    assert.match(m.proxy.stderr, /IST0101.*held back/, 'the hold is logged');
  } finally {
    await m.proxy.stop();
  }
});

test('100 alternating bad and good writes under load: 0 failed requests', async () => {
  const m = await startProxy((ports) => ({ ...echoMeshFiles(ports), 'virtual-service.yaml': echoRouteTo('v1') }));
  const agent = e2e.keepAliveAgent(4);
  let writing = true;
  let sent = 0;
  const failures = [];
  const deadline = Date.now() + 60_000;
  const loop = async () => {
    while (writing && sent < 20_000 && Date.now() < deadline) {
      ++sent;
      try {
        const r = await e2e.proxyRequest(m.listen, url(`/load/${sent}`), { agent, timeoutMs: 3_000 });
        if (r.status !== 200 || !['v1', 'v2'].includes(e2e.who(r))) failures.push(describeResponse(r));
      } catch (err) {
        failures.push(String(err));
      }
    }
  };
  const load = Promise.all([loop(), loop(), loop(), loop()]);
  try {
    const syntaxError = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [${ECHO_HOST}]
  http: [{route: [{destination: {host: ${ECHO_HOST}, subset: v2}}]
`;
    for (let i = 0; i < 100; ++i) {
      const good = i % 2 === 1;
      // Bad writes alternate between a syntax error and a subset no DestinationRule defines.
      const text = good ? echoRouteTo(i % 4 === 1 ? 'v2' : 'v1') : (i % 4 === 0 ? syntaxError : echoRouteTo('v9'));
      e2e.writeAtomic(m.dir, 'virtual-service.yaml', text);
      await e2e.waitFor(async () => {
        const d = await configDump(m.admin);
        if (good) return d.config_errors.length === 0 && d.config_held_back.length === 0;
        return i % 4 === 0 ? d.config_errors.length > 0 : d.config_held_back.length > 0;
      }, { timeoutMs: 3_000, intervalMs: 10, what: `write ${i} (${good ? 'good' : 'bad'}) to be processed` });
    }
  } finally {
    writing = false;
    await load;
    agent.destroy();
    await m.proxy.stop();
  }
  assert.ok(sent > 100, `the load kept going during the writes (${sent} requests)`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${sent} requests failed`);
});
