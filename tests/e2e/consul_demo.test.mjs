// `make demo REGISTRY=consul` as a test: `sluice registry --protocol consul` (the embedded agent,
// catalog in the work dir, a free port), the Spring Cloud Consul flavour of the seed's apps
// (examples/spring-cloud) behind Sluice's sidecar and gateway watching `consul://`: round robin
// before the rules, /echo/hello -> v1 and the rest -> v2 after them, exit 0.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { springSkipReason } from './lib/spring.mjs';
import { runSpringDemo } from './lib/demo_run.mjs';

after(e2e.cleanupAll);

test('sluice demo --registry consul reproduces the seed with Spring Cloud Consul apps on the embedded agent', async (t) => {
  const skip = springSkipReason(['demo-consul']);
  if (skip) { t.skip(skip); return; }
  const out = await runSpringDemo(['--registry', 'consul'], { workPrefix: 'sluice-consul-demo-' });
  assert.match(out, /sluice registry --protocol consul on 127\.0\.0\.1:\d+/);
  assert.match(out, /registry consul:\/\/127\.0\.0\.1:\d+/);
});
