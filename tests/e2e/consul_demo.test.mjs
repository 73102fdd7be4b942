// `make demo REGISTRY=consul` as a test: `sluice registry --protocol consul` (the embedded agent,
// catalog in the work dir, a free port), the Spring Cloud Consul flavour of the seed's apps
// (examples/spring-cloud) behind Sluice's sidecar and gateway watching `consul://`: round robin
// before the rules, /echo/hello -> v1 and the rest -> v2 after them, exit 0.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';
import { springSkipReason, springAppsDir } from './lib/spring.mjs';

after(e2e.cleanupAll);

function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    // SIGTERM: the demo stops every process it started before exiting.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

test('sluice demo --registry consul reproduces the seed with Spring Cloud Consul apps on the embedded agent', async (t) => {
  const skip = springSkipReason(['demo-consul']);
  if (skip) { t.skip(skip); return; }
  const work = e2e.makeTempDir('sluice-consul-demo-');
  const r = await run(e2e.sluiceBin(), ['demo', '--registry', 'consul', '--examples',
    join(e2e.sourceDir(), 'examples/seed'), '--spring-apps', springAppsDir(), '--work-dir', work],
  400_000);
  assert.equal(r.code, 0, `demo failed:\n${r.out}`);
  assert.match(r.out, /sluice registry --protocol consul on 127\.0\.0\.1:\d+/);
  assert.match(r.out, /registry consul:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.out, /RESULT: PASS/);
  assert.match(r.out, /before\s+\/echo\/world\s+4\s+4\s+0\s+v1 and v2 alternate\s+ok/);
  assert.match(r.out, /after\s+\/echo\/hello\s+8\s+0\s+0\s+v1 only\s+ok/);
  assert.match(r.out, /after\s+\/echo\/world\s+0\s+8\s+0\s+v2 only\s+ok/);
});
