// The mesh page's model (ui/src/model.js) without a browser: versions from subsets and labels,
// rates over the window from two polls of /stats/json and /clusters?format=json, counter resets,
// and the histogram quantile the page shows as p99.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const src = process.env.SLUICE_SOURCE_DIR ?? fileURLToPath(new URL('../..', import.meta.url));
const model = await import(pathToFileURL(join(src, 'ui/src/model.js')).href);

const HOST = 'service-provider.default.svc.cluster.local';
const BOUNDS = [0.5, 1, 5, 10, 25];

function stats(t, series = []) {
  return {
    timestamp_ms: t, source_workload: 'consumer', mode: 'sidecar', duration_buckets_ms: BOUNDS,
    istio_request_duration_milliseconds: series.map(([version, code, count, buckets]) => ({
      labels: { destination_service: HOST, destination_version: version,
                response_code: String(code) },
      count, sum: 0, buckets,
    })),
    edges: [],
  };
}
function clusters(v1, v2, { subsets = false } = {}) {
  const ep = (address, label, requests) => ({ address, labels: { label }, healthy: true,
                                              ejected: false, requests, failures: 0 });
  const out = [{ name: `outbound|8070||${HOST}`,
                 endpoints: [ep('127.0.0.11:8070', 'v1', v1), ep('127.0.0.12:8070', 'v2', v2)] }];
  if (subsets) {
    out.push({ name: `outbound|8070|v1|${HOST}`, endpoints: [ep('127.0.0.11:8070', 'v1', 0)] });
  }
  return { clusters: out };
}

test('an endpoint is named by its subset, else a version label, else a label that looks like one', () => {
  assert.equal(model.versionFromLabels({ version: 'v3', label: 'v1' }), 'v3');
  assert.equal(model.versionFromLabels({ label: 'v1', zone: 'a' }), 'v1');
  assert.equal(model.versionFromLabels({ zone: 'a' }), '');
  assert.deepEqual(model.parseClusterName(`outbound|8070|v1|${HOST}`),
    { port: '8070', subset: 'v1', host: HOST });
  const s = model.sampleOf(stats(0), clusters(0, 0, { subsets: true }));
  const versions = [...s.endpoints.values()].map((e) => e.version).sort();
  assert.deepEqual(versions, ['v1', 'v1', 'v2']);
});

test('rates and the split come from the difference of two polls, divided by their time', () => {
  const a = model.sampleOf(stats(1000), clusters(10, 10));
  const b = model.sampleOf(stats(3000), clusters(30, 10));
  const m = model.buildModel([a, b], stats(3000), BOUNDS);
  const svc = m.services.get(HOST);
  assert.equal(svc.versions.get('v1').rps, 10);
  assert.equal(svc.versions.get('v2').rps, 0);
  assert.equal(svc.versions.get('v1').split, 1);
});

test('a counter that went down was reset: its new value is the growth', () => {
  const a = model.sampleOf(stats(0), clusters(50, 50));
  const b = model.sampleOf(stats(2000), clusters(4, 50));
  const m = model.buildModel([a, b], stats(2000), BOUNDS);
  assert.equal(m.services.get(HOST).versions.get('v1').rps, 2);
});

test('only the polls inside the window count, so a stopped edge reaches zero', () => {
  const old = model.sampleOf(stats(0), clusters(0, 0));
  const mid = model.sampleOf(stats(10_000), clusters(100, 100));
  const now = model.sampleOf(stats(12_000), clusters(100, 100));
  const m = model.buildModel([old, mid, now], stats(12_000), BOUNDS);
  assert.equal(m.services.get(HOST).versions.get('v2').rps, 0);
});

test('p99 and 5xx per service from the Istio series over the window', () => {
  const a = model.sampleOf(stats(0, [['v1', 200, 0, [0, 0, 0, 0, 0]]]), clusters(0, 0));
  const b = model.sampleOf(stats(1000, [['v1', 200, 99, [0, 0, 99, 99, 99]],
                                        ['v1', 503, 1, [0, 0, 0, 0, 1]]]), clusters(100, 0));
  const m = model.buildModel([a, b], stats(1000), BOUNDS);
  const svc = m.services.get(HOST);
  assert.equal(svc.requests, 100);
  assert.equal(svc.errorRate, 0.01);
  // 99 in (1, 5] and 1 in (10, 25]: the 99th of 100 lies at the top of (1, 5].
  assert.equal(svc.p99, 5);
  assert.equal(model.quantile(BOUNDS, [0, 0, 100, 100, 100], 100, 0.5), 3);
});

test('series that differ only in response_flags or request_protocol add up per version and code', () => {
  const withFlags = (t, a, b) => {
    const s = stats(t, [['v1', 503, a, [0, 0, 0, 0, a]], ['v1', 503, b, [0, 0, 0, b, b]]]);
    s.istio_request_duration_milliseconds[0].labels.response_flags = 'UF';
    s.istio_request_duration_milliseconds[1].labels.response_flags = 'UF,URX';
    return s;
  };
  const sample = model.sampleOf(withFlags(0, 2, 3), clusters(0, 0));
  const series = [...sample.series.values()];
  assert.equal(series.length, 1);
  assert.equal(series[0].count, 5);
  assert.deepEqual(series[0].buckets, [0, 0, 0, 3, 5]);
});
