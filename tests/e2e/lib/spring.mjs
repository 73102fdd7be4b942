// Real Spring Cloud applications as test peers: the jars of examples/spring-cloud (built by
// `make spring-apps`), started as their own JVMs on the host's loopback or inside a pod.
//
//   const skip = springSkipReason(['eureka-server', 'demo-eureka']);   // null, or why not
//   const server = await startEurekaServer();                           // server.eurekaUrl
//   const v1 = await startDemoApp('eureka', { role: 'provider', version: 'v1', registry: server.eurekaUrl });
//   const consumer = await startDemoApp('eureka', { role: 'consumer', registry: server.eurekaUrl });
//   const r = await consumer.get('/echo/world');                        // { status, body }
//   await v1.stop();                                                    // graceful: deregisters
//
// Every app binds server.port=0; the port is read back from Spring Boot's "Tomcat started on port
// N" line, and readiness is Spring Boot's own actuator health (GET /actuator/health -> "UP"), never
// a sleep. Each JVM gets its own temporary user.home (nacos-client and Tomcat write there), removed
// by cleanupAll(). On the host an app binds 127.0.0.1 only; in a pod it binds every address of the
// pod and registers the pod's address (what InetUtils finds on eth0) unless `ip` says otherwise.
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startProcess, sourceDir } from './proc.mjs';
import { request, waitFor, LOOPBACK } from './net.mjs';
import { makeTempDir } from './files.mjs';

export const SPRING_FLAVOURS = ['eureka', 'zookeeper', 'nacos', 'consul'];

// Options for short-lived test JVMs: C1 only and the serial collector start a Spring Boot app about
// twice as fast on a small, busy machine; -Xshare:auto uses the class-data archives (the JDK's,
// and the app's own app.jsa when build-spring-apps.sh trained one: another 2-3x). Keep in sync
// with JVM_OPTIONS of scripts/build-spring-apps.sh (the training run).
export const SPRING_JVM_OPTIONS = ['-XX:TieredStopAtLevel=1', '-Xshare:auto', '-XX:+UseSerialGC',
  '-Xss512k', '-Xmx256m'];

// JVM start-up on a 2-core machine shared with builds takes seconds to tens of seconds.
const DEFAULT_READY_TIMEOUT_MS = 180_000;

// Where `make spring-apps` puts the jars (SLUICE_SPRING_APPS_DIR overrides).
export function springAppsDir() {
  return process.env.SLUICE_SPRING_APPS_DIR ??
    join(sourceDir(), 'examples', 'spring-cloud', 'target', 'apps');
}

// Path of a built app's jar: 'eureka-server', 'demo-eureka', ... (target/apps/NAME/NAME.jar, the
// extracted layout with lib/ beside it).
export function springJar(name) {
  const base = name.replace(/\.jar$/, '');
  return join(springAppsDir(), base, `${base}.jar`);
}

// The class-data archive trained for a jar by build-spring-apps.sh (app.jsa beside it), or null.
function classDataArchive(jarPath) {
  const jsa = join(dirname(jarPath), 'app.jsa');
  return existsSync(jsa) ? jsa : null;
}

// null when java and every named jar are there; otherwise why a test cannot run. Under CI
// (CI=true) a missing piece is a build failure, not a reason to skip: this throws instead.
export function springSkipReason(jars) {
  let why = null;
  const java = spawnSync('java', ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (java.status !== 0) {
    why = 'java is not installed (scripts/install-deps.sh installs JDK 17)';
  } else {
    const missing = jars.map(springJar).filter((p) => !existsSync(p));
    if (missing.length) why = `not built: ${missing.join(', ')} (run \`make spring-apps\`)`;
  }
  if (why && process.env.CI === 'true') throw new Error(`Spring apps unavailable under CI: ${why}`);
  return why;
}

// A started Spring Boot application.
export class SpringApp {
  constructor(proc, { pod, host, port, name }) {
    this.proc = proc;
    this.pod = pod ?? null;
    this.host = host;   // where other processes reach it (127.0.0.1, or the pod's address)
    this.port = port;
    this.name = name;
  }

  url(path = '/') { return `http://${this.host}:${this.port}${path}`; }

  // GET `path` from where the app runs (the host, or inside its pod on the pod's loopback).
  // Resolves { status, body } or { error }; never rejects.
  async get(path, { timeoutMs = 5_000 } = {}) {
    if (this.pod) {
      const out = await this.pod.http({ requests: [`http://127.0.0.1:${this.port}${path}`], timeoutMs });
      return out.results[0];
    }
    try {
      const r = await request({ host: this.host, port: this.port, path, timeoutMs });
      return { status: r.status, body: r.body };
    } catch (e) {
      return { error: e.message };
    }
  }

  // Spring Boot's aggregated health status ('UP', 'DOWN', ...) or null when unreachable.
  async health() {
    const r = await this.get('/actuator/health', { timeoutMs: 3_000 });
    if (r.status === undefined) return null;
    try {
      return JSON.parse(r.body).status ?? null;
    } catch {
      return null;
    }
  }

  describe() { return this.proc.describe(); }

  // Graceful stop (SIGTERM: Spring deregisters from its registry), SIGKILL after `timeoutMs`.
  stop({ timeoutMs = 20_000 } = {}) { return this.proc.stop({ timeoutMs }); }

  // A crash: no deregistration, the registry must notice by itself.
  kill() { return this.proc.stop({ sig: 'SIGKILL' }); }
}

// Starts `java -jar <jar>` with `props` as --key=value arguments (server.port defaults to 0) and
// resolves once the port is known and /actuator/health says UP. `pod`: a Pod of pods.mjs to run
// in. `jvmArgs` go before -jar (e.g. -Dkey=value system properties). Bounded by readyTimeoutMs;
// on failure the JVM is killed and the error carries its output.
export async function startSpringApp(jar, {
  name, props = {}, args = [], jvmArgs = [], pod, env, readyTimeoutMs = DEFAULT_READY_TIMEOUT_MS,
} = {}) {
  // Canonical: the class-data archive only applies to the class path spelled as in its training.
  const jarPath = realpathSync(jar.includes('/') ? jar : springJar(jar));
  const appName = name ?? jarPath.split('/').pop().replace(/\.jar$/, '');
  const home = makeTempDir('sluice-spring-');
  const allProps = { 'server.port': 0, ...(pod ? {} : { 'server.address': LOOPBACK }), ...props };
  const jsa = classDataArchive(jarPath);
  const argv = [...SPRING_JVM_OPTIONS, ...(jsa ? [`-XX:SharedArchiveFile=${jsa}`] : []),
    `-Duser.home=${home}`, `-Djava.io.tmpdir=${home}`, ...jvmArgs, '-jar', jarPath,
    ...Object.entries(allProps).map(([k, v]) => `--${k}=${v}`), ...args];
  const started = Date.now();
  const proc = pod
    ? await pod.start('java', argv, { name: appName, env })
    : await startProcess('java', argv, { name: appName, env });
  try {
    const m = await proc.waitForLine(/Tomcat started on port (\d+)/, { timeoutMs: readyTimeoutMs });
    const app = new SpringApp(proc, {
      pod, host: pod ? pod.ip : (allProps['server.address'] ?? LOOPBACK), port: Number(m[1]), name: appName,
    });
    await waitFor(async () => {
      if (proc.exitInfo) throw new Error(`${appName} exited`);
      return (await app.health()) === 'UP';
    }, {
      timeoutMs: Math.max(1_000, readyTimeoutMs - (Date.now() - started)), intervalMs: 250,
      what: `${appName} /actuator/health UP`,
    });
    app.startupMs = Date.now() - started;
    return app;
  } catch (e) {
    await proc.stop({ sig: 'SIGKILL' });
    throw new Error(`${e.message}\n${proc.describe()}`);
  }
}

// The real Eureka server (eureka-server.jar, test timings). Resolves a SpringApp with
// `eurekaUrl` = http://<host>:<port>/eureka/ (the clients' defaultZone).
export async function startEurekaServer(opts = {}) {
  const app = await startSpringApp('eureka-server', { name: 'eureka-server', ...opts });
  app.eurekaUrl = app.url('/eureka/');
  return app;
}

function hostAndPort(text) {
  const i = text.lastIndexOf(':');
  return { host: text.slice(0, i), port: text.slice(i + 1) };
}

// The registry address and the registered instance address as each flavour's properties.
// `registry`: eureka: the defaultZone URL (or HOST:PORT, meaning http://HOST:PORT/eureka/);
// zookeeper: the connect string; nacos: HOST:PORT of the HTTP port (gRPC is +1000); consul:
// HOST:PORT of the agent. `ip`: the address the instance registers.
export function demoRegistryProps(flavour, { registry, ip } = {}) {
  const props = {};
  switch (flavour) {
    case 'eureka':
      if (registry) {
        props['eureka.client.service-url.defaultZone'] =
          /^https?:\/\//.test(registry) ? registry : `http://${registry}/eureka/`;
      }
      if (ip) props['eureka.instance.ip-address'] = ip;
      break;
    case 'zookeeper':
      if (registry) props['spring.cloud.zookeeper.connect-string'] = registry;
      // With prefer-ip-address (the jar's default) the IP wins over the host name: set both.
      if (ip) {
        props['spring.cloud.zookeeper.discovery.instance-host'] = ip;
        props['spring.cloud.zookeeper.discovery.instance-ip-address'] = ip;
      }
      break;
    case 'nacos':
      if (registry) props['spring.cloud.nacos.discovery.server-addr'] = registry;
      if (ip) props['spring.cloud.nacos.discovery.ip'] = ip;
      break;
    case 'consul': {
      if (registry) {
        const { host, port } = hostAndPort(registry);
        props['spring.cloud.consul.host'] = host;
        props['spring.cloud.consul.port'] = port;
      }
      if (ip) props['spring.cloud.consul.discovery.ip-address'] = ip;
      break;
    }
    default:
      throw new Error(`unknown Spring flavour ${flavour} (one of ${SPRING_FLAVOURS.join(', ')})`);
  }
  return props;
}

// Starts the seed's demo app of a flavour (demo-<flavour>.jar): `role` 'provider' (answers
// "Hello Nacos Discovery From <version><s>", registers metadata label=<version>) or 'consumer'
// (calls http://service-provider/echo/{s} through Spring Cloud LoadBalancer). `fast` (default)
// activates the jar's `fast` profile: 1 s load-balancer cache and, for Eureka, 1 s fetch/renew.
// `ip` defaults to 127.0.0.1 on the host and to the pod's address in a pod.
export function startDemoApp(flavour, {
  role, version = 'v1', registry, ip, fast = true, pod, props = {}, name, ...rest
} = {}) {
  if (role !== 'provider' && role !== 'consumer') throw new Error(`role must be provider or consumer, not ${role}`);
  const profiles = [role, ...(fast ? ['fast'] : [])].join(',');
  const allProps = {
    'spring.profiles.active': profiles,
    ...(role === 'provider' ? { 'demo.version': version } : {}),
    ...demoRegistryProps(flavour, { registry, ip: ip ?? (pod ? pod.ip : LOOPBACK) }),
    ...props,
  };
  const appName = name ?? `${flavour} ${role}${role === 'provider' ? ` ${version}` : ''}`;
  return startSpringApp(`demo-${flavour}`, { name: appName, props: allProps, pod, ...rest });
}
