// The mesh page (/ui) in a real browser: `sluice demo --keep` (the built-in apps on the embedded
// Nacos registry) and Debian's headless Chromium driven by playwright-core. The page loads without
// console errors, shows both provider versions, and once the seed's rules are applied the
// /echo/hello edge to v2 (the demo's steady traffic is GET /echo/hello) drops to zero within a
// few seconds — read from the page's DOM. A screenshot is kept in <build>/test-artifacts/.
// ctest-resource-lock: demo-addresses (sluice demo's 127.0.0.11-13 and registry ports)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import * as e2e from './lib/index.mjs';

after(e2e.cleanupAll);

const CHROMIUM = '/usr/bin/chromium';
const EDGE = (version) =>
  `#graph .edge[data-service="service-provider"][data-version="${version}"]`;

test('the mesh page shows the seed\'s split move: /echo/hello to v2 drops to zero after the rules',
  { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM} (scripts/install-deps.sh installs chromium)`,
    timeout: 240_000 },
  async () => {
    const work = e2e.makeTempDir('sluice-ui-demo-');
    const demo = await e2e.startProcess(e2e.sluiceBin(), [
      'demo', '--examples', join(e2e.sourceDir(), 'examples/seed'), '--work-dir', work,
      '--keep', '--apply-on-enter',
    ], { name: 'sluice demo', stdin: true,
         readyLine: /Mesh page: (http:\/\/[\d.:]+\/ui) .*, (http:\/\/[\d.:]+\/ui) \(the gateway\)/,
         readyTimeoutMs: 90_000 });
    const url = demo.ready[1];
    const gatewayUrl = demo.ready[2];
    const adminBase = url.replace(/\/ui$/, '');

    // Root (CI) cannot use Chromium's sandbox.
    const browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
    });
    const problems = [];
    let page;
    try {
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      const response = await page.goto(url);
      assert.equal(response.status(), 200);

      // Both provider versions, and traffic to both before the rules (round robin; the demo
      // holds that state, with steady /echo/hello requests, until Enter).
      await page.waitForSelector('#graph .node.version[data-version="v1"]', { timeout: 60_000 });
      await page.waitForSelector('#graph .node.version[data-version="v2"]', { timeout: 10_000 });
      const bothServed = page.waitForFunction(([a, b]) => {
        const rps = (s) => Number(document.querySelector(s)?.dataset.rps ?? 0);
        return rps(a) > 0 && rps(b) > 0;
      }, [EDGE('v1'), EDGE('v2')], { timeout: 60_000 });
      await bothServed.catch(() => {});  // the assertion below says what was seen
      const before = await page.evaluate(([a, b]) => [a, b].map(
        (s) => Number(document.querySelector(s)?.dataset.rps ?? -1)), [EDGE('v1'), EDGE('v2')]);
      assert.ok(before[0] > 0 && before[1] > 0,
        `before the rules both versions get /echo/hello traffic (v1 ${before[0]}, v2 ${before[1]} req/s)\n${demo.describe()}`);

      // Enter: the rules go in; the demo's step 3 ends with "Everything is still running".
      demo.write('\n');
      await demo.waitForLine(/the sidecar reports the new rules/, { timeoutMs: 60_000 });
      await demo.waitForLine(/Everything is still running/, { timeoutMs: 60_000 });
      const applied = Date.now();
      await page.waitForFunction(([a, b]) => {
        const rps = (s) => Number(document.querySelector(s)?.dataset.rps ?? -1);
        return rps(a) > 0 && rps(b) === 0;
      }, [EDGE('v1'), EDGE('v2')], { timeout: 10_000 });
      const seconds = (Date.now() - applied) / 1000;
      assert.ok(seconds < 10, `v2 reached zero ${seconds} s after the steps`);
      // The table under the graph says the same.
      const row = await page.$eval('#edges tr[data-service="service-provider"][data-version="v2"]',
        (tr) => Number(tr.dataset.rps));
      assert.equal(row, 0);

      // The other panels: the seed's route, both endpoints with their labels, the registry.
      await page.waitForSelector('#routes tr[data-route$="/hello-v1"]', { timeout: 10_000 });
      const clusters = await page.textContent('#clusters');
      assert.match(clusters, /label=v1/);
      assert.match(clusters, /label=v2/);
      assert.match(await page.textContent('#registries'), /nacos:\/\/.*reachable/s);
      assert.match(await page.textContent('#status'), /live/);

      // A broken resource shows among the config problems with its file:line, no reload.
      e2e.writeAtomic(join(work, 'mesh-config'), 'broken.yaml', [
        'apiVersion: networking.istio.io/v1alpha3', 'kind: VirtualService',
        'metadata: {name: broken}', 'spec:', '  hosts: [service-provider]', '  http:',
        '  - timeout: soon', '    route: [{destination: {host: service-provider}}]', ''].join('\n'));
      await page.waitForFunction(() => [...document.querySelectorAll('#problems .where')]
        .some((w) => /broken\.yaml:\d+/.test(w.textContent)), null, { timeout: 15_000 });

      // The JSON the page reads is the scripts' too: the subset edges carry the Istio series.
      const stats = await (await fetch(`${adminBase}/stats/json`)).json();
      assert.equal(stats.source_workload, 'consumer');
      const v1 = stats.edges.find((x) => x.destination_service_name === 'service-provider' &&
                                         x.destination_version === 'v1');
      assert.ok(v1 && v1.requests_total > 0, JSON.stringify(stats.edges));

      // The gateway's page: its own workload -> the consumer, with the steady traffic on it.
      const gateway = await browser.newPage({ viewport: { width: 1280, height: 700 } });
      gateway.on('console', (m) => { if (m.type() === 'error') problems.push(`gateway console: ${m.text()}`); });
      gateway.on('pageerror', (err) => problems.push(`gateway page error: ${err.message}`));
      assert.equal((await gateway.goto(gatewayUrl)).status(), 200);
      await gateway.waitForFunction(() => Number(document.querySelector(
        '#graph .edge[data-service="consumer"]')?.dataset.rps ?? 0) > 0, null, { timeout: 15_000 });
      assert.match(await gateway.textContent('#who'), /gateway istio-ingressgateway/);
      assert.deepEqual(problems, [], problems.join('\n'));
    } finally {
      // The artefact, whatever the outcome: what a person would have seen.
      const shots = join(dirname(e2e.sluiceBin()), 'test-artifacts');
      mkdirSync(shots, { recursive: true });
      if (page) await page.screenshot({ path: join(shots, 'mesh-ui.png'), fullPage: true });
      await browser.close();
    }
    const exit = await demo.stop({ sig: 'SIGTERM', timeoutMs: 15_000 });
    assert.equal(exit.code, 130, `--keep ends on SIGTERM, stopping its processes\n${demo.describe()}`);
  });
