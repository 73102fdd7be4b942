// `make demo APPS=spring` as a test: the seed's scenario with the real Spring Cloud apps
// (examples/spring-cloud: the real Eureka server, Eureka-flavour provider v1/v2 and consumer JVMs)
// behind Sluice's sidecar and gateway must run end to end and exit 0: round robin before the
// rules, /echo/hello -> v1 and the rest -> v2 after them.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { runSpringDemo } from './lib/demo_run.mjs';

after(e2e.cleanupAll);

test('sluice demo --apps spring reproduces the seed with real Spring Cloud apps on Eureka', async (t) => {
  const skip = e2e.springSkipReason(['eureka-server', 'demo-eureka']);
  if (skip) { t.skip(skip); return; }
  const out = await runSpringDemo(['--apps', 'spring'], { workPrefix: 'sluice-spring-demo-' });
  assert.match(out, /real Eureka server on/);
});
