// Temporary directories and config files for end-to-end tests. Every directory made here is
// removed by removeTempDirs() (call it in after()) and, as a fallback, when the process exits.
import { mkdtempSync, rmSync, writeFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set();

export function makeTempDir(prefix = 'sluice-e2e-') {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export function removeTempDirs() {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}
process.on('exit', removeTempDirs);

// Writes a file the way editors and `kubectl apply`-like tools do: the whole new content
// appears at once (temp file in the same directory, then rename over the target).
export function writeAtomic(dir, name, text) {
  const tmp = join(dir, `.${name}.tmp-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, join(dir, name));
}

// Writes in place (truncate + write), as `echo > file` does.
export function writeInPlace(dir, name, text) {
  writeFileSync(join(dir, name), text);
}

export function removeFile(dir, name) {
  unlinkSync(join(dir, name));
}
