// `sluice demo` with the Spring Cloud apps as a test: runs the demo to its end (bounded) and checks
// the seed's table: round robin before the rules, /echo/hello -> v1 and the rest -> v2 after.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sluiceBin, sourceDir } from './proc.mjs';
import { makeTempDir } from './files.mjs';
import { springAppsDir } from './spring.mjs';

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

// Runs `sluice demo <args> --examples examples/seed --spring-apps ... --work-dir <temp>`, asserts
// exit 0 and the seed's three rows, and returns the demo's output for further checks.
export async function runSpringDemo(args, { workPrefix = 'sluice-demo-', timeoutMs = 400_000 } = {}) {
  const work = makeTempDir(workPrefix);
  const r = await run(sluiceBin(), ['demo', ...args, '--examples', join(sourceDir(), 'examples/seed'),
    '--spring-apps', springAppsDir(), '--work-dir', work], timeoutMs);
  assert.equal(r.code, 0, `demo failed:\n${r.out}`);
  assert.match(r.out, /RESULT: PASS/);
  assert.match(r.out, /before\s+\/echo\/world\s+4\s+4\s+0\s+v1 and v2 alternate\s+ok/);
  assert.match(r.out, /after\s+\/echo\/hello\s+8\s+0\s+0\s+v1 only\s+ok/);
  assert.match(r.out, /after\s+\/echo\/world\s+0\s+8\s+0\s+v2 only\s+ok/);
  return r.out;
}
