// "Pods" for end-to-end tests: network namespaces joined by a Linux bridge, so a test can run the
// seed's topology (registry, providers, consumer, sidecars, gateway, a client) with real
// addresses and real interception, without touching the host's own network.
//
//   const net = new PodNet('m1');            // switch namespace sluice-m1-sw-<pid>, bridge br0
//   const skip = await net.create();         // a reason string when pods cannot be made, else null
//   const reg = await net.addPod('registry', { hosts: { 'nacos.example': '10.0.130.2' } });
//   const p = await reg.start(e2e.sluiceBin(), ['registry', ...], { readyLine: /.../ });
//   const r = await reg.run('ip', ['addr']);   // { code, stdout, stderr }
//   await net.destroy();                     // also done at process exit, whatever the outcome
//
// Each pod is a network namespace with lo up, one address from 10.0.130.0/24 on eth0 (inside
// the seed's pod_cidrs 10.0.128.0/18), a default route via the bridge's 10.0.130.1, and
// /etc/netns/<ns>/{hosts,resolv.conf}, which `ip netns exec` bind-mounts over /etc for every
// process started in the pod. Nothing is added to the root namespace; every name carries the
// test's pid so parallel runs do not collide.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, sluiceBin } from './proc.mjs';

export const POD_PREFIX = '10.0.130';
export const GATEWAY_IP = `${POD_PREFIX}.1`;
const NETNS_ETC = '/etc/netns';

const liveNets = new Set();

function sh(cmd, args, timeout = 20_000) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout });
}

function must(cmd, args) {
  const r = sh(cmd, args);
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ` +
      `${(r.stderr ?? '').trim() || r.error?.message || ''}`);
  }
  return r;
}

// Synchronous, best-effort teardown: usable from an 'exit' handler (no event loop there).
// Processes must be gone first, or a deleted namespace lingers until they exit; proc.mjs kills
// its children in its own 'exit' handler, which was registered before this one.
function destroySync(podNet) {
  for (const pod of podNet.pods.values()) {
    for (const p of pod.procs) {
      try { p.child.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }
  for (const ns of [...[...podNet.pods.values()].map((p) => p.ns), podNet.switchNs]) {
    if (podNet.createdNs.has(ns)) sh('ip', ['netns', 'del', ns]);
    rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
  }
  podNet.createdNs.clear();
  liveNets.delete(podNet);
}

process.on('exit', () => { for (const n of [...liveNets]) destroySync(n); });
// proc.mjs turns SIGINT/SIGTERM into process.exit(130), which runs the handler above. Register
// the same here in case this module is used alone.
for (const sig of ['SIGINT', 'SIGTERM']) {
  if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(130));
}

// Why pods cannot be used here, or null. Cheap checks first; the real `ip netns add` is tried
// by PodNet.create().
export function podsUnavailable() {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'needs root for network namespaces (ip netns add)';
  }
  for (const tool of ['ip', 'iptables', 'iptables-save']) {
    const r = sh('sh', ['-c', `command -v ${tool}`]);
    if (r.status !== 0) return `${tool} is not installed`;
  }
  return null;
}

export class Pod {
  constructor(net, name, ns, ip, index) {
    this.net = net;
    this.name = name;
    this.ns = ns;
    this.ip = ip;
    this.index = index;
    this.procs = new Set();
  }

  // Starts `cmd args` inside the pod (`ip netns exec`, which execs: the pid is the command's own).
  // Options are startProcess's (readyLine, readyTimeoutMs, env, ...).
  async start(cmd, args, opts = {}) {
    const proc = await startProcess('ip', ['netns', 'exec', this.ns, cmd, ...args],
      { ...opts, name: `${this.name}: ${opts.name ?? cmd}` });
    this.procs.add(proc);
    proc.exited.then(() => this.procs.delete(proc));
    return proc;
  }

  // Starts `sluice <args>` in the pod; readyLine defaults to the subcommand's " ready:" line.
  startSluice(args, opts = {}) {
    return this.start(sluiceBin(), args, { name: `sluice ${args[0]}`, readyLine: / ready: .*\n/, ...opts });
  }

  // Runs a short command in the pod, bounded by `timeoutMs`; resolves { code, signal, stdout,
  // stderr } (never rejects for a non-zero exit; the caller asserts).
  run(cmd, args, { timeoutMs = 20_000, input } = {}) {
    return new Promise((resolve) => {
      const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args],
        { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      if (input !== undefined) child.stdin.end(input);
      const timer = setTimeout(() => {
        stderr += `\n[pods] ${cmd} killed after ${timeoutMs} ms`;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('error', (e) => { stderr += `\n[pods] cannot start ${cmd}: ${e.message}`; });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
  }

  // Runs pod_http.mjs in the pod with `spec` (see that file); resolves its parsed JSON output.
  async http(spec, { timeoutMs } = {}) {
    const script = new URL('./pod_http.mjs', import.meta.url).pathname;
    const bound = timeoutMs ?? 5_000 + (spec.timeoutMs ?? 3_000) * ((spec.requests?.length ?? 1) + 1);
    const r = await this.run(process.execPath, [script, JSON.stringify(spec)], { timeoutMs: bound });
    try {
      return JSON.parse(r.stdout);
    } catch {
      throw new Error(`pod_http in ${this.name} printed no JSON (code ${r.code}):\n${r.stdout}\n${r.stderr}`);
    }
  }

  // Stops every process started in this pod (SIGTERM, then SIGKILL after `timeoutMs`).
  async stopAll(timeoutMs = 5_000) {
    await Promise.all([...this.procs].map((p) => p.stop({ timeoutMs })));
  }
}

export class PodNet {
  // `tag`: a few characters naming this topology (namespace names: sluice-<tag>-<pod>-<pid>).
  constructor(tag) {
    this.tag = tag;
    this.switchNs = `sluice-${tag}-sw-${process.pid}`;
    this.pods = new Map();
    this.createdNs = new Set();
    this.nextHost = 2;
  }

  nsName(pod) { return `sluice-${this.tag}-${pod}-${process.pid}`; }

  // Makes the switch namespace and its bridge. Returns null, or a reason to skip (not root, no
  // `ip netns add`, no bridge support, no iptables nat table in a namespace).
  async create() {
    const why = podsUnavailable();
    if (why) return why;
    liveNets.add(this);
    const add = sh('ip', ['netns', 'add', this.switchNs]);
    if (add.status !== 0) return `ip netns add failed: ${(add.stderr ?? '').trim()}`;
    this.createdNs.add(this.switchNs);
    try {
      must('ip', ['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
      // No STP: ports forward as soon as they are up (no listening/learning delay).
      must('ip', ['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0',
        'forward_delay', '0']);
      must('ip', ['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
      // The "node" side of the pod network: the pods' default gateway and nameserver address.
      // Forwarding stays off, so nothing leaves the switch; the default route matters because a
      // pod without one cannot even connect() to an address outside its subnet (a service VIP),
      // so the sidecar's nat OUTPUT redirect would never see the packet, as in a real pod.
      must('ip', ['-n', this.switchNs, 'addr', 'add', `${GATEWAY_IP}/24`, 'dev', 'br0']);
    } catch (e) {
      return `cannot make a bridge in a namespace: ${e.message}`;
    }
    const nat = sh('ip', ['netns', 'exec', this.switchNs, 'iptables', '-t', 'nat', '-S']);
    if (nat.status !== 0) return `iptables nat table unavailable: ${(nat.stderr ?? '').trim()}`;
    return null;
  }

  // Adds a pod: namespace, veth to the bridge, the next address of 10.0.130.0/24 (or `host`, the
  // last octet), and /etc/netns files. `hosts`: extra { name: ip } lines for its /etc/hosts;
  // `nameserver`: its resolv.conf server (default: the switch's address, which the harness owns
  // and where nothing answers DNS; a pod with DNS interception sends its queries to its sidecar
  // whatever the address). Default route: via the switch's address.
  async addPod(name, { host, hosts = {}, nameserver } = {}) {
    if (this.pods.has(name)) throw new Error(`pod ${name} exists`);
    const octet = host ?? this.nextHost;
    this.nextHost = Math.max(this.nextHost, octet + 1);
    if (octet < 2 || octet > 254) throw new Error(`no address left for pod ${name}`);
    const ip = `${POD_PREFIX}.${octet}`;
    const ns = this.nsName(name);
    const pod = new Pod(this, name, ns, ip, this.pods.size + 1);
    this.pods.set(name, pod);
    must('ip', ['netns', 'add', ns]);
    this.createdNs.add(ns);
    const port = `p${pod.index}`;  // switch side; interface names must stay under 16 chars
    must('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    must('ip', ['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0',
      'netns', ns]);
    must('ip', ['-n', this.switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
    must('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    must('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    must('ip', ['-n', ns, 'route', 'add', 'default', 'via', GATEWAY_IP, 'dev', 'eth0']);

    const etc = join(NETNS_ETC, ns);
    mkdirSync(etc, { recursive: true });
    const server = nameserver ?? GATEWAY_IP;
    writeFileSync(join(etc, 'resolv.conf'), `nameserver ${server}\noptions timeout:1 attempts:2\n`);
    const lines = ['127.0.0.1 localhost', '::1 localhost ip6-localhost', `${ip} ${name}`,
      ...Object.entries(hosts).map(([h, a]) => `${a} ${h}`)];
    writeFileSync(join(etc, 'hosts'), `${lines.join('\n')}\n`);
    return pod;
  }

  pod(name) {
    const p = this.pods.get(name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  }

  // Stops every pod's processes, then deletes the namespaces and /etc/netns entries. Safe to
  // call twice and after a failed create().
  async destroy() {
    await Promise.all([...this.pods.values()].map((p) => p.stopAll()));
    destroySync(this);
  }
}
