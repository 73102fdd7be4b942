// The "echo" mesh used by the proxy, gateway and reload tests: one ServiceEntry host with two
// STATIC endpoints (node upstreams labelled version v1 / v2), a DestinationRule with subsets v1
// and v2, and a VirtualService whose rules each exercise one feature:
//
//   header x-version: v2        -> v2
//   exact /only-v2              -> v2
//   prefix /v1                  -> v1
//   prefix /split               -> v1 weight 80, v2 weight 20
//   prefix /fault               -> abort 418 at 100%                                => 418
//   prefix /slow                -> timeout 300ms (upstream told to delay 2 s)       => 504
//   prefix /retry               -> retries: 3 attempts on 5xx
//   anything else               -> no rule                                          => 404
import { serviceEntry, destinationRule, virtualService, gateway } from './mesh.mjs';

export const ECHO_HOST = 'echo.mesh.local';

export const ECHO_ROUTES = `
- name: header-v2
  match:
  - headers:
      x-version:
        exact: v2
  route:
  - destination: {host: ${ECHO_HOST}, subset: v2}
- name: exact-only-v2
  match:
  - uri: {exact: /only-v2}
  route:
  - destination: {host: ${ECHO_HOST}, subset: v2}
- name: prefix-v1
  match:
  - uri: {prefix: /v1}
  route:
  - destination: {host: ${ECHO_HOST}, subset: v1}
- name: split
  match:
  - uri: {prefix: /split}
  route:
  - destination: {host: ${ECHO_HOST}, subset: v1}
    weight: 80
  - destination: {host: ${ECHO_HOST}, subset: v2}
    weight: 20
- name: fault
  match:
  - uri: {prefix: /fault}
  fault:
    abort:
      httpStatus: 418
      percentage: {value: 100}
  route:
  - destination: {host: ${ECHO_HOST}, subset: v1}
- name: slow
  match:
  - uri: {prefix: /slow}
  timeout: 300ms
  route:
  - destination: {host: ${ECHO_HOST}, subset: v1}
- name: retry
  match:
  - uri: {prefix: /retry}
  retries:
    attempts: 3
    perTryTimeout: 2s
    retryOn: 5xx
  route:
  - destination: {host: ${ECHO_HOST}, subset: v1}
`;

// Files of the echo mesh: { 'name.yaml': text }. With `gatewayPort`, adds a Gateway `echo-gw`
// with one HTTP server on that port (hosts "*") and binds a copy of the routes to it for the
// host `gatewayHost`.
export function echoMeshFiles({ v1Port, v2Port, gatewayPort, gatewayHost = 'echo.example.com' }) {
  const files = {
    'service-entry.yaml': serviceEntry({
      name: 'echo', hosts: [ECHO_HOST],
      endpoints: [
        { address: '127.0.0.1', port: v1Port, labels: { version: 'v1' } },
        { address: '127.0.0.1', port: v2Port, labels: { version: 'v2' } },
      ],
    }),
    'destination-rule.yaml': destinationRule({
      name: 'echo', host: ECHO_HOST, subsets: { v1: { version: 'v1' }, v2: { version: 'v2' } },
    }),
    'virtual-service.yaml': virtualService({ name: 'echo', hosts: [ECHO_HOST], http: ECHO_ROUTES }),
  };
  if (gatewayPort !== undefined) {
    files['gateway.yaml'] = gateway({ name: 'echo-gw', servers: [{ port: gatewayPort, hosts: ['*'] }] });
    files['gateway-vs.yaml'] = virtualService({
      name: 'echo-gw', hosts: [gatewayHost], gateways: ['echo-gw'], http: ECHO_ROUTES,
    });
  }
  return files;
}

// The echo VirtualService with one route, everything to `subset`.
export function echoRouteTo(subset) {
  return virtualService({
    name: 'echo', hosts: [ECHO_HOST], http: `
- name: all
  route:
  - destination: {host: ${ECHO_HOST}, subset: ${subset}}
`,
  });
}

// A response for an assertion message.
export function describeResponse(r) {
  return `status ${r.status} body ${r.body.slice(0, 300)}`;
}
