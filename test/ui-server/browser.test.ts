import test from 'ava';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { startStack, uniqueEmail, type Stack } from '../helpers/stack.ts';

let stack: Stack;
let browser: Browser;

test.before(async () => {
  [stack, browser] = await Promise.all([
    startStack({ database: 'postgres' }),
    launchChromium(),
  ]);
});
test.after.always(async () => {
  await browser?.close();
  await stack?.close();
});

test.serial('in a browser: sign up, follow the mailed link, see the dashboard with org, token, copy button, commands and map link', async (t) => {
  const front = stack.frontendUrl;
  const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } });
  t.teardown(() => context.close());
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: front });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (401|502|503)/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });

  // The sign-up form refuses a bad address in place…
  await page.goto(`${front}/`);
  await page.fill('#email', 'not an address');
  await page.click('#signup-submit');
  await page.waitForSelector('#signup-error:not([hidden])');
  t.regex((await page.textContent('#signup-error')) ?? '', /email address/);

  // …and takes a good one to "check your mail".
  const email = uniqueEmail('browser');
  await page.fill('#email', email);
  await page.click('#signup-submit');
  await page.waitForURL(`${front}/signup/done?**`);
  t.is(await page.textContent('#signup-email'), email);
  await stack.mail.waitForMail(email, /on the list/i, 60_000);

  // Approval mails the login link; opening it lands on the dashboard.
  const { organizationName } = await stack.approve(email);
  const link = await stack.loginLink(email);
  await page.goto(link.toString());
  await page.waitForURL(`${front}/dashboard`);
  await page.waitForSelector('#dashboard:not([hidden])');

  t.is(await page.textContent('#org-name'), organizationName);
  t.is(await page.textContent('#user-email'), email);
  const token = (await page.textContent('#probe-token')) ?? '';
  const org = await page.evaluate(async (name) => (await fetch(`/api/users/org/${encodeURIComponent(name)}`)).json(), organizationName);
  t.is(token, (org as { probeToken: string }).probeToken);
  t.is(await page.textContent('#probe-command'), `npx dev probe --token ${token} ${front}`);
  t.is(await page.textContent('#scope-command'), `scope launch --service-token=${token} ${new URL(front).host}`);
  t.is(await page.getAttribute('#map-link', 'href'), `/api/app/${encodeURIComponent(organizationName)}/`);
  t.is(await page.textContent('#first-report'), 'No report received yet.');

  // No app-mapper in this stack: the probes list says so and keeps trying, without breaking the page.
  await page.waitForFunction(() => /not available yet/.test(document.getElementById('probes-status')?.textContent ?? ''));
  t.true(await page.isVisible('#probes-empty'));

  // The Copy button puts the token on the clipboard.
  await page.click('button[data-copy-from="probe-token"]');
  await page.waitForFunction(() => document.querySelector('button[data-copy-from="probe-token"]')?.textContent === 'Copied');
  t.is(await page.evaluate(() => navigator.clipboard.readText()), token);

  await page.screenshot({ path: '/tmp/ui-server-dashboard.png', fullPage: true });

  // The link is single use: opening it again explains why and offers to sign up again.
  const second = await context.newPage();
  await second.goto(link.toString());
  await second.waitForSelector('#login-failed:not([hidden])');
  t.regex((await second.textContent('#login-error')) ?? '', /already been used/);
  t.is(await second.getAttribute('#signup-again', 'href'), `/?email=${encodeURIComponent(email)}`);
  t.is(new URL(second.url()).search, '', 'the spent token is gone from the address bar');
  await second.close();

  // Log out → back on the sign-up page; the dashboard then sends you there too.
  await page.click('#logout');
  await page.waitForURL(`${front}/?session=logged-out`);
  t.regex((await page.textContent('.notice')) ?? '', /logged out/);
  await page.goto(`${front}/dashboard`);
  await page.waitForURL(`${front}/?session=expired`);

  t.deepEqual(problems, []);
});

test.serial('in a browser: a broken login link says what is wrong', async (t) => {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  await page.goto(`${stack.frontendUrl}/login?email=someone%40example.com`);
  await page.waitForSelector('#login-failed:not([hidden])');
  t.regex((await page.textContent('#login-error')) ?? '', /incomplete/);

  await page.goto(`${stack.frontendUrl}/login?email=someone%40example.com&token=${'a'.repeat(40)}`);
  await page.waitForSelector('#login-failed:not([hidden])');
  t.regex((await page.textContent('#login-error')) ?? '', /not valid/);
  await page.screenshot({ path: '/tmp/ui-server-login-failed.png' });
});
