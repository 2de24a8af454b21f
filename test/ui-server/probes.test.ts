import test from 'ava';
import { readFile } from 'node:fs/promises';
import { launchChromium } from '../helpers/chromium.ts';
import { waitFor } from '@saas/kit/testing';
import { spawnAppMapper, startStack, uniqueEmail } from '../helpers/stack.ts';

const fixtures = new URL('../../fixtures/weave-scope-1.13.2/', import.meta.url);

test('in a browser, with the real app-mapper: a probe report through the frontend shows on the dashboard, and the map opens', async (t) => {
  t.timeout(4 * 60_000);
  const [stack, browser] = await Promise.all([
    startStack({ database: 'postgres', appMapper: spawnAppMapper() }),
    launchChromium(),
  ]);
  t.teardown(async () => {
    await browser.close();
    await stack.close();
  });
  const front = stack.frontendUrl;

  // An account, over HTTP through the frontend (the browser flow has its own test).
  const email = uniqueEmail('probes');
  const signup = await fetch(`${front}/api/users/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  t.is(signup.status, 200);
  const { organizationName } = await stack.approve(email);
  const link = await stack.loginLink(email);
  const login = await fetch(`${front}/api/users/login${link.search}`);
  t.is(login.status, 200);
  const session = login.headers.getSetCookie().find((c) => c.startsWith('_weave_scope_session='))?.split(';')[0]?.split('=');
  t.truthy(session);
  const cookie = `${session![0]}=${session![1]}`;
  const org = (await (await fetch(`${front}/api/users/org/${organizationName}`, { headers: { cookie } })).json()) as { probeToken: string };

  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  await context.addCookies([{ name: session![0]!, value: session![1]!, url: front, httpOnly: true, sameSite: 'Lax' }]);
  const page = await context.newPage();
  await page.goto(`${front}/dashboard`);
  await page.waitForSelector('#dashboard:not([hidden])');
  await page.waitForSelector('#probes-empty:not([hidden])');
  t.regex((await page.textContent('#probes-status')) ?? '', /Updated/, 'app-mapper answered: no probes yet');

  // A report exactly as Weave Scope 1.13.2 publishes it, with this org's token, through the frontend.
  const report = await readFile(new URL('report-1.msgpack.gz', fixtures));
  const headers = JSON.parse(await readFile(new URL('headers.json', fixtures), 'utf8')) as Record<string, string>;
  delete headers.host;
  delete headers['content-length'];
  delete headers.connection;
  const publish = () =>
    fetch(`${front}/api/report`, {
      method: 'POST',
      headers: { ...headers, authorization: `Scope-Probe token=${org.probeToken}`, 'x-scope-probe-id': 'browser-probe-1' },
      body: report,
    });
  // 503 while the organisation's Scope app starts, then 200.
  const accepted = await waitFor('the report to be accepted', async () => ((await publish()).status === 200 ? true : undefined), 120_000, 1000);
  t.true(accepted);

  await page.waitForSelector('#probes tr code:text("browser-probe-1")', { timeout: 30_000 });
  t.true(await page.isHidden('#probes-empty'));

  // The first report is recorded by users; a fresh load of the dashboard says so.
  await page.reload();
  await page.waitForSelector('#dashboard:not([hidden])');
  t.regex((await page.textContent('#first-report')) ?? '', /First report received/);
  await page.waitForSelector('#probes tr code:text("browser-probe-1")');
  await page.screenshot({ path: '/tmp/ui-server-dashboard-probe.png', fullPage: true });

  // "Open the map" leads to the organisation's Scope app, through the frontend and app-mapper.
  const [response] = await Promise.all([page.waitForNavigation(), page.click('#map-link')]);
  t.is(response?.status(), 200);
  t.is(new URL(page.url()).pathname, `/api/app/${organizationName}/`);
  await page.screenshot({ path: '/tmp/ui-server-map.png' });
});
