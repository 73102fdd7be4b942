// `make demo REGISTRY=zookeeper` as a test: Debian's ZooKeeper (foreground, temp data dir,
// AdminServer off, a free port), the Spring Cloud Zookeeper flavour of the seed's apps
// (examples/spring-cloud) behind Sluice's sidecar and gateway watching `zookeeper://`: round
// robin before the rules, /echo/hello -> v1 and the rest -> v2 after them, exit 0.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as e2e from './lib/index.mjs';
import { springSkipReason } from './lib/spring.mjs';
import { zookeeperSkipReason } from './lib/zookeeper.mjs';
import { runSpringDemo } from './lib/demo_run.mjs';

after(e2e.cleanupAll);

test('sluice demo --registry zookeeper reproduces the seed with Spring Cloud Zookeeper apps on Debian\'s ZooKeeper', async (t) => {
  const skip = springSkipReason(['demo-zookeeper']) ?? zookeeperSkipReason();
  if (skip) { t.skip(skip); return; }
  const out = await runSpringDemo(['--registry', 'zookeeper'], { workPrefix: 'sluice-zk-demo-' });
  assert.match(out, /Debian's ZooKeeper 3\.8 on 127\.0\.0\.1:\d+/);
  assert.match(out, /registry zookeeper:\/\/127\.0\.0\.1:\d+/);
});
