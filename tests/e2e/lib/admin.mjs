// Reading a sluice process's admin API (/clusters) in tests.
import assert from 'node:assert/strict';
import { request, waitFor } from './net.mjs';

// GET /clusters?format=json on the admin port, parsed.
export async function clustersJson(adminPort, host = '127.0.0.1') {
  const r = await request({ host, port: adminPort, path: '/clusters?format=json' });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

// The endpoints of `service` in a /clusters?format=json answer, over its default and subset
// clusters, once each.
export function providerEndpoints(clusters, service = 'service-provider') {
  const byAddress = new Map();
  for (const cluster of clusters.clusters.filter((x) => x.name.includes(service))) {
    for (const e of cluster.endpoints) byAddress.set(e.address, e);
  }
  return [...byAddress.values()];
}

// A registry that starts answering garbage, as a sidecar must take it: once the sidecar has the
// one endpoint of the good answers (`address`), `breakRegistry()` is called; then /clusters
// reports the registry unreachable with a last error matching every one of `errorPatterns`, and
// that endpoint keeps serving. `sidecar`: startRegistrySidecar()'s handle.
export async function assertBrokenRegistryKeepsEndpoint(sidecar, { breakRegistry, errorPatterns, address }) {
  await waitFor(async () => providerEndpoints(await sidecar.clusters()).length === 1,
    { timeoutMs: 5_000, what: 'the endpoint from the good answer' });
  breakRegistry();
  let status;
  await waitFor(async () => {
    status = (await sidecar.clusters()).registries[0];
    return status.reachable === false && status.last_error !== '';
  }, { timeoutMs: 5_000, what: 'the registry error on /clusters' });
  for (const pattern of errorPatterns) assert.match(status.last_error, pattern);
  const eps = providerEndpoints(await sidecar.clusters());
  assert.equal(eps.length, 1, 'the last good endpoint stays');
  assert.equal(eps[0].address, address);
}
