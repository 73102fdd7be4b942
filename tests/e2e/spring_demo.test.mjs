// `make demo APPS=spring` as a test: the seed's scenario with the real Spring Cloud apps
// (examples/spring-cloud: the real Eureka server, Eureka-flavour provider v1/v2 and consumer JVMs)
// behind Sluice's sidecar and gateway must run end to end and exit 0: round robin before the
// rules, /echo/hello -> v1 and the rest -> v2 after them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as e2e from './lib/index.mjs';

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

test('sluice demo --apps spring reproduces the seed with real Spring Cloud apps on Eureka', async (t) => {
  const skip = e2e.springSkipReason(['eureka-server', 'demo-eureka']);
  if (skip) { t.skip(skip); return; }
  const work = e2e.makeTempDir('sluice-spring-demo-');
  const r = await run(e2e.sluiceBin(), ['demo', '--apps', 'spring', '--examples',
    join(e2e.sourceDir(), 'examples/seed'), '--spring-apps', e2e.springAppsDir(), '--work-dir', work],
  400_000);
  assert.equal(r.code, 0, `demo failed:\n${r.out}`);
  assert.match(r.out, /real Eureka server on/);
  assert.match(r.out, /RESULT: PASS/);
  assert.match(r.out, /before\s+\/echo\/world\s+4\s+4\s+0\s+v1 and v2 alternate\s+ok/);
  assert.match(r.out, /after\s+\/echo\/hello\s+8\s+0\s+0\s+v1 only\s+ok/);
  assert.match(r.out, /after\s+\/echo\/world\s+0\s+8\s+0\s+v2 only\s+ok/);
});
