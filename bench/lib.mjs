// What the bench scripts share: process CPU and memory from /proc, a sleep, a run's work directory
// with the processes it started (pinned to a core, all stopped on exit), free ports, nginx
// configuration, and the table's median and number format.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// sysconf(_SC_CLK_TCK) on Linux/x86-64: /proc/PID/stat counts CPU time in these.
const CLK_TCK = 100;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// utime + stime of a process, in seconds (fields 14 and 15 of stat(5)).
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

// A "Key:   N kB" line of /proc/PID/status (VmRSS, VmHWM), in KiB; 0 when absent.
export function statusKb(pid, key) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}

export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
export const fmtNum = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

// The q-quantile (0..1) of numbers, nearest rank.
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
  });
}

// A bench run: a temp work directory (kept with BENCH_KEEP=1) and every process started through
// it killed when the script exits.
export function benchRun(prefix) {
  const work = mkdtempSync(join(tmpdir(), prefix));
  const children = [];
  process.on('exit', () => {
    for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } }
    if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
  });
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));

  // `cmd args` on core(s) `cpu` (taskset); its output accumulates in child.out.
  function startPinned(cpu, cmd, args, name) {
    mkdirSync(join(work, name), { recursive: true });
    const child = spawn('taskset', ['-c', cpu, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.out = '';
    child.stdout.on('data', (d) => { child.out += d; });
    child.stderr.on('data', (d) => { child.out += d; });
    children.push(child);
    return child;
  }

  async function waitPort(port, child, what) {
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) break;
      const ok = await new Promise((res) => {
        const c = connect(port, '127.0.0.1');
        c.once('connect', () => { c.destroy(); res(true); });
        c.once('error', () => res(false));
      });
      if (ok) return;
      await sleep(100);
    }
    throw new Error(`${what}: nothing listening on 127.0.0.1:${port} (log in ${work})`);
  }

  // Waits (bounded) until `child` printed a line matching `re`; returns the match.
  async function waitOutput(child, re, what) {
    for (let i = 0; i < 150 && !re.test(child.out); i++) {
      if (child.exitCode !== null) break;
      await sleep(100);
    }
    const m = child.out.match(re);
    if (!m) throw new Error(`${what} did not become ready:\n${child.out}`);
    return m;
  }

  return { work, startPinned, waitPort, waitOutput };
}

// A foreground, single-process nginx with one worker, writing only under `dir`; `body` goes in
// its http block.
export function nginxConf(dir, body) {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  default_type text/plain;
${body}
}
`;
}

// The mesh config of a benchmarked sluice: a STATIC ServiceEntry `host` (port 80 named `portName`
// with `protocol`) over `ports` on 127.0.0.1 labelled version v1, a DestinationRule with subset
// v1 and ROUND_ROBIN, a VirtualService matching `prefix` to that subset: the full L7 route.
export function meshYaml({ host, portName = 'http', protocol = 'HTTP', ports, prefix }) {
  const eps = ports.map((p) => `  - {address: 127.0.0.1, ports: {${portName}: ${p}}, labels: {version: v1}}`);
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: bench, namespace: default}
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  ports: [{number: 80, name: ${portName}, protocol: ${protocol}}]
  resolution: STATIC
  endpoints:
${eps.join('\n')}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: bench, namespace: default}
spec:
  host: ${host}
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
  - {name: v1, labels: {version: v1}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: bench, namespace: default}
spec:
  hosts: [${host}]
  http:
  - match: [{uri: {prefix: ${prefix}}}]
    route: [{destination: {host: ${host}, subset: v1}}]
`;
}
