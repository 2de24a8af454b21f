import test from 'ava';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from '@saas/kit/testing';
import { launchChromium } from '../helpers/chromium.ts';
import { behindPrefix, postReport, startApp, type RunningApp } from './helpers.ts';
import { kubeWorld } from './kube-world.ts';
import { ReportStore } from '../../images/scope/src/app/store.ts';
import { encodeReport, type Report } from '../../images/scope/src/report/index.ts';
import { syntheticReport } from '../../fixtures/reports/synthetic.ts';

/** Screenshots a person looks at (the test checks what it can measure): in the OS temp dir. */
const SHOTS = path.join(os.tmpdir(), 'scope-map-screenshots');
mkdirSync(SHOTS, { recursive: true });

let browser: Browser;
test.before(async () => {
  browser = await launchChromium();
});
test.after.always(async () => {
  await browser?.close();
});

async function appWith(...reports: Report[]): Promise<RunningApp> {
  // reports count for 15 s in the app; these pages take longer on a busy machine
  const app = await startApp({ store: new ReportStore({ windowMs: 10 * 60_000 }) });
  let i = 0;
  for (const r of reports) {
    const res = await postReport(app.url, encodeReport(r, { gzip: false }).body, { 'Content-Type': 'application/msgpack', 'X-Scope-Probe-ID': `probe-${i++}` });
    if (res.status !== 200) throw new Error(`report: ${res.status}`);
  }
  return app;
}

async function open(t: { teardown(f: () => unknown): void }, url: string, width = 1400, height = 900): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

const labels = (page: Page) => page.evaluate(() => (window.scope?.labels() ?? []).sort());
const shownCount = async (page: Page) => (await page.evaluate(() => window.scope?.shown() ?? [])).length;

test('the views, their sub-topologies and options: pods → controllers, a namespace, all containers', async (t) => {
  const app = await appWith(kubeWorld());
  t.teardown(() => app.stop());
  const { page, errors } = await open(t, `${app.url}/`);
  await page.click('#topologies button[data-topology="pods"]');
  await page.waitForSelector('#subtopologies button[data-topology="kube-controllers"]');
  t.deepEqual(await page.locator('#subtopologies button').evaluateAll((bs) => bs.map((b) => (b as HTMLElement).dataset.topology)), ['pods', 'kube-controllers', 'services']);
  await page.click('#subtopologies button[data-topology="kube-controllers"]');
  await waitFor('the controllers', async () => (await labels(page)).length === 5);
  t.deepEqual(await labels(page), ['backup\n1 pod', 'cache\n1 pod', 'coredns\n1 pod', 'log-agent\n1 pod', 'web\n2 pods']);
  // the parent stays marked while one of its sub-topologies is shown
  t.true(await page.locator('#topologies button[data-topology="pods"]').evaluate((b) => b.classList.contains('active')));
  await page.screenshot({ path: path.join(SHOTS, 'controllers.png') });

  await page.click('[data-option="namespace"] button[data-value="kube-system"]');
  await waitFor('kube-system only', async () => (await labels(page)).join() === 'coredns\n1 pod');
  await page.click('[data-option="namespace"] button:text("All Namespaces")');
  await waitFor('every namespace again', async () => (await labels(page)).length === 5);

  // containers: application ones that run by default; all of them on request, the badge counting along
  await page.click('#topologies button[data-topology="containers"]');
  await waitFor('5 application containers', async () => (await shownCount(page)) === 5);
  await page.click('[data-option="system"] button[data-value="all"]');
  await page.click('[data-option="stopped"] button[data-value="both"]');
  await waitFor('all 8 containers', async () => (await shownCount(page)) === 8);
  await waitFor('the badge to count them', async () => (await page.textContent('#topologies button[data-topology="containers"] .count')) === '8');
  // by image: one node per image, saying how many containers it stands for
  await page.click('#subtopologies button[data-topology="containers-by-image"]');
  await waitFor('images', async () => (await labels(page)).includes('nginx\n2 containers'));
  t.true((await labels(page)).includes('busybox\n2 containers'));
  t.deepEqual(errors, []);
});

test('the graph: both labels under each node, the first layout fits 1400×900, zoom, fit and pan, closing the details keeps the centre', async (t) => {
  const app = await appWith(syntheticReport({ hosts: 8, processesPerHost: 8 }));
  t.teardown(() => app.stop());
  const { page, errors } = await open(t, `${app.url}/`);
  await waitFor('the processes drawn', async () => (await shownCount(page)) >= 60);
  await page.waitForTimeout(300);
  t.true((await labels(page)).includes('nginx\nhost-1 (100)'));
  t.true(await page.evaluate(() => window.scope!.inView()), 'every node, the lowest too, is in the window');
  await page.screenshot({ path: path.join(SHOTS, 'processes-1400x900.png') });

  const z0 = await page.evaluate(() => window.scope!.zoom());
  await page.click('#zoom-in');
  t.true((await page.evaluate(() => window.scope!.zoom())) > z0);
  await page.click('#zoom-out');
  await page.click('#zoom-out');
  t.true((await page.evaluate(() => window.scope!.zoom())) < z0);
  const id = 'host-1;100';
  const before = (await page.evaluate((i) => window.scope!.where(i), id))!;
  await page.click('#pan-left');
  const after = (await page.evaluate((i) => window.scope!.where(i), id))!;
  t.is(Math.round(after.x - before.x), 120);
  await page.keyboard.press('ArrowUp');
  t.is(Math.round((await page.evaluate((i) => window.scope!.where(i), id))!.y - after.y), 120);
  await page.click('#zoom-fit');
  t.true(await page.evaluate(() => window.scope!.inView()));

  // a node clicked opens its details and is centred; Esc closes them and it is still in the middle of the wider graph
  const box = (await page.locator('#graph').boundingBox())!;
  const at = (await page.evaluate((i) => window.scope!.where(i), id))!;
  await page.mouse.click(box.x + at.x, box.y + at.y);
  await page.waitForSelector('#details h2:text("nginx")');
  await page.waitForTimeout(400); // the centring animation
  const open1 = (await page.evaluate((i) => window.scope!.where(i), id))!;
  t.true(Math.abs(open1.x - open1.width / 2) < 3, `centred with the panel open: ${open1.x} of ${open1.width}`);
  await page.keyboard.press('Escape');
  await page.waitForSelector('#details', { state: 'hidden' });
  const closed = (await page.evaluate((i) => window.scope!.where(i), id))!;
  t.true(closed.width > open1.width);
  t.true(Math.abs(closed.x - closed.width / 2) < 3, `still centred with the panel closed: ${closed.x} of ${closed.width}`);
  t.deepEqual(errors, []);
});

test('search: Scope\'s syntax, matches counted in the footer; / and Esc, g and t; table columns sort; a URL opens a node', async (t) => {
  const app = await appWith(syntheticReport({ hosts: 5, processesPerHost: 6 }));
  t.teardown(() => app.stop());
  const { page, errors } = await open(t, `${app.url}/`);
  await waitFor('the processes drawn', async () => (await shownCount(page)) >= 30);
  const total = await shownCount(page);
  await page.keyboard.press('/');
  t.is(await page.evaluate(() => document.activeElement?.id), 'search');
  await page.keyboard.type('pid: 101');
  await page.waitForSelector(`#counts:text("5 of ${total} nodes shown match “pid: 101”")`);
  await page.fill('#search', 'nginx|redis');
  await waitFor('alternatives', async () => /^\d+ of/.test((await page.textContent('#counts')) ?? ''));
  const alternatives = Number(/^(\d+)/.exec((await page.textContent('#counts'))!)![1]);
  const expected = ((await page.evaluate(() => window.scope!.nodes())) as { label: string }[]).filter((n) => /nginx|redis/i.test(n.label)).length;
  t.is(alternatives, expected);
  await page.fill('#search', 'cpu > 4%');
  await waitFor('a metric comparison', async () => /^\d+ of/.test((await page.textContent('#counts')) ?? ''));
  await page.screenshot({ path: path.join(SHOTS, 'search.png') });

  // Esc empties and leaves the search box; then t and g switch table and graph; the table shows the matches only
  await page.keyboard.press('Escape');
  t.not(await page.evaluate(() => document.activeElement?.id), 'search');
  await page.waitForSelector(`#counts:text("${total} nodes shown")`);
  await page.fill('#search', 'pid: 101');
  await page.locator('#search').blur();
  await page.keyboard.press('t');
  await page.waitForSelector('#table:not(.hidden)');
  t.is(await page.locator('#table-body tr').count(), 5);
  // Name sorts, and a second click sorts the other way
  const names = () => page.locator('#table-body tr td.name div:first-child').allTextContents();
  const minors = () => page.locator('#table-body tr td.name .minor').allTextContents();
  await page.click('#table-head th[data-column="name"]');
  await waitFor('descending', async () => (await page.getAttribute('#table-head th[data-column="name"]', 'aria-sort')) === 'descending');
  const down = await names();
  t.deepEqual(down, [...down].sort().reverse());
  // CPU sorts by the number
  await page.fill('#search', '');
  await page.click('#table-head th:text("CPU")');
  const cpus = (await page.locator('#table-body tr td.num:nth-child(4)').allTextContents()).filter((s) => s !== '').map((s) => parseFloat(s));
  t.true(cpus.length > 10, `CPU cells: ${JSON.stringify(await page.locator('#table-body tr td.num:nth-child(4)').allTextContents())}`);
  t.deepEqual(cpus, [...cpus].sort((a, b) => a - b));
  t.true((await minors()).length > 0);
  await page.keyboard.press('g');
  await page.waitForSelector('#graph:not(.hidden)');

  // the selected node is in the URL, and that URL opens it
  await page.goto(`${app.url}/#topology=hosts&node=${encodeURIComponent('host-2;<host>')}`);
  await page.waitForSelector('#details h2:text("host-2")');
  await page.keyboard.press('Escape');
  await page.waitForSelector('#details', { state: 'hidden' });
  t.false(page.url().includes('node='));
  t.deepEqual(errors, []);
});

test('under the hosted prefix: a link back to the dashboard, one header row at 800 px, an empty Containers view says 0 and draws nothing', async (t) => {
  const app = await appWith(syntheticReport({ containersPerHost: 0 }));
  t.teardown(() => app.stop());
  const front = await behindPrefix(app.url);
  t.teardown(() => front.stop());
  const { page, errors } = await open(t, `${front.url}/api/app/acme/#topology=containers`, 800, 600);
  await page.waitForSelector('#dashboard:visible');
  t.is(await page.getAttribute('#dashboard', 'href'), '/dashboard');
  await page.waitForSelector('#topologies button[data-topology="containers"] .count', { state: 'attached' });
  t.is(await page.textContent('#topologies button[data-topology="containers"] .count'), '0');
  await page.waitForSelector('#empty:not(.hidden)');
  t.is(await shownCount(page), 0);
  const header = (await page.locator('header.bar').boundingBox())!;
  t.true(header.height <= 56, `header ${header.height} px high`);
  t.true(await page.evaluate(() => document.documentElement.scrollWidth <= 800), 'nothing wider than the window');
  await page.screenshot({ path: path.join(SHOTS, 'containers-empty-800.png') });
  t.deepEqual(errors, []);
});
