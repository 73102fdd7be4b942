// `sluice init-netfilter` in a network namespace this test creates: the rules install, are
// idempotent, really redirect outbound TCP to the sidecar port, spare the proxy's uid, and are
// removed completely. Skips (saying why) where network namespaces are not allowed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as e2e from './lib/index.mjs';

// Two namespaces made by this test, joined by a veth pair: the "pod" (NS) and a "remote" host.
const NS = `sluice-nf-${process.pid}`;
const NS_REMOTE = `sluice-nfr-${process.pid}`;
const POD_ADDR = '10.213.7.1/24';
const REMOTE = '10.213.7.9';

function sh(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000, ...opts });
}
function inNs(args, opts) {
  return sh('ip', ['netns', 'exec', NS, ...args], opts);
}

let skipReason = null;
before(() => {
  if (process.getuid() !== 0) { skipReason = 'needs root for network namespaces'; return; }
  for (const ns of [NS, NS_REMOTE]) {
    const add = sh('ip', ['netns', 'add', ns]);
    if (add.status !== 0) { skipReason = `ip netns add failed: ${add.stderr.trim()}`; return; }
  }
  for (const args of [
    ['ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'link', 'add', 'sl0', 'type', 'veth', 'peer', 'name', 'sl1', 'netns', NS_REMOTE],
    ['ip', 'addr', 'add', POD_ADDR, 'dev', 'sl0'],
    ['ip', 'link', 'set', 'sl0', 'up'],
    ['ip', 'netns', 'exec', NS_REMOTE, 'ip', 'link', 'set', 'lo', 'up'],
    ['ip', 'netns', 'exec', NS_REMOTE, 'ip', 'addr', 'add', `${REMOTE}/24`, 'dev', 'sl1'],
    ['ip', 'netns', 'exec', NS_REMOTE, 'ip', 'link', 'set', 'sl1', 'up']]) {
    const r = inNs(args);
    if (r.status !== 0) { skipReason = `${args.join(' ')}: ${r.stderr.trim()}`; return; }
  }
  if (inNs(['iptables', '-t', 'nat', '-S']).status !== 0) skipReason = 'iptables nat table unavailable';
});

after(async () => {
  await e2e.cleanupAll();
  sh('ip', ['netns', 'del', NS]);
  sh('ip', ['netns', 'del', NS_REMOTE]);
});

function natRules() {
  return inNs(['iptables-save', '-t', 'nat']).stdout
    .split('\n').filter((l) => l.startsWith('-A') || l.startsWith(':SLUICE')).sort().join('\n');
}

test('rules install idempotently and are removed completely', (t) => {
  if (skipReason) return t.skip(skipReason);
  const base = natRules();
  const args = [e2e.sluiceBin(), 'init-netfilter', '--outbound-port', '15001', '--proxy-uid', '1337',
    '--inbound-port', '15006', '--exclude-inbound-ports', '22'];
  let r = inNs(args);
  assert.equal(r.status, 0, r.stderr);
  const once = natRules();
  assert.match(once, /-A OUTPUT -p tcp -j SLUICE_OUTPUT/);
  assert.match(once, /-A SLUICE_OUTPUT -m owner --uid-owner 1337 -j RETURN/);
  assert.match(once, /-A SLUICE_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
  r = inNs(args);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(natRules(), once, 'applying twice gives the same rules');
  r = inNs([e2e.sluiceBin(), 'init-netfilter', '--remove']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(natRules(), base, 'remove leaves the table as it was');
});

test('--dry-run prints the rules and changes nothing; a spec without bypass is a usage error', (t) => {
  if (skipReason) return t.skip(skipReason);
  const base = natRules();
  const r = inNs([e2e.sluiceBin(), 'init-netfilter', '--proxy-uid', '1337', '--dry-run']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\*nat/);
  assert.match(r.stdout, /COMMIT\n$/);
  assert.equal(natRules(), base);
  const bad = inNs([e2e.sluiceBin(), 'init-netfilter']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bypass/);
});

test('outbound TCP is redirected to the sidecar port; the proxy uid goes straight through', async (t) => {
  if (skipReason) return t.skip(skipReason);
  // A stand-in "sidecar" on 15001 and a stand-in "remote service" on REMOTE:80, both in NS.
  const listener = (port, host, tag) => `require('net').createServer((s)=>{s.end('${tag}\\n')})` +
    `.listen(${port},'${host}',()=>console.log('ready'))`;
  await e2e.startProcess('ip', ['netns', 'exec', NS, 'node', '-e', listener(15001, '0.0.0.0', 'sidecar')],
    { name: 'fake-sidecar', readyLine: /ready/ });
  await e2e.startProcess('ip', ['netns', 'exec', NS_REMOTE, 'node', '-e', listener(80, REMOTE, 'remote')],
    { name: 'fake-remote', readyLine: /ready/ });
  const client = `const s=require('net').connect(80,'${REMOTE}');let d='';` +
    `s.on('data',(c)=>d+=c);s.on('end',()=>{process.stdout.write(d)});` +
    `s.on('error',(e)=>{console.log('error '+e.message)});setTimeout(()=>process.exit(3),5000).unref()`;
  const apply = inNs([e2e.sluiceBin(), 'init-netfilter', '--outbound-port', '15001', '--proxy-uid', '1337']);
  assert.equal(apply.status, 0, apply.stderr);
  try {
    const app = inNs(['node', '-e', client]);
    assert.equal(app.stdout.trim(), 'sidecar', `root's connection should be intercepted: ${app.stdout}${app.stderr}`);
    const proxy = inNs(['setpriv', '--reuid=1337', '--regid=1337', '--clear-groups', 'node', '-e', client]);
    assert.equal(proxy.stdout.trim(), 'remote', `the proxy uid must bypass: ${proxy.stdout}${proxy.stderr}`);
  } finally {
    inNs([e2e.sluiceBin(), 'init-netfilter', '--remove']);
  }
});
