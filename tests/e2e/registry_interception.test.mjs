// Method 2 beyond Nacos, on the wire: a sidecar (`sluice proxy`, explicit-proxy mode, loopback)
// with examples/registry-interception's Eureka and Consul filters (their portNumber set to the
// embedded registries' ports) rewrites what an application fetches through it:
//   - Eureka (`sluice registry --protocol eureka`): full and delta /eureka/apps, JSON and XML,
//     hostName/ipAddr := service-provider, port/status/metadata kept, apps__hashcode consistent;
//   - Consul (`sluice registry --protocol consul`, instances registered with the npm `consul`
//     client): /v1/health/service and /v1/catalog/service addresses := service-provider,
//     X-Consul-Index passed through, a blocking query blocks for its wait and wakes on a change;
//   - other paths (catalog/services, the agent's own API) and direct fetches are untouched;
//   - `sluice analyze` accepts the examples clean, and names the field of a Lua that handles a
//     registry path but rewrites nothing.
// The full scenario (apps calling by name, VirtualService routing) is in eureka_spring and
// consul_pods (pods with transparent sidecars, real Spring Cloud apps).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Consul from 'consul';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const READY = /sluice registry listening on (\S+):(\d+)\n/;
const DC = { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' };
const PODS = /10\.0\.0\.3[12]|10\.0\.0\.4[123]/;
// An instance address in Eureka's XML (instance ids keep the address: they are only ids).
const XML_ADDRESS = /<(hostName|ipAddr)>10\./;

function example(name) {
  return readFileSync(join(e2e.sourceDir(), 'examples/registry-interception', name), 'utf8');
}

let eureka;   // { port }
let consul;   // { port, client }
let proxy;    // { host, port }
let configDir;

function eurekaInstance(version, ip) {
  return {
    instanceId: `${ip}:service-provider:8070`, app: 'SERVICE-PROVIDER', hostName: ip, ipAddr: ip,
    port: { $: 8070, '@enabled': 'true' }, vipAddress: 'service-provider', status: 'UP',
    dataCenterInfo: DC, metadata: { label: version },
    leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
  };
}

async function startRegistry(protocol) {
  const proc = await e2e.startSluice(['registry', '--protocol', protocol, '--listen', '127.0.0.1:0'],
    { name: `sluice registry ${protocol}`, readyLine: READY });
  return { proc, port: Number(proc.ready[2]) };
}

before(async () => {
  [eureka, consul] = await Promise.all([startRegistry('eureka'), startRegistry('consul')]);
  for (const [version, ip] of [['v1', '10.0.0.31'], ['v2', '10.0.0.32']]) {
    const r = await e2e.request({ port: eureka.port, method: 'POST', path: '/eureka/apps/SERVICE-PROVIDER',
      body: JSON.stringify({ instance: eurekaInstance(version, ip) }), headers: { 'content-type': 'application/json' } });
    assert.equal(r.status, 204, r.body);
  }
  consul.client = new Consul({ host: '127.0.0.1', port: consul.port });
  for (const [version, ip] of [['v1', '10.0.0.41'], ['v2', '10.0.0.42']]) {
    await consul.client.agent.service.register({ name: 'service-provider', id: `provider-${version}`,
      address: ip, port: 8070, meta: { label: version }, check: { ttl: '60s' } });
    await consul.client.agent.check.pass(`service:provider-${version}`);
  }

  configDir = e2e.makeTempDir('sluice-registry-interception-');
  for (const f of ['external-eureka-svc.yaml', 'external-consul-svc.yaml']) e2e.writeAtomic(configDir, f, example(f));
  e2e.writeAtomic(configDir, 'eureka-subscribe-lua.yaml',
    example('eureka-subscribe-lua.yaml').replace('portNumber: 8761', `portNumber: ${eureka.port}`));
  e2e.writeAtomic(configDir, 'consul-subscribe-lua.yaml',
    example('consul-subscribe-lua.yaml').replace('portNumber: 8500', `portNumber: ${consul.port}`));
  const sidecar = await e2e.startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0'], { name: 'sidecar' });
  const ready = e2e.parseProxyReady(sidecar);
  proxy = ready.listen;
  const dump = JSON.parse((await e2e.request({ port: ready.admin.port, path: '/config_dump' })).body);
  assert.deepEqual(dump.registry_interception.map((r) => [r.registry, r.port]).sort(),
    [['consul', consul.port], ['eureka', eureka.port]].sort());
});

const viaSidecar = (port, path, headers = {}) =>
  e2e.proxyRequest(proxy, `http://127.0.0.1:${port}${path}`, { headers: { 'accept-encoding': 'gzip', ...headers } });

test('Eureka full fetch through the sidecar, JSON: hostName/ipAddr are the service; port, status, metadata, hash code kept', async () => {
  const r = await viaSidecar(eureka.port, '/eureka/apps/', { accept: 'application/json' });
  assert.equal(r.status, 200, r.body);
  assert.equal(r.headers['content-encoding'], undefined);
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body));
  const apps = JSON.parse(r.body).applications;
  const instances = [[apps.application].flat()[0].instance].flat();
  assert.deepEqual(instances.map((i) => [i.hostName, i.ipAddr, i.status]).sort(),
    [['service-provider', 'service-provider', 'UP'], ['service-provider', 'service-provider', 'UP']]);
  assert.deepEqual(instances.map((i) => i.metadata.label).sort(), ['v1', 'v2']);
  assert.deepEqual(instances.map((i) => Number(i.port.$ ?? i.port)), [8070, 8070]);
  assert.deepEqual(instances.map((i) => i.instanceId).sort(), ['10.0.0.31:service-provider:8070', '10.0.0.32:service-provider:8070']);
  assert.equal(apps.apps__hashcode, 'UP_2_');
  // Fetched directly, the registry still tells the truth.
  const direct = await e2e.request({ port: eureka.port, path: '/eureka/apps/', headers: { accept: 'application/json' } });
  assert.match(direct.body, PODS);
});

test('Eureka through the sidecar, XML and delta: rewritten too', async () => {
  const xml = await viaSidecar(eureka.port, '/eureka/apps/', { accept: 'application/xml' });
  assert.equal(xml.status, 200, xml.body);
  assert.doesNotMatch(xml.body, XML_ADDRESS);
  assert.equal(xml.body.match(/<hostName>service-provider<\/hostName>/g)?.length, 2, xml.body);
  assert.equal(xml.body.match(/<ipAddr>service-provider<\/ipAddr>/g)?.length, 2, xml.body);
  assert.match(xml.body, /<apps__hashcode>UP_2_<\/apps__hashcode>/);
  // The registrations are recent: the delta carries both, rewritten, with the registry's hash.
  const delta = await viaSidecar(eureka.port, '/eureka/apps/delta', { accept: 'application/json' });
  assert.equal(delta.status, 200, delta.body);
  const d = JSON.parse(delta.body).applications;
  assert.equal(d.apps__hashcode, 'UP_2_');
  assert.deepEqual([[d.application].flat()[0].instance].flat().map((i) => [i.hostName, i.ipAddr]),
    [['service-provider', 'service-provider'], ['service-provider', 'service-provider']]);
});

test('Consul health and catalog lookups through the sidecar: addresses are the service; X-Consul-Index passes', async () => {
  const health = await viaSidecar(consul.port, '/v1/health/service/service-provider?passing=true');
  assert.equal(health.status, 200, health.body);
  assert.equal(health.headers['content-encoding'], undefined);
  assert.doesNotMatch(health.body, PODS);
  const entries = JSON.parse(health.body);
  assert.deepEqual(entries.map((e) => [e.Service.Address, e.Node.Address, e.Service.Port]),
    [['service-provider', 'service-provider', 8070], ['service-provider', 'service-provider', 8070]]);
  assert.deepEqual(entries.map((e) => e.Service.Meta.label).sort(), ['v1', 'v2']);
  const direct = await e2e.request({ port: consul.port, path: '/v1/health/service/service-provider?passing=true' });
  assert.equal(health.headers['x-consul-index'], direct.headers['x-consul-index']);
  assert.ok(Number(health.headers['x-consul-index']) >= 1);

  const catalog = await viaSidecar(consul.port, '/v1/catalog/service/service-provider');
  assert.equal(catalog.status, 200, catalog.body);
  assert.doesNotMatch(catalog.body, PODS);
  assert.deepEqual(JSON.parse(catalog.body).map((e) => [e.ServiceAddress, e.ServicePort]),
    [['service-provider', 8070], ['service-provider', 8070]]);

  // Not instance lookups: untouched.
  const services = await viaSidecar(consul.port, '/v1/catalog/services');
  const servicesDirect = await e2e.request({ port: consul.port, path: '/v1/catalog/services' });
  assert.deepEqual(JSON.parse(services.body), JSON.parse(servicesDirect.body));
  assert.ok('service-provider' in JSON.parse(services.body));
  const agentServices = await viaSidecar(consul.port, '/v1/agent/services');
  assert.match(agentServices.body, PODS);
});

test('Consul blocking query through the sidecar: waits out its wait, wakes on a change, rewritten', async () => {
  const first = await viaSidecar(consul.port, '/v1/health/service/service-provider?passing=true');
  const index = Number(first.headers['x-consul-index']);
  const started = Date.now();
  const idle = await viaSidecar(consul.port, `/v1/health/service/service-provider?passing=true&index=${index}&wait=1s`);
  const took = Date.now() - started;
  assert.ok(took >= 900, `answered after ${took} ms, before its 1 s wait`);
  assert.equal(Number(idle.headers['x-consul-index']), index);

  const woken = viaSidecar(consul.port, `/v1/health/service/service-provider?passing=true&index=${index}&wait=20s`);
  const changed = Date.now();
  await consul.client.agent.service.register({ name: 'service-provider', id: 'provider-v3',
    address: '10.0.0.43', port: 8071, meta: { label: 'v3' }, check: { ttl: '60s' } });
  await consul.client.agent.check.pass('service:provider-v3');
  const r = await woken;
  const wokeAfter = Date.now() - changed;
  console.log(`# blocking query through the sidecar woke ${wokeAfter} ms after the change`);
  assert.ok(wokeAfter < 5_000, `woke after ${wokeAfter} ms`);
  assert.ok(Number(r.headers['x-consul-index']) > index);
  assert.doesNotMatch(r.body, PODS);
  // The wake-up may come with the registration (check still critical) or after the pass.
  const later = await viaSidecar(consul.port, '/v1/health/service/service-provider?passing=true');
  assert.deepEqual(JSON.parse(later.body).map((e) => e.Service.Address), ['service-provider', 'service-provider', 'service-provider']);
});

test('sluice analyze: the examples (Eureka, Consul, ZooKeeper) are clean; a Lua handling /eureka/apps that rewrites nothing is named', () => {
  const clean = spawnSync(e2e.sluiceBin(), ['analyze', '-f', join(e2e.sourceDir(), 'examples/registry-interception')],
    { encoding: 'utf8', timeout: 60_000 });
  assert.equal(clean.status, 0, `${clean.stdout}${clean.stderr}`);
  assert.match(clean.stdout, /0 errors, 0 warnings in 6 resources/);  // Eureka, Consul, ZooKeeper

  const dir = e2e.makeTempDir('sluice-ri-analyze-');
  e2e.writeAtomic(dir, 'bad.yaml', example('eureka-subscribe-lua.yaml')
    .replace(/instances = string\.gsub\(instances, '\("(hostName|ipAddr)[^\n]*\n/g, ''));
  const bad = spawnSync(e2e.sluiceBin(), ['analyze', '-f', dir], { encoding: 'utf8', timeout: 60_000 });
  const out = `${bad.stdout}${bad.stderr}`;
  assert.match(out, /spec\.configPatches\[0\]\.patch\.value\.typed_config\.inlineCode: patch not applied: the Lua handles eureka instance lists but its response side rewrites no hostName\/ipAddr field/, out);
});
