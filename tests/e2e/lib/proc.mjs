// Child processes for end-to-end tests: start a real binary, wait for its readiness line on
// stdout (never a sleep), keep its output for failure messages, and make sure every child dies
// with the test process, whatever way the test ends.
import { spawn } from 'node:child_process';

const live = new Set();

function killAllNow() {
  for (const p of live) {
    try { p.child.kill('SIGKILL'); } catch { /* already gone */ }
  }
  live.clear();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { killAllNow(); process.exit(130); });
}

// Path of the sluice binary under test (set by ctest); throws a clear error when missing.
export function sluiceBin() {
  const bin = process.env.SLUICE_BIN;
  if (!bin) throw new Error('SLUICE_BIN is not set (path to build/sluice)');
  return bin;
}

export function sourceDir() {
  const dir = process.env.SLUICE_SOURCE_DIR;
  if (!dir) throw new Error('SLUICE_SOURCE_DIR is not set (the repository root)');
  return dir;
}

// A started child. `stdout`/`stderr` accumulate everything printed so far.
export class Proc {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.stdout = '';
    this.stderr = '';
    this.exitInfo = null;
    this.lineWaiters = [];
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        for (const w of this.lineWaiters) w.onExit();
        resolve(this.exitInfo);
      });
    });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.stdout += d; this.checkWaiters(); });
    child.stderr.on('data', (d) => { this.stderr += d; this.checkWaiters(); });
  }

  // Writes to the child's standard input (started with `stdin: true`).
  write(text) {
    this.child.stdin.write(text);
  }

  checkWaiters() {
    for (const w of [...this.lineWaiters]) w.check();
  }

  // Output so far, for assertion messages.
  describe() {
    const info = this.exitInfo ? ` (exited code=${this.exitInfo.code} signal=${this.exitInfo.signal})` : '';
    return `--- ${this.name}${info} stdout ---\n${this.stdout}\n--- ${this.name} stderr ---\n` +
      `${this.stderr.slice(-8000)}`;
  }

  // Resolves with the regex match once `re` matches a line of stdout (or stderr when
  // `stream` is 'stderr'); rejects when the process exits first or after `timeoutMs`.
  waitForLine(re, { timeoutMs = 10_000, stream = 'stdout' } = {}) {
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const text = stream === 'stderr' ? this.stderr : this.stdout;
          const m = text.match(re);
          if (m) { done(); resolve(m); }
        },
        onExit: () => {
          done();
          reject(new Error(`${this.name} exited before printing ${re}\n${this.describe()}`));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no line matching ${re} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.lineWaiters = this.lineWaiters.filter((w) => w !== waiter);
      };
      this.lineWaiters.push(waiter);
      waiter.check();
      if (this.exitInfo && this.lineWaiters.includes(waiter)) waiter.onExit();
    });
  }

  signal(sig) {
    if (!this.exitInfo) this.child.kill(sig);
  }

  // Waits for exit, bounded; rejects with the output on timeout.
  async waitExit(timeoutMs = 10_000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(
        `${this.name} did not exit within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // Polite stop: `sig`, then SIGKILL if it has not exited within `timeoutMs`. Returns exit info.
  async stop({ sig = 'SIGTERM', timeoutMs = 5_000 } = {}) {
    if (this.exitInfo) return this.exitInfo;
    this.signal(sig);
    try {
      return await this.waitExit(timeoutMs);
    } catch {
      this.signal('SIGKILL');
      return await this.exited;
    }
  }
}

// Starts `cmd args`; when `readyLine` is given, waits (bounded by readyTimeoutMs) for it and puts
// the match in `proc.ready`. On failure the child is killed and the error carries its output.
// `stdin: true` gives the child a pipe for `proc.write()`.
export async function startProcess(cmd, args, {
  name = cmd, env = {}, cwd, readyLine, readyTimeoutMs = 15_000, readyStream = 'stdout',
  stdin = false,
} = {}) {
  const child = spawn(cmd, args, {
    cwd, env: { ...process.env, ...env }, stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const proc = new Proc(name, child);
  live.add(proc);
  await new Promise((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new Error(`cannot start ${cmd}: ${e.message}`)));
  });
  if (readyLine) {
    try {
      proc.ready = await proc.waitForLine(readyLine, { timeoutMs: readyTimeoutMs, stream: readyStream });
    } catch (e) {
      await proc.stop({ sig: 'SIGKILL' });
      throw e;
    }
  }
  return proc;
}

// Starts `sluice <args>`; `readyLine` defaults to the subcommand's "... ready:" line.
export function startSluice(args, opts = {}) {
  return startProcess(sluiceBin(), args, {
    name: `sluice ${args[0]}`, readyLine: / ready: .*\n/, ...opts,
  });
}

// Kills every child still alive (use in after()/afterEach()). Bounded by `timeoutMs` per child.
export async function stopAll(timeoutMs = 5_000) {
  await Promise.all([...live].map((p) => p.stop({ timeoutMs })));
}
