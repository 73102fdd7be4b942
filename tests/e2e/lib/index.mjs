// Shared end-to-end helpers. Typical use:
//
//   import { after } from 'node:test';
//   import * as e2e from './lib/index.mjs';
//   after(e2e.cleanupAll);
//   const up = await e2e.startUpstream('v1');
//   const dir = e2e.makeTempDir();
//   e2e.writeAtomic(dir, 'se.yaml', e2e.serviceEntry({ ... }));
//   const proxy = await e2e.startSluice(['proxy', '--config', dir, '--listen', '127.0.0.1:0',
//                                        '--admin', '127.0.0.1:0']);
//   const { listen, admin } = e2e.parseProxyReady(proxy);
//   const r = await e2e.proxyRequest(listen, 'http://svc.local/x');
//
// Every helper is bounded in time; cleanupAll() stops children, upstreams and temp dirs.
export * from './proc.mjs';
export * from './net.mjs';
export * from './upstream.mjs';
export * from './files.mjs';
export * from './mesh.mjs';
export * from './spring.mjs';
export * from './zookeeper.mjs';
export * from './admin.mjs';
export * from './curl.mjs';

import { stopAll } from './proc.mjs';
import { closeAllUpstreams } from './upstream.mjs';
import { removeTempDirs, makeTempDir } from './files.mjs';
import { startSluice } from './proc.mjs';
import { clustersJson } from './admin.mjs';

export async function cleanupAll() {
  await stopAll();
  await closeAllUpstreams();
  removeTempDirs();
}

function hostPort(text) {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(text.slice(i + 1)) };
}

// Reads `sluice proxy ready: listen H:P admin H:P` into { listen, admin } ({ host, port } each).
export function parseProxyReady(proc) {
  const m = proc.stdout.match(/sluice proxy ready: listen (\S+) admin (\S+)/);
  if (!m) throw new Error(`no proxy readiness line in:\n${proc.stdout}`);
  return { listen: hostPort(m[1]), admin: hostPort(m[2]) };
}

// Reads `sluice gateway ready: listen H:P[,H:P...] admin H:P` into { listeners, admin }.
export function parseGatewayReady(proc) {
  const m = proc.stdout.match(/sluice gateway ready: listen (\S+) admin (\S+)/);
  if (!m) throw new Error(`no gateway readiness line in:\n${proc.stdout}`);
  return { listeners: m[1].split(',').map(hostPort), admin: hostPort(m[2]) };
}

// A one-worker `sluice proxy` with an empty config directory watching `registryUrl`:
// { listen, admin, configDir, proc, clusters() (its /clusters?format=json, parsed) }.
export async function startRegistrySidecar(registryUrl, { prefix = 'sluice-mesh-' } = {}) {
  const configDir = makeTempDir(prefix);
  const proc = await startSluice(['proxy', '--config', configDir, '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--registry', registryUrl, '--concurrency', '1'], { name: 'sidecar' });
  const ready = parseProxyReady(proc);
  return { ...ready, configDir, proc, clusters: () => clustersJson(ready.admin.port) };
}
