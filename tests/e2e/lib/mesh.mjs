// Istio YAML builders for end-to-end tests, so each test states only what it is about.
// They emit plain YAML text as a user would write it (networking.istio.io/v1beta1).

function indent(text, n) {
  const pad = ' '.repeat(n);
  return text.split('\n').map((l) => (l ? pad + l : l)).join('\n');
}

function labelsYaml(labels, n) {
  return Object.entries(labels).map(([k, v]) => `${' '.repeat(n)}${k}: ${JSON.stringify(String(v))}`).join('\n');
}

// A ServiceEntry with STATIC endpoints. `endpoints`: [{ address, port, labels }]; each endpoint's
// port is mapped from the service port named `portName`.
export function serviceEntry({
  name, hosts, port = 80, portName = 'http', endpoints, namespace = 'default',
}) {
  const eps = endpoints.map((e) => [
    `  - address: ${e.address ?? '127.0.0.1'}`,
    `    ports:`,
    `      ${portName}: ${e.port}`,
    ...(e.labels && Object.keys(e.labels).length
      ? ['    labels:', labelsYaml(e.labels, 6)] : []),
  ].join('\n')).join('\n');
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  hosts:
${hosts.map((h) => `  - ${h}`).join('\n')}
  location: MESH_INTERNAL
  ports:
  - number: ${port}
    name: ${portName}
    protocol: HTTP
  resolution: STATIC
  endpoints:
${eps}
`;
}

// A DestinationRule with one subset per entry of `subsets` ({ name: labels }).
export function destinationRule({ name, host, subsets, lb = 'ROUND_ROBIN', namespace = 'default' }) {
  const ss = Object.entries(subsets).map(([sub, labels]) =>
    `  - name: ${sub}\n    labels:\n${labelsYaml(labels, 6)}`).join('\n');
  return `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  host: ${host}
  trafficPolicy:
    loadBalancer:
      simple: ${lb}
  subsets:
${ss}
`;
}

// A VirtualService; `http` is the YAML of the `http:` list, written by the test (indented here).
export function virtualService({ name, hosts, gateways, http, namespace = 'default' }) {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  hosts:
${hosts.map((h) => `  - ${JSON.stringify(h)}`).join('\n')}
${gateways ? `  gateways:\n${gateways.map((g) => `  - ${g}`).join('\n')}\n` : ''}  http:
${indent(http.trim(), 2)}
`;
}

// A Gateway with one HTTP server per entry of `servers` ({ port, hosts }).
export function gateway({ name, servers, namespace = 'default', selector = { istio: 'ingressgateway' } }) {
  const ss = servers.map((s, i) => `  - port:
      number: ${s.port}
      name: http-${i}
      protocol: HTTP
    hosts:
${(s.hosts ?? ['*']).map((h) => `    - ${JSON.stringify(h)}`).join('\n')}`).join('\n');
  return `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector:
${labelsYaml(selector, 4)}
  servers:
${ss}
`;
}
