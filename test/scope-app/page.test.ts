import test from 'ava';
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { waitFor } from '@saas/kit/testing';
import { postReport, reportFixture, startApp, weaveFixture } from './helpers.ts';
import { encodeReport, ids, KEYS, makeNode, topologyOf } from '../../images/scope/src/report/index.ts';
import { FIXED_NOW, syntheticReport } from '../../fixtures/reports/synthetic.ts';

interface PageNode {
  id: string;
  label: string;
  labelMinor: string;
}

let browser: Browser;
test.before(async () => {
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
});

test('the map page, behind an /api/app/{org}/ prefix, shows the reported host and processes live', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  // the app is reached through a proxy that strips the prefix, as app-mapper does (websockets too)
  const front = Fastify();
  await front.register(proxy, { upstream: app.url, prefix: '/api/app/acme', rewritePrefix: '', websocket: true });
  await front.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => front.close());
  const address = front.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const frontUrl = `http://127.0.0.1:${address.port}`;

  t.is((await postReport(app.url, weaveFixture('report-1.msgpack.gz'), { 'X-Scope-Probe-ID': '7e512193219ff971' })).status, 200);

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(r.url()));
  page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
  });
  await page.goto(`${frontUrl}/api/app/acme/`);

  // processes, the default view, drawn as a graph from the websocket; the weave fixture's processes have no
  // connections: hidden by default, as in Scope, shown on request
  await page.waitForSelector('#filter-note:has-text("2 filtered")');
  await page.click('[data-option="unconnected"] button[data-value="show"]');
  const procs = await waitFor('processes on the page', async () => {
    const nodes = await page.evaluate(() => window.scope?.nodes() ?? []);
    return (nodes as PageNode[]).length >= 2 ? (nodes as PageNode[]) : undefined;
  });
  t.deepEqual(procs.map((n) => n.label).sort(), ['node', 'scope']);
  const drawn = await page.evaluate(() => document.querySelectorAll('#graph canvas').length);
  t.true(drawn > 0);
  await page.waitForSelector('#status-text:text("live")');
  await page.waitForSelector('#probes:text("1 probe: vm")');
  await page.waitForSelector('#topologies button[data-topology="hosts"]');

  // a new probe's report shows up without a reload
  t.is((await postReport(app.url, reportFixture('world-host-1.msgpack.gz'), { 'X-Scope-Probe-ID': 'probe-1' })).status, 200);
  await waitFor('host-1 processes on the page', async () => {
    const nodes = (await page.evaluate(() => window.scope?.nodes() ?? [])) as PageNode[];
    return nodes.some((n) => n.labelMinor === 'host-1 (100)');
  });

  // hosts, as a table; search narrows it; a row opens the details
  await page.click('#topologies button[data-topology="hosts"]');
  await page.click('#mode-table');
  await page.waitForSelector('#table-body tr:has-text("vm")');
  await page.waitForSelector('#table-body tr:has-text("host-1")');
  await page.fill('#search', 'vm');
  await waitFor('the search to narrow the table', async () => (await page.locator('#table-body tr').count()) === 1);
  await page.click('#table-body tr:has-text("vm")');
  await page.waitForSelector('#details h2:text("vm")');
  const details = await page.locator('#details').innerText();
  t.regex(details, /Hostname\s+vm/);
  t.regex(details, /Kernel version\s+6\.18\.44-generic/);
  t.regex(details, /Connections \(0 in, 0 out\)/i);

  // the process view's details link to the process's host
  await page.fill('#search', '');
  await page.click('#topologies button[data-topology="processes"]');
  // the choice to show unconnected processes was remembered
  await page.waitForSelector('#table-body tr:has-text("scope")');
  await page.click('#table-body tr:has-text("scope")');
  await page.waitForSelector('#details h2:text("scope")');
  t.regex(await page.locator('#details').innerText(), /PID\s+1/);
  await page.click('#details a:text("vm")');
  await page.waitForSelector('#details h2:text("vm")');
  t.is(await page.evaluate(() => window.scope?.topology()), 'hosts');

  t.deepEqual(errors, []);
  t.deepEqual(failed, []);
});

test('the map page also works at the prefix without its trailing slash', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  const front = Fastify();
  await front.register(proxy, { upstream: app.url, prefix: '/api/app/acme', rewritePrefix: '', websocket: true });
  await front.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => front.close());
  const address = front.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  await postReport(app.url, weaveFixture('report-1.msgpack.gz'));
  const page = await browser.newPage();
  t.teardown(() => page.close());
  await page.goto(`http://127.0.0.1:${address.port}/api/app/acme#topology=hosts&mode=table`);
  await page.waitForSelector('#table-body tr:has-text("vm")');
  t.pass();
});

test('the processes map hides unconnected processes and kernel threads by default, says how many, and remembers the choice', async (t) => {
  const app = await startApp();
  t.teardown(() => app.stop());
  // the synthetic world (every process talks to another host) plus, on host-0, a lone process and a kernel thread
  const r = syntheticReport();
  const procs = topologyOf(r, 'Process');
  const host = ids.host('host-0');
  const lone = makeNode(ids.process('host-0', 900), 'process');
  const kthread = makeNode(ids.process('host-0', 901), 'process');
  for (const [n, pid, name, cmdline] of [[lone, '900', '/usr/sbin/cron', '/usr/sbin/cron -f'], [kthread, '901', '[kworker/0:1-events]', '']] as const) {
    n.latest[KEYS.pid] = { timestamp: FIXED_NOW, value: pid };
    n.latest[KEYS.name] = { timestamp: FIXED_NOW, value: name };
    if (cmdline) n.latest[KEYS.cmdline] = { timestamp: FIXED_NOW, value: cmdline };
    n.latest[KEYS.hostNodeID] = { timestamp: FIXED_NOW, value: host };
    n.parents.host = [host];
    procs.nodes[n.id] = n;
  }
  t.is((await postReport(app.url, encodeReport(r, { gzip: false }).body, { 'Content-Type': 'application/msgpack' })).status, 200);

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${app.url}/`);

  // the server leaves both out (Scope's unconnected=hide: neither has a connection)
  await page.waitForSelector('#filter-note:text("2 filtered by the view\'s options")');
  const all = (await page.evaluate(() => window.scope?.nodes() ?? [])) as PageNode[];
  t.falsy(all.find((n) => n.labelMinor === 'host-0 (900)' || n.labelMinor === 'host-0 (901)'));
  t.true((await page.evaluate(() => window.scope?.shown() ?? [])).length >= 4);
  t.true(await page.isChecked('#hide-kernel'));
  await page.waitForSelector('[data-option="unconnected"] button.active:text("Hide unconnected")');

  // showing the unconnected ones draws the lone process, not the kernel thread (the page hides those); the choice survives a reload
  await page.click('[data-option="unconnected"] button:text("Show unconnected")');
  await page.waitForSelector('#filter-note:text("1 kernel thread hidden")');
  const loneNode = await waitFor('the lone process', async () => ((await page.evaluate(() => window.scope?.nodes() ?? [])) as PageNode[]).find((n) => n.labelMinor === 'host-0 (900)'));
  const kernelNode = ((await page.evaluate(() => window.scope?.nodes() ?? [])) as PageNode[]).find((n) => n.labelMinor === 'host-0 (901)');
  t.truthy(kernelNode);
  t.false((await page.evaluate(() => window.scope?.shown() ?? [])).includes(kernelNode!.id));
  await waitFor('the lone process drawn', async () => (await page.evaluate(() => window.scope?.shown() ?? [])).includes(loneNode.id));
  await page.reload();
  await page.waitForSelector('[data-option="unconnected"] button.active:text("Show unconnected")');
  await waitFor('the lone process drawn after the reload', async () => (await page.evaluate(() => window.scope?.shown() ?? [])).includes(loneNode.id));

  // the kernel-thread toggle, and the table honours the same filters
  await page.uncheck('#hide-kernel');
  await page.waitForSelector('#filter-note', { state: 'hidden' });
  t.true((await page.evaluate(() => window.scope?.shown() ?? [])).includes(kernelNode!.id));
  await page.check('#hide-kernel');
  await page.click('#mode-table');
  await page.waitForSelector('#table-body tr:has-text("host-0 (900)")');
  t.is(await page.locator('#table-body tr:has-text("host-0 (901)")').count(), 0);

  // hosts have no options and no kernel-thread toggle
  await page.click('#topologies button[data-topology="hosts"]');
  await page.waitForSelector('#table-body tr:has-text("host-2")');
  t.is(await page.locator('#options .option-group').count(), 0);
  t.false(await page.isVisible('#hide-kernel'));
  t.deepEqual(errors, []);
});
