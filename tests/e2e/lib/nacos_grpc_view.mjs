// Run inside a pod (node lib/nacos_grpc_view.mjs '{"address":"10.0.130.2:9848","service":"s"}'):
// what a Nacos gRPC client in that pod is told about a service, through the pod's interception.
// Subscribes and queries over one connection, as nacos-client does, and prints one JSON line:
// { connectionId, subscribe: hosts[], query: hosts[] }.
// With "probeIp": a second connection registers an instance of `service` at that address after
// the subscription, and the output adds push: the hosts of the NotifySubscriberRequest that
// followed (pushed on the bi-directional stream).
import { NacosGrpcClient } from './nacos_grpc.mjs';

const { address, service, group = 'DEFAULT_GROUP', probeIp } = JSON.parse(process.argv[2]);
const naming = { namespace: 'public', serviceName: service, groupName: group };
const client = await NacosGrpcClient.connect(address, { timeoutMs: 5_000 });
let registrar;
try {
  const subscribe = await client.request('SubscribeServiceRequest',
    { ...naming, subscribe: true, clusters: '' });
  const query = await client.request('ServiceQueryRequest',
    { ...naming, cluster: '', healthyOnly: false, udpPort: 0 });
  const hosts = (m) => {
    if (m.body.resultCode !== 200) throw new Error(`${m.type}: ${JSON.stringify(m.body)}`);
    return m.body.serviceInfo?.hosts ?? [];
  };
  const out = { connectionId: client.connectionId, subscribe: hosts(subscribe), query: hosts(query) };
  if (probeIp) {
    registrar = await NacosGrpcClient.connect(address, { timeoutMs: 5_000 });
    const r = await registrar.request('InstanceRequest', { ...naming, type: 'registerInstance',
      instance: { ip: probeIp, port: 9999, weight: 1.0, healthy: true, enabled: true, ephemeral: true,
        clusterName: 'DEFAULT', metadata: { probe: 'yes' } } });
    if (r.body.resultCode !== 200) throw new Error(`register: ${JSON.stringify(r.body)}`);
    const pushed = (p) => p.type === 'NotifySubscriberRequest' && p.body.serviceInfo?.hosts?.length > 0;
    await client.waitForPush(pushed, { timeoutMs: 10_000, what: 'the push of the new instance' });
    out.push = client.pushes.find(pushed).body.serviceInfo.hosts;
  }
  console.log(JSON.stringify(out));
} finally {
  registrar?.close();
  client.close();
}
process.exit(0);
