// A real ZooKeeper server for end-to-end tests: Debian's `zookeeper` package (3.8), run in the
// foreground as a plain JVM (ZooKeeperServerMain, standalone) with its own zoo.cfg and data
// directory in a temp dir, on the host's loopback or inside a pod.
//
//   const skip = zookeeperSkipReason();                  // null, or why not
//   const zk = await startZooKeeper();                   // zk.connectString '127.0.0.1:PORT'
//   await zk.restart();                                  // same port and data: sessions survive
//   await zk.stop();
//
// Readiness is the `ruok` four-letter word answered `imok`, never a sleep. The Jetty AdminServer
// (port 8080 by default) is off. ZooKeeper cannot report a port it picked, so on the host the
// client port is a free port picked just before (retried once if another process took it); in a
// pod it defaults to 2181 (the pod has its own network stack).
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { startProcess } from './proc.mjs';
import { freePort, waitFor, LOOPBACK } from './net.mjs';
import { makeTempDir } from './files.mjs';

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
// Debian's zookeeper.jar pulls its dependencies through its manifest Class-Path, but no slf4j
// binding: slf4j-simple (Debian's libslf4j-java, which libzookeeper-java depends on) makes its log
// visible.
const SLF4J_SIMPLE_JAR = '/usr/share/java/slf4j-simple.jar';

// null when Debian's ZooKeeper is installed, else why not. Under CI (CI=true) this throws.
export function zookeeperSkipReason() {
  const why = existsSync(ZOOKEEPER_JAR) ? null
    : `${ZOOKEEPER_JAR} missing (Debian package zookeeper; scripts/install-deps.sh installs it)`;
  if (why && process.env.CI === 'true') throw new Error(`ZooKeeper unavailable under CI: ${why}`);
  return why;
}

function ruokOnHost(host, port) {
  return new Promise((resolve) => {
    let got = '';
    const sock = net.connect(port, host, () => sock.write('ruok'));
    const timer = setTimeout(() => { sock.destroy(); resolve(false); }, 1_000);
    sock.setEncoding('utf8');
    sock.on('data', (d) => { got += d; });
    sock.on('close', () => { clearTimeout(timer); resolve(got === 'imok'); });
    sock.on('error', () => {});
  });
}

async function ruokInPod(pod, port) {
  const out = await pod.http({
    tcp: [{ host: '127.0.0.1', port, send: Buffer.from('ruok').toString('hex'), expect: 4 }],
    timeoutMs: 1_000,
  });
  return Buffer.from(out.results[0].received ?? '', 'hex').toString() === 'imok';
}

async function startOnce({ pod, host, port, tickTime, readyTimeoutMs, dir: existingDir }) {
  const dir = existingDir ?? makeTempDir('sluice-zk-');
  if (!existingDir) mkdirSync(join(dir, 'data'));
  // tickTime bounds the negotiated session timeout (2..20 ticks): with 500 ms a crashed client's
  // ephemeral nodes go away within 10 s instead of ZooKeeper's default 40 s.
  writeFileSync(join(dir, 'zoo.cfg'), [
    `tickTime=${tickTime}`,
    `dataDir=${join(dir, 'data')}`,
    `clientPort=${port}`,
    `clientPortAddress=${host}`,
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,mntr',
    '',
  ].join('\n'));
  const cp = [ZOOKEEPER_JAR, ...(existsSync(SLF4J_SIMPLE_JAR) ? [SLF4J_SIMPLE_JAR] : [])].join(':');
  const argv = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx128m', `-Duser.home=${dir}`,
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=info', '-cp', cp,
    'org.apache.zookeeper.server.ZooKeeperServerMain', join(dir, 'zoo.cfg')];
  const name = `zookeeper ${host}:${port}`;
  const proc = pod ? await pod.start('java', argv, { name }) : await startProcess('java', argv, { name });
  try {
    await waitFor(async () => {
      if (proc.exitInfo) throw new Error(`${name} exited`);
      return pod ? ruokInPod(pod, port) : ruokOnHost(host, port);
    }, { timeoutMs: readyTimeoutMs, intervalMs: 200, what: `${name} to answer ruok` });
  } catch (e) {
    await proc.stop({ sig: 'SIGKILL' });
    throw new Error(`${e.message}\n${proc.describe()}`);
  }
  const reachable = pod ? pod.ip : host;
  const zk = {
    proc, host: reachable, port, dir,
    connectString: `${reachable}:${port}`,
    stop: (opts) => zk.proc.stop(opts),
    kill: () => zk.proc.stop({ sig: 'SIGKILL' }),
    // Stops the server (`sig`, SIGTERM by default) and starts it again on the same port and data
    // directory, as a restarted real server: persistent nodes and sessions survive (a session
    // expires only if its client does not come back within its timeout). `zk.proc` is the new
    // process afterwards.
    restart: async ({ sig = 'SIGTERM' } = {}) => {
      await zk.proc.stop({ sig });
      const again = await startOnce({ pod, host, port, tickTime, readyTimeoutMs, dir });
      zk.proc = again.proc;
    },
  };
  return zk;
}

// Starts a standalone ZooKeeper. Options: `pod` (run inside it, listening on every address of
// the pod), `host` (host only; default 127.0.0.1), `port`, `tickTime` (ms, default 500),
// `readyTimeoutMs`. Resolves { proc, host, port, connectString, dir, stop(), kill() }.
export async function startZooKeeper({ pod, host, port, tickTime = 500, readyTimeoutMs = 60_000 } = {}) {
  const bindHost = pod ? '0.0.0.0' : (host ?? LOOPBACK);
  const tries = port || pod ? 1 : 2;
  let lastError;
  for (let i = 0; i < tries; ++i) {
    const p = port ?? (pod ? 2181 : await freePort(bindHost));
    try {
      return await startOnce({ pod, host: bindHost, port: p, tickTime, readyTimeoutMs });
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError;
}
