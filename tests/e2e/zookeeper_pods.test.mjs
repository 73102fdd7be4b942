// The seed's scenario with Spring Cloud Zookeeper applications (examples/spring-cloud,
// demo-zookeeper) in "pods" (network namespaces, lib/pods.mjs) with transparent sidecars, against
// Debian's real ZooKeeper in its own pod. The applications know nothing about the mesh; the
// sidecars read the same ZooKeeper (`--registry zookeeper://...`) and, with the seed's
// any-spring-cloud-support.yaml (method 1, reverse DNS), map the provider pod addresses the
// consumer dials back to service-provider:
//   before the routing rules: the consumer alternates v1/v2 (through the mesh);
//   after the seed's DestinationRule + VirtualService: /echo/hello -> v1 only, the rest -> v2.
// Two start-up orders: (a) the method's config written before anything starts, (b) everything
// running with empty config dirs (sidecars pass traffic through), then the config applied.
// Skips (saying why) without root / network namespaces, built Spring apps or ZooKeeper.
// The skeleton is lib/seed_scenario.mjs; this file says how ZooKeeper and its apps start.
import { after } from 'node:test';
import * as e2e from './lib/index.mjs';
import { CONSUMER_PORT, PROVIDER_PORT, seedScenario } from './lib/seed_scenario.mjs';
import { springSkipReason, startDemoApp } from './lib/spring.mjs';
import { startZooKeeper, zookeeperSkipReason } from './lib/zookeeper.mjs';

after(e2e.cleanupAll);

seedScenario({
  title: 'Spring Cloud Zookeeper in pods',
  tag: 'z',
  label: 'zookeeper pods',
  skipReason: () => springSkipReason(['demo-zookeeper']) ?? zookeeperSkipReason(),
  registryPod: 'zookeeper',
  gateway: true,
  startRegistry: async (topo) => {
    const zk = await startZooKeeper({ pod: topo.registryPod });
    return { url: `zookeeper://${zk.connectString}`, connect: zk.connectString };
  },
  // The apps reach ZooKeeper through their pods' interception (relayed as TCP by the sidecars).
  startApps: async (topo, { connect }) => {
    const [v1, v2, consumer] = await Promise.all([
      startDemoApp('zookeeper', { role: 'provider', version: 'v1', registry: connect, pod: topo.v1,
        props: { 'server.port': PROVIDER_PORT } }),
      startDemoApp('zookeeper', { role: 'provider', version: 'v2', registry: connect, pod: topo.v2,
        props: { 'server.port': PROVIDER_PORT } }),
      // Registered as `consumer`: the seed's gateway VirtualService routes to consumer:8080.
      startDemoApp('zookeeper', { role: 'consumer', registry: connect, pod: topo.consumer,
        props: { 'server.port': CONSUMER_PORT, 'spring.application.name': 'consumer' } }),
    ]);
    return { v1, v2, consumer };
  },
});
