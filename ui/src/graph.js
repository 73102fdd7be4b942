// The traffic graph: this workload -> each service's versions, laid out by dagre (layered, left
// to right, versions grouped in their service's box) and drawn as SVG. An edge's width follows
// its share of the service's traffic, so the seed's before/after shows as the arrows change.
import dagre from '@dagrejs/dagre';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_W = 190;
const NODE_H = 44;
const LABEL_W = 190;
const LABEL_H = 34;

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function fmtRate(rps) {
  return rps >= 100 ? rps.toFixed(0) : rps.toFixed(1);
}
export function fmtPct(x) {
  return `${(100 * x).toFixed(x > 0 && x < 0.1 ? 1 : 0)}%`;
}
export function fmtMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

// The services worth drawing: those with endpoints or traffic.
function drawn(model) {
  return [...model.services.values()].sort((a, b) => a.host.localeCompare(b.host));
}

export function renderGraph(svg, model) {
  const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'LR', nodesep: 44, ranksep: 90, marginx: 12, marginy: 34 });
  g.setDefaultEdgeLabel(() => ({}));
  g.setNode('source', { width: NODE_W, height: NODE_H });
  for (const svc of drawn(model)) {
    const box = `svc:${svc.host}`;
    g.setNode(box, { paddingTop: 10, paddingLeft: 10, paddingRight: 10, paddingBottom: 10 });
    for (const v of svc.versions.values()) {
      const id = `ver:${svc.host}|${v.name}`;
      g.setNode(id, { width: NODE_W, height: NODE_H });
      g.setParent(id, box);
      g.setEdge('source', id, { width: LABEL_W, height: LABEL_H, labelpos: 'c' });
    }
  }
  dagre.layout(g);

  const graph = g.graph();
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${Math.ceil(graph.width)} ${Math.ceil(graph.height)}`);
  svg.setAttribute('width', Math.ceil(graph.width));
  svg.setAttribute('height', Math.ceil(graph.height));
  const defs = el('defs');
  // Fixed-size arrowheads (userSpaceOnUse), whatever the edge's width.
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
                                markerWidth: 10, markerHeight: 10, markerUnits: 'userSpaceOnUse',
                                orient: 'auto-start-reverse' });
  marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  defs.append(marker);
  svg.append(defs);

  for (const svc of drawn(model)) {
    const box = g.node(`svc:${svc.host}`);
    const group = el('g', { class: 'service', 'data-service': svc.name });
    group.append(el('rect', { x: box.x - box.width / 2, y: box.y - box.height / 2,
                              width: box.width, height: box.height, rx: 8 }));
    const summary = svc.requests
      ? `${fmtRate(svc.rps)} req/s · 5xx ${fmtPct(svc.errorRate)} · p99 ${fmtMs(svc.p99)}`
      : 'idle';
    // The title line sits above the box (dagre sizes a compound box to its children only).
    const title = el('text', { x: box.x - box.width / 2 + 2, y: box.y - box.height / 2 - 7,
                               class: 'service-name' }, svc.name);
    title.append(el('tspan', { class: 'service-summary', dx: 8 }, summary));
    group.append(title);
    svg.append(group);
  }

  const source = g.node('source');
  const src = el('g', { class: 'node source', 'data-node': 'source' });
  src.append(el('rect', { x: source.x - NODE_W / 2, y: source.y - NODE_H / 2, width: NODE_W,
                          height: NODE_H, rx: 22 }));
  src.append(el('text', { x: source.x, y: source.y - 3, 'text-anchor': 'middle',
                          class: 'node-name' }, model.source || 'unknown'));
  src.append(el('text', { x: source.x, y: source.y + 13, 'text-anchor': 'middle',
                          class: 'node-sub' }, `this ${model.mode || 'proxy'}`));
  svg.append(src);

  for (const svc of drawn(model)) {
    for (const v of svc.versions.values()) {
      const id = `ver:${svc.host}|${v.name}`;
      const edge = g.edge('source', id);
      const active = v.requests > 0;
      const group = el('g', {
        class: `edge${active ? ' active' : ''}${v.errorRate > 0 ? ' failing' : ''}`,
        'data-service': svc.name, 'data-version': v.name, 'data-rps': v.rps.toFixed(3),
        'data-split': v.split.toFixed(3),
      });
      const d = edge.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
        .join(' ');
      const width = active ? 1.5 + 8 * v.split : 1;
      group.append(el('path', { d, 'stroke-width': width.toFixed(2), 'marker-end': 'url(#arrow)' }));
      group.append(el('rect', { x: edge.x - LABEL_W / 2, y: edge.y - LABEL_H / 2, width: LABEL_W,
                                height: LABEL_H, rx: 4, class: 'edge-label-bg' }));
      group.append(el('text', { x: edge.x, y: edge.y - 3, 'text-anchor': 'middle',
                                class: 'edge-rate' },
                      `${fmtRate(v.rps)} req/s · ${fmtPct(v.split)}`));
      group.append(el('text', { x: edge.x, y: edge.y + 12, 'text-anchor': 'middle',
                                class: 'edge-detail' },
                      `err ${fmtPct(v.errorRate)} · p99 ${fmtMs(active ? v.p99 : null)}`));
      svg.append(group);

      const node = g.node(id);
      const n = el('g', { class: `node version${active ? ' active' : ''}`, 'data-node': id,
                          'data-version': v.name });
      n.append(el('rect', { x: node.x - NODE_W / 2, y: node.y - NODE_H / 2, width: NODE_W,
                            height: NODE_H, rx: 6 }));
      n.append(el('text', { x: node.x, y: node.y - 3, 'text-anchor': 'middle',
                            class: 'node-name' }, v.name));
      const eps = v.endpoints.size;
      const ejected = [...v.endpoints.values()].filter((e) => e.ejected || !e.healthy).length;
      n.append(el('text', { x: node.x, y: node.y + 13, 'text-anchor': 'middle',
                            class: 'node-sub' },
                  eps ? `${eps} endpoint${eps > 1 ? 's' : ''}${ejected ? `, ${ejected} out` : ''}`
                      : 'no endpoints'));
      svg.append(n);
    }
  }
}
