// The page's model: what the three admin JSON endpoints say, turned into services, versions and
// edges with rates over a short window. Pure functions of the samples, so they can be tested
// without a browser.

export const WINDOW_MS = 3000;

// "outbound|8070|v1|service-provider.default.svc.cluster.local" -> {port, subset, host}.
export function parseClusterName(name) {
  const parts = String(name).split('|');
  if (parts.length !== 4) return { port: '', subset: '', host: name };
  return { port: parts[1], subset: parts[2], host: parts[3] };
}

export function shortName(host) {
  return String(host).split('.')[0];
}

// An endpoint's version when no subset names it: Kubernetes' version labels, else the first
// label whose value looks like a version ("v1", "2.0.1"), as registry metadata often carries it
// (the seed's Nacos instances: `label: v1`).
export function versionFromLabels(labels) {
  if (!labels) return '';
  for (const key of ['version', 'app.kubernetes.io/version', 'service.istio.io/canonical-revision']) {
    if (labels[key]) return labels[key];
  }
  for (const key of Object.keys(labels).sort()) {
    if (/^v?\d+(\.\d+)*$/.test(labels[key])) return labels[key];
  }
  return '';
}

// The q-quantile of a cumulative histogram (Prometheus' histogram_quantile).
export function quantile(bounds, cumulative, count, q) {
  if (!count) return 0;
  const rank = q * count;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    if (cumulative[i] >= rank && cumulative[i] > prevCount) {
      const lower = i === 0 ? 0 : bounds[i - 1];
      return lower + (bounds[i] - lower) * ((rank - prevCount) / (cumulative[i] - prevCount));
    }
    prevCount = cumulative[i];
  }
  return bounds[bounds.length - 1];
}

// One poll's counters, keyed for differencing:
//   endpoints: "cluster|address" -> {host, address, version, requests, failures}
//   series:    "service|version|code" -> {service, version, code, count, buckets}
export function sampleOf(stats, clusters) {
  const sample = { t: stats.timestamp_ms, endpoints: new Map(), series: new Map() };
  // The subset an address belongs to (per host): subset clusters name versions best.
  const subsetOf = new Map();
  for (const c of clusters.clusters || []) {
    const { subset, host } = parseClusterName(c.name);
    if (!subset) continue;
    for (const e of c.endpoints || []) {
      const key = `${host}|${e.address}`;
      if (!subsetOf.has(key) || subset < subsetOf.get(key)) subsetOf.set(key, subset);
    }
  }
  for (const c of clusters.clusters || []) {
    const { host } = parseClusterName(c.name);
    for (const e of c.endpoints || []) {
      const version =
        subsetOf.get(`${host}|${e.address}`) || versionFromLabels(e.labels) || e.address;
      sample.endpoints.set(`${c.name}|${e.address}`, {
        host, address: e.address, version, labels: e.labels || {},
        healthy: e.healthy, ejected: e.ejected,
        requests: e.requests || 0, failures: e.failures || 0,
      });
    }
  }
  // One entry per (service, version, code): the series that differ only in response_flags,
  // request_protocol or grpc_response_status add up.
  for (const s of stats.istio_request_duration_milliseconds || []) {
    const l = s.labels;
    const key = `${l.destination_service}|${l.destination_version}|${l.response_code}`;
    const seen = sample.series.get(key);
    if (seen) {
      seen.count += s.count;
      seen.buckets = seen.buckets.map((b, i) => b + (s.buckets[i] || 0));
      continue;
    }
    sample.series.set(key, {
      service: l.destination_service, version: l.destination_version,
      code: Number(l.response_code), count: s.count, buckets: [...s.buckets],
    });
  }
  return sample;
}

// The sample to difference against: the oldest one inside the window (else the one before the
// latest), so a rate reaches zero at most WINDOW_MS after traffic stops.
export function baseSample(samples) {
  const latest = samples[samples.length - 1];
  for (const s of samples) {
    if (s !== latest && latest.t - s.t <= WINDOW_MS + 500) return s;
  }
  return samples.length > 1 ? samples[samples.length - 2] : null;
}

// A counter's growth; a counter that went down was reset (its cluster was rebuilt).
function growth(now, before) {
  if (before === undefined || now < before) return now;
  return now - before;
}

// Services with their versions and the edges from this workload, rates over the window.
export function buildModel(samples, stats, bounds) {
  const latest = samples[samples.length - 1];
  const base = baseSample(samples);
  const dt = base ? (latest.t - base.t) / 1000 : 0;
  const services = new Map();  // host -> {host, name, versions: Map, rps, errors, p99}
  const service = (host) => {
    if (!services.has(host)) {
      services.set(host, { host, name: shortName(host), versions: new Map(), rps: 0, errorRate: 0,
                           p99: 0, requests: 0, hasEndpoints: false });
    }
    return services.get(host);
  };
  const version = (svc, name) => {
    if (!svc.versions.has(name)) {
      svc.versions.set(name, { name, rps: 0, failures: 0, requests: 0, endpoints: new Map(),
                               p99: null, errorRate: 0 });
    }
    return svc.versions.get(name);
  };

  // Per-version rates from the endpoints' request counters (every cluster of the host).
  for (const [key, e] of latest.endpoints) {
    const svc = service(e.host);
    svc.hasEndpoints = true;
    const v = version(svc, e.version);
    v.endpoints.set(e.address, e);
    if (!base) continue;
    const before = base.endpoints.get(key);
    v.requests += growth(e.requests, before && before.requests);
    v.failures += growth(e.failures, before && before.failures);
  }

  // Per-service (and per-subset) traffic, errors and latency from the Istio metrics.
  // "service" or "service|version" -> {count, errors, buckets (cumulative, like the metric)}
  const hist = new Map();
  const add = (key, count, errors, buckets) => {
    const h = hist.get(key) || { count: 0, errors: 0, buckets: bounds.map(() => 0) };
    h.count += count;
    h.errors += errors;
    buckets.forEach((b, i) => { h.buckets[i] += b; });
    hist.set(key, h);
  };
  if (base) {
    for (const [key, s] of latest.series) {
      const before = base.series.get(key);
      const count = growth(s.count, before && before.count);
      if (count === 0) continue;
      const buckets = s.buckets.map((b, i) =>
        before && s.count >= before.count ? b - before.buckets[i] : b);
      const errors = s.code >= 500 ? count : 0;
      add(s.service, count, errors, buckets);
      add(`${s.service}|${s.version}`, count, errors, buckets);
    }
  }
  // Services this proxy sent traffic to that no cluster lists (passthrough, unknown hosts).
  for (const e of stats.edges || []) {
    const svc = service(e.destination_service);
    if (!svc.hasEndpoints) version(svc, e.destination_version);
  }

  for (const svc of services.values()) {
    const h = hist.get(svc.host);
    svc.requests = h ? h.count : 0;
    svc.rps = dt > 0 ? svc.requests / dt : 0;
    svc.errorRate = h && h.count ? h.errors / h.count : 0;
    svc.p99 = h ? quantile(bounds, h.buckets, h.count, 0.99) : null;
    for (const v of svc.versions.values()) {
      const vh = hist.get(`${svc.host}|${v.name}`);
      if (!svc.hasEndpoints) {
        v.requests = vh ? vh.count : 0;
        v.failures = vh ? vh.errors : 0;
      }
      v.rps = dt > 0 ? v.requests / dt : 0;
      v.errorRate = v.requests ? v.failures / v.requests : 0;
      // Latency per version where the metrics carry it (a subset), else the service's.
      v.p99 = vh ? quantile(bounds, vh.buckets, vh.count, 0.99) : svc.p99;
      v.p99OfService = !vh;
    }
    const total = [...svc.versions.values()].reduce((a, v) => a + v.requests, 0);
    for (const v of svc.versions.values()) v.split = total ? v.requests / total : 0;
  }
  return { services, dt, source: stats.source_workload, mode: stats.mode };
}
