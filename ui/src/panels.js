// The panels under the graph: the traffic table, routes, endpoints per cluster, registry sources
// and config problems. Each renders from the JSON the admin endpoint returned, with textContent
// only (never HTML from the data).
import { fmtMs, fmtPct, fmtRate } from './graph.js';
import { parseClusterName } from './model.js';

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return node;
}

function labelsText(labels) {
  return Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(', ');
}

export function renderEdgeTable(tbody, model) {
  const rows = [];
  for (const svc of [...model.services.values()].sort((a, b) => a.host.localeCompare(b.host))) {
    for (const v of svc.versions.values()) {
      rows.push(h('tr', { 'data-service': svc.name, 'data-version': v.name,
                          'data-rps': v.rps.toFixed(3), class: v.requests ? 'active' : 'idle' },
        h('td', {}, model.source || 'unknown'),
        h('td', { title: svc.host }, svc.name),
        h('td', {}, v.name),
        h('td', { class: 'num rps' }, fmtRate(v.rps)),
        h('td', { class: 'num' }, fmtPct(v.split)),
        h('td', { class: 'num' }, fmtPct(v.errorRate)),
        h('td', { class: 'num', title: v.p99OfService ? "the service's p99 (no per-version series)" : '' },
          v.requests ? fmtMs(v.p99) + (v.p99OfService ? ' *' : '') : '–'),
        h('td', {}, [...v.endpoints.keys()].join(' '))));
    }
  }
  if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'no services yet')));
  tbody.replaceChildren(...rows);
}

function matchText(m) {
  const parts = [];
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === 'object') parts.push(`${k} ${Object.entries(v).map(([a, b]) => `${a} ${b}`).join(', ')}`);
    else parts.push(`${k} ${v}`);
  }
  return parts.join(' and ') || 'any request';
}

function actionText(r) {
  if (r.route) {
    return r.route.map((d) => {
      const dest = `${d.host}${d.subset ? ` subset ${d.subset}` : ''}${d.port ? `:${d.port}` : ''}`;
      return `${dest} weight ${d.weight}${d.error ? ` (${d.error})` : ''}`;
    }).join('; ');
  }
  if (r.redirect) return `redirect ${r.redirect.code} ${r.redirect.authority || ''}${r.redirect.uri || ''}`;
  if (r.directResponse) return `direct response ${r.directResponse.status}`;
  return '';
}

function routeTable(title, vhosts) {
  const rows = [];
  for (const vh of vhosts || []) {
    const routes = vh.routes || [];
    routes.forEach((r, i) => {
      const matches = (r.match && r.match.length ? r.match : [{}]).map(matchText).join(' or ');
      rows.push(h('tr', { 'data-route': r.name || '' },
        i === 0 ? h('td', { rowspan: routes.length, title: (vh.domains || []).join(' ') },
          vh.from_virtual_service ? `VirtualService ${vh.name}` : `${vh.name} (no VirtualService)`)
          : null,
        h('td', {}, r.name || `#${i}`),
        h('td', {}, matches),
        h('td', {}, actionText(r))));
    });
  }
  if (!rows.length) return null;
  return h('div', {}, h('h3', {}, title),
    h('table', { class: 'routes' },
      h('thead', {}, h('tr', {}, h('th', {}, 'virtual host'), h('th', {}, 'route'),
        h('th', {}, 'match'), h('th', {}, 'destination (subset, weight)'))),
      h('tbody', {}, ...rows)));
}

export function renderRoutes(container, dump) {
  const parts = [routeTable('mesh (sidecar)', dump.mesh_routes && dump.mesh_routes.virtual_hosts)];
  for (const gl of dump.gateway_listeners || []) {
    parts.push(routeTable(`gateway port ${gl.port} (${(gl.gateways || []).join(', ')})`,
      gl.virtual_hosts));
  }
  const shown = parts.filter(Boolean);
  container.replaceChildren(...(shown.length ? shown : [h('p', { class: 'empty' }, 'no routes')]));
}

export function renderClusters(container, clusters) {
  const blocks = [];
  for (const c of clusters.clusters || []) {
    const { subset, host, port } = parseClusterName(c.name);
    const rows = (c.endpoints || []).map((e) => {
      const state = !e.healthy ? 'unhealthy' : e.ejected ? 'ejected' : 'healthy';
      return h('tr', { 'data-address': e.address, class: state },
        h('td', {}, e.address), h('td', {}, labelsText(e.labels)),
        h('td', { class: `state ${state}` }, state),
        h('td', { class: 'num' }, e.active_requests), h('td', { class: 'num' }, e.requests),
        h('td', { class: 'num' }, e.failures));
    });
    if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'no endpoints')));
    blocks.push(h('details', { open: '', 'data-cluster': c.name },
      h('summary', {}, h('code', {}, c.name), ` ${host}${port ? `:${port}` : ''}`,
        subset ? ` subset ${subset}` : '',
        c.overflows ? ` · ${c.overflows} overflows` : '',
        c.pending_requests ? ` · ${c.pending_requests} pending` : ''),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'address'), h('th', {}, 'labels'),
        h('th', {}, 'health'), h('th', {}, 'active'), h('th', {}, 'requests'),
        h('th', {}, 'failures'))), h('tbody', {}, ...rows))));
  }
  container.replaceChildren(...(blocks.length ? blocks : [h('p', { class: 'empty' }, 'no clusters')]));
}

export function renderRegistries(container, dump) {
  const rows = (dump.registries || []).map((r) => h('tr', { 'data-source': r.source },
    h('td', {}, r.source),
    h('td', { class: `state ${r.reachable ? 'healthy' : 'unhealthy'}` },
      r.reachable ? 'reachable' : 'unreachable'),
    h('td', {}, r.last_success_unix_ms ? new Date(r.last_success_unix_ms).toLocaleTimeString() : '–'),
    h('td', { class: 'error-text' }, r.last_error || '')));
  container.replaceChildren(rows.length
    ? h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'source'), h('th', {}, 'state'),
        h('th', {}, 'last success'), h('th', {}, 'last error'))), h('tbody', {}, ...rows))
    : h('p', { class: 'empty' }, 'no registry sources'));
}

// "file.yaml:12: ..." -> the location apart, so it stands out.
function problem(kind, text) {
  const m = /^(\S+?:\d+(?::\d+)?):?\s*(.*)$/s.exec(text);
  return h('li', { class: kind, 'data-kind': kind }, h('span', { class: 'kind' }, kind),
    m ? h('code', { class: 'where' }, m[1]) : null, ` ${m ? m[2] : text}`);
}

export function renderProblems(container, dump) {
  const items = [
    ...(dump.config_errors || []).map((t) => problem('error', t)),
    ...(dump.diagnostics || []).map((t) => problem('diagnostic', t)),
    ...(dump.unenforced || []).map((t) => problem('unenforced', t)),
  ];
  container.replaceChildren(items.length ? h('ul', { class: 'problems' }, ...items)
    : h('p', { class: 'empty ok' }, 'none: every resource was accepted and every field is enforced'));
}
