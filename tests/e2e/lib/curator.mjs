// Curator service-discovery registrations made with the `node-zookeeper-client` npm package, in
// the layout and JSON Spring Cloud Zookeeper writes: <root>/<service>/<id>, EPHEMERAL by default
// (the registration lives as long as the client's session), parents created as needed.
//
//   const zk = await connectZooKeeper('127.0.0.1:2181');
//   const v1 = await zk.register({ name: 'service-provider', address: '127.0.0.1', port: 8070,
//                                  metadata: { label: 'v1' } });
//   await v1.deregister();
//   await zk.close();
import { randomUUID } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';

// The data of one instance znode, as Curator's JsonInstanceSerializer writes a Spring Cloud
// Zookeeper registration (compatible mode: no "enabled").
export function curatorInstanceJson({ name, id, address, port, metadata = {} }) {
  return JSON.stringify({
    name, id, address, port, sslPort: null,
    payload: {
      '@class': 'org.springframework.cloud.zookeeper.discovery.ZookeeperInstance',
      id: name, name, metadata: { instance_status: 'UP', ...metadata },
    },
    registrationTimeUTC: Date.now(),
    serviceType: 'DYNAMIC',
    uriSpec: { parts: [{ value: 'scheme', variable: true }, { value: '://', variable: false },
      { value: 'address', variable: true }, { value: ':', variable: false },
      { value: 'port', variable: true }] },
  });
}

// One client operation, bounded: the client queues operations while it reconnects and never
// answers them if its session is gone.
function call(what, fn, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs);
    fn((err, value) => {
      clearTimeout(timer);
      if (err) reject(err); else resolve(value);
    });
  });
}

// Connects (bounded by `timeoutMs`); `sessionTimeout` is what the client asks for (the server
// clamps it to 2..20 ticks). Resolves a small promise API over the client.
export async function connectZooKeeper(connectString, { sessionTimeout = 20_000, timeoutMs = 15_000 } = {}) {
  const client = zookeeper.createClient(connectString, { sessionTimeout, spinDelay: 200, retries: 1 });
  const states = [];
  client.on('state', (state) => states.push(String(state)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`no ZooKeeper session with ${connectString} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once('connected', () => { clearTimeout(timer); resolve(); });
    client.connect();
  });
  const api = {
    client,
    sessionId: () => client.getSessionId().toString('hex'),
    // Every state the client went through ('SYNC_CONNECTED', 'DISCONNECTED', 'EXPIRED', ...).
    states,
    mkdirp: (path) => call(`mkdirp ${path}`, (cb) => client.mkdirp(path, cb)),
    create: (path, data, mode = zookeeper.CreateMode.PERSISTENT) =>
      call(`create ${path}`, (cb) => client.create(path, Buffer.from(data), mode, cb)),
    setData: (path, data) =>
      call(`setData ${path}`, (cb) => client.setData(path, Buffer.from(data), -1, cb)),
    remove: (path) => call(`remove ${path}`, (cb) => client.remove(path, -1, cb)),
    // Registers one instance; `data` replaces the Curator JSON (for bad-payload tests).
    async register({ root = '/services', name, address, port, metadata = {}, id = randomUUID(),
      ephemeral = true, data } = {}) {
      await api.mkdirp(`${root}/${name}`);
      const path = `${root}/${name}/${id}`;
      const json = data ?? curatorInstanceJson({ name, id, address, port, metadata });
      await api.create(path, json,
        ephemeral ? zookeeper.CreateMode.EPHEMERAL : zookeeper.CreateMode.PERSISTENT);
      return { path, id, deregister: () => api.remove(path) };
    },
    close: () => new Promise((resolve) => {
      client.once('disconnected', resolve);
      client.close();
      setTimeout(resolve, 2_000).unref();
    }),
  };
  return api;
}
