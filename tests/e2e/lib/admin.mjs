// Reading a sluice process's admin API (/clusters) in tests.
import assert from 'node:assert/strict';
import { request } from './net.mjs';

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
