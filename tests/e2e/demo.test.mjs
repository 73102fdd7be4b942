// `make demo` as a test: the seed's scenario must run end to end and exit 0, printing the
// before/after behaviour the seed describes.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = process.env.SLUICE_BIN;
const src = process.env.SLUICE_SOURCE_DIR;

test('sluice demo reproduces the seed: round robin before, /echo/hello->v1 and rest->v2 after', () => {
  const work = mkdtempSync(join(tmpdir(), 'sluice-demo-test-'));
  try {
    const r = spawnSync(bin, ['demo', '--examples', join(src, 'examples/seed'), '--work-dir', work],
      { encoding: 'utf8', timeout: 120_000 });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `demo failed:\n${out}`);
    assert.match(out, /RESULT: PASS/);
    // Before: both versions answered /echo/world.
    assert.match(out, /Hello Nacos Discovery From v1world/);
    assert.match(out, /Hello Nacos Discovery From v2world/);
    // After: the table shows hello all v1 and world all v2.
    assert.match(out, /after\s+\/echo\/hello\s+8\s+0\s+0\s+v1 only\s+ok/);
    assert.match(out, /after\s+\/echo\/world\s+0\s+8\s+0\s+v2 only\s+ok/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
