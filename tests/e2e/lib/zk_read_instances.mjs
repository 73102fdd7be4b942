// Run inside a pod (`node zk_read_instances.mjs '<json>'`): what a ZooKeeper client there reads
// of one service's Curator registrations, as Spring Cloud Zookeeper's queryForInstances does
// (getChildren of <root>/<name>, getData of each child), with node-zookeeper-client. Spec:
// { "connect": "HOST:PORT", "name": "service-provider", "root": "/services" }. Output (stdout, one
// JSON line): { "instances": [ <parsed record>, ... ] } or { "error": "..." }.
import zookeeper from 'node-zookeeper-client';

const spec = JSON.parse(process.argv[2] ?? '{}');
const root = spec.root ?? '/services';
const client = zookeeper.createClient(spec.connect, { sessionTimeout: 10_000, spinDelay: 200, retries: 1 });
const done = (r) => {
  process.stdout.write(`${JSON.stringify(r)}\n`);
  client.close();
  process.exit(0);
};
setTimeout(() => done({ error: `no answer from ${spec.connect} within 10 s` }), 10_000).unref();
const call = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
client.once('connected', async () => {
  try {
    const dir = `${root}/${spec.name}`;
    const ids = await call((cb) => client.getChildren(dir, cb));
    const instances = [];
    for (const id of ids.sort()) {
      const data = await call((cb) => client.getData(`${dir}/${id}`, cb));
      instances.push(JSON.parse(data.toString()));
    }
    done({ instances });
  } catch (e) {
    done({ error: e.message });
  }
});
client.connect();
