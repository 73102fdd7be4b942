// The embedded Nacos server (`sluice registry`, HTTP v1 and gRPC) on loopback, for tests that
// need a registry to watch and a few instances in it.
import assert from 'node:assert/strict';
import { startSluice } from './proc.mjs';
import { request } from './net.mjs';

// What `sluice registry` prints once it listens (HTTP; gRPC unless --grpc-port off).
export const NACOS_READY = /sluice registry listening on (\S+):(\d+)\n/;
export const NACOS_GRPC_LINE = /sluice registry grpc on (\S+):(\d+)\n/;

// Starts `sluice registry --listen 127.0.0.1:0 ...flags`: { proc, port, grpcPort, addr, grpcAddr }.
export async function startNacosRegistry(flags = []) {
  const proc = await startSluice(['registry', '--listen', '127.0.0.1:0', ...flags],
    { name: 'sluice registry', readyLine: NACOS_READY });
  const grpc = proc.stdout.match(NACOS_GRPC_LINE);
  assert.ok(grpc, `no gRPC line in ${proc.stdout}`);
  const port = Number(proc.ready[2]);
  const grpcPort = Number(grpc[2]);
  return { proc, port, grpcPort, addr: `127.0.0.1:${port}`, grpcAddr: `127.0.0.1:${grpcPort}` };
}

// Registers service `name` at 127.0.0.1:`port` (v1 Open API, default namespace and group).
export async function registerLoopbackInstance(registry, name, port) {
  const r = await request({ port: registry.port, method: 'POST',
    path: `/nacos/v1/ns/instance?serviceName=${name}&ip=127.0.0.1&port=${port}` });
  assert.equal(r.status, 200, r.body);
}
