#!/usr/bin/env node
// The gRPC upstream of bench/grpc_unary.mjs: echo.Echo/Say of tests/e2e/lib/echo.proto on
// @grpc/grpc-js (tests/e2e/node_modules), answering each call with its request, keeping nothing.
// Prints "listening PORT" once bound on 127.0.0.1.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'tests/e2e/package.json'));
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const definition = protoLoader.loadSync(join(root, 'tests/e2e/lib/echo.proto'),
  { keepCase: true, defaults: true });
const proto = grpc.loadPackageDefinition(definition);
const server = new grpc.Server();
server.addService(proto.echo.Echo.service, {
  Say: (call, callback) => callback(null, { text: call.request.text, who: 'bench', n: call.request.n }),
  Count: (call) => call.end(),
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`grpc_echo_server: ${err.message}`);
    process.exit(1);
  }
  console.log(`listening ${port}`);
});
