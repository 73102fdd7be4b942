// The mesh page (/ui): polls this admin endpoint's JSON once a second and redraws. No request
// leaves the admin endpoint the page came from.
import './style.css';
import { renderGraph } from './graph.js';
import { buildModel, sampleOf, WINDOW_MS } from './model.js';
import { renderClusters, renderEdgeTable, renderProblems, renderRegistries,
         renderRoutes } from './panels.js';

const POLL_MS = 1000;
const CONFIG_EVERY_MS = 5000;  // /config_dump also when the snapshot version changes
const samples = [];
let dump = null;
let dumpAt = 0;
let dumpVersion = -1;

const $ = (id) => document.getElementById(id);

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

function setStatus(state, text) {
  const s = $('status');
  s.dataset.state = state;
  s.textContent = text;
}

async function poll() {
  try {
    const [stats, clusters] = await Promise.all([getJson('/stats/json'),
                                                 getJson('/clusters?format=json')]);
    if (!dump || stats.snapshot_version !== dumpVersion || Date.now() - dumpAt > CONFIG_EVERY_MS) {
      dump = await getJson('/config_dump');
      dumpAt = Date.now();
      dumpVersion = stats.snapshot_version;
      renderRoutes($('routes'), dump);
      renderRegistries($('registries'), dump);
      renderProblems($('problems'), dump);
    }
    samples.push(sampleOf(stats, clusters));
    while (samples.length > 2 && samples[samples.length - 1].t - samples[0].t > 2 * WINDOW_MS) {
      samples.shift();
    }
    const model = buildModel(samples, stats, stats.duration_buckets_ms);
    renderGraph($('graph'), model);
    renderEdgeTable(document.querySelector('#edges tbody'), model);
    renderClusters($('clusters'), clusters);
    $('who').textContent = `${stats.mode} ${stats.source_workload} · snapshot ${stats.snapshot_version}`;
    document.title = `Sluice mesh · ${stats.source_workload}`;
    setStatus('live', `live · ${new Date(stats.timestamp_ms).toLocaleTimeString()}`);
  } catch (err) {
    setStatus('error', `not reachable: ${err.message}`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

$('window').textContent = String(WINDOW_MS / 1000);
poll();
