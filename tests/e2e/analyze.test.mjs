// `sluice analyze` as a user runs it: exit codes, file:line in messages, JSON output.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.SLUICE_BIN;
const src = process.env.SLUICE_SOURCE_DIR;
const work = mkdtempSync(join(tmpdir(), 'sluice-analyze-test-'));
after(() => rmSync(work, { recursive: true, force: true }));

function analyze(args) {
  const r = spawnSync(bin, ['analyze', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}\n${r.stderr}` };
}

const badSubset = `apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: service-provider
spec:
  host: service-provider
  subsets:
  - name: v1
    labels:
      label: v1
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata:
  name: service-provider
spec:
  hosts:
  - service-provider
  http:
  - route:
    - destination:
        host: service-provider
        subset: v3
`;

test('the seed directory analyzes clean (exit 0)', () => {
  const r = analyze(['-f', join(src, 'examples/seed')]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.stdout, /^0 errors, \d+ warnings? in 7 resources from 7 files$/m);
});

test('a VirtualService routing to an undefined subset exits 1 naming file:line and subset', () => {
  const file = join(work, 'bad-subset.yaml');
  writeFileSync(file, badSubset);
  const r = analyze(['-f', file]);
  assert.equal(r.status, 1, r.out);
  assert.ok(r.stdout.includes(`${file}:23:17:`), r.out);
  assert.match(r.stdout,
    /Referenced host\+subset in destinationrule not found: "service-provider\+v3"/);
  assert.match(r.stdout, /^1 error, 0 warnings in 2 resources from 1 file$/m);
});

test('a missing file is a usage error (exit 2)', () => {
  const missing = join(work, 'does-not-exist.yaml');
  const r = analyze(['-f', missing]);
  assert.equal(r.status, 2, r.out);
  assert.ok(r.stderr.includes(missing), r.out);
});

test('missing -f is a usage error (exit 2)', () => {
  const r = analyze([]);
  assert.equal(r.status, 2, r.out);
});

test('--output json parses and carries the diagnostics', () => {
  const file = join(work, 'bad-subset-json.yaml');
  writeFileSync(file, badSubset);
  const r = analyze(['-f', file, '--output', 'json']);
  assert.equal(r.status, 1, r.out);
  const report = JSON.parse(r.stdout);
  assert.equal(report.summary.errors, 1);
  assert.equal(report.diagnostics.length, 1);
  const d = report.diagnostics[0];
  assert.equal(d.severity, 'error');
  assert.equal(d.file, file);
  assert.equal(d.line, 23);
  assert.equal(d.kind, 'VirtualService');
  assert.equal(d.namespace, 'default');
  assert.equal(d.name, 'service-provider');
  assert.equal(d.field, 'spec.http[0].route[0].destination.subset');
  assert.equal(d.code, 'IST0101');

  const seed = analyze(['-f', join(src, 'examples/seed'), '-o', 'json']);
  assert.equal(seed.status, 0, seed.out);
  assert.equal(JSON.parse(seed.stdout).summary.errors, 0);
});

test('junk input is reported, not crashed on', () => {
  const file = join(work, 'junk.yaml');
  writeFileSync(file, Buffer.from([0x61, 0x3a, 0x20, 0x00, 0xff, 0x0a]));
  const r = analyze(['-f', file]);
  assert.equal(r.status, 1, r.out);
  assert.match(r.stdout, /junk\.yaml:1:\d+: control character 0x00/);
});
