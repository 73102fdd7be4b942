// `make demo` as a test: the seed's scenario must run end to end and exit 0, printing the
// before/after behaviour the seed describes.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './lib/net.mjs';

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

// Two demos at once would pick the same free ports and one of them would fail when its apps bind
// seconds later; a demo waits for the one that is still starting (a lock file in TMPDIR).
test('a second demo waits while another demo is starting its apps, then starts', async () => {
  const work = mkdtempSync(join(tmpdir(), 'sluice-demo-lock-test-'));
  const lockFile = join(work, 'sluice-demo-ports.lock');
  // Its own process group: flock's `sleep` inherits the lock, so both must go to release it.
  const holder = spawn('flock', ['--exclusive', lockFile, 'sleep', '120'],
    { stdio: 'ignore', detached: true });
  const release = (signal) => { try { process.kill(-holder.pid, signal); } catch {} };
  let demo;
  try {
    // Readiness: the lock is held once a non-blocking attempt fails.
    await waitFor(() => spawnSync('flock', ['--nonblock', lockFile, 'true']).status !== 0,
      { timeoutMs: 10_000, what: 'the test holding the demo lock' });
    let out = '';
    demo = spawn(bin, ['demo', '--examples', join(src, 'examples/seed'), '--work-dir',
      join(work, 'demo')], { env: { ...process.env, TMPDIR: work }, stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout.on('data', (b) => { out += b; });
    demo.stderr.on('data', (b) => { out += b; });
    await waitFor(() => /waiting for another sluice demo to finish starting/.test(out),
      { timeoutMs: 30_000, what: 'the demo to wait for the lock' });
    assert.doesNotMatch(out, /Nacos naming API on/, 'nothing may start while the lock is held');
    release('SIGTERM');
    await waitFor(() => /provider-v1 +127\.0\.0\.11:/.test(out),
      { timeoutMs: 60_000, what: 'the demo to start once the lock is free' });
  } finally {
    release('SIGKILL');
    if (demo && demo.exitCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  }
});
