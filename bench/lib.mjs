// What the bench scripts share: process CPU and memory from /proc, and a sleep.
import { readFileSync } from 'node:fs';

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
