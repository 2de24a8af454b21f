import test from 'ava';
import { createLogger } from '@saas/kit';
import { buildUiServer } from '../../images/ui-server/src/app.ts';
import { escapeHtml, html } from '../../images/ui-server/src/html.ts';

let base: string;
let close: () => Promise<void>;

test.before(async () => {
  const { app } = buildUiServer({ log: createLogger('ui-server', process.env.TEST_LOG_LEVEL ?? 'silent') });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  base = `http://127.0.0.1:${address.port}`;
  close = () => app.close();
});
test.after.always(async () => {
  await close?.();
});

const get = async (path: string, headers: Record<string, string> = { accept: 'text/html' }) => {
  const res = await fetch(`${base}${path}`, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
};

test('html escapes every interpolated value, and nests templates without double escaping', (t) => {
  const evil = `<script>alert("x")</script>' onmouseover='1` + '`';
  t.is(escapeHtml(evil), '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;1&#96;');
  const inner = html`<b>${evil}</b>`;
  t.is(html`<p title="${evil}">${inner}${[1, html`<i>${'&'}</i>`]}${null}${false}</p>`.value,
    `<p title="${escapeHtml(evil)}"><b>${escapeHtml(evil)}</b>1<i>&amp;</i></p>`);
});

for (const [path, page] of [
  ['/', 'signup'],
  ['/signup/done?email=a%40b.c', 'signup-done'],
  ['/login?email=a%40b.c&token=abc', 'login'],
  ['/dashboard', 'dashboard'],
] as const) {
  test(`${path} is the ${page} page with safe headers and versioned assets that exist`, async (t) => {
    const res = await get(path);
    t.is(res.status, 200);
    t.regex(res.headers.get('content-type') ?? '', /^text\/html/);
    t.regex(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    t.is(res.headers.get('referrer-policy'), 'no-referrer');
    t.is(res.headers.get('cache-control'), 'no-store');
    t.regex(res.text, new RegExp(`data-page="${page}"`));
    const assets = [...res.text.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]!);
    t.true(assets.some((a) => a.startsWith('/static/app.css?v=')));
    for (const asset of assets) {
      const got = await get(asset.replaceAll('&amp;', '&'), {});
      t.is(got.status, 200, asset);
      t.regex(got.headers.get('cache-control') ?? '', /immutable/);
    }
    t.false(/<script>/.test(res.text), 'no inline script (the CSP would block it)');
  });
}

test('values from the query string are escaped in the page', async (t) => {
  const evil = '"><script>alert(1)</script>@x.io';
  const done = await get(`/signup/done?email=${encodeURIComponent(evil)}`);
  t.false(done.text.includes('<script>alert'));
  t.true(done.text.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;@x.io'));
  const home = await get(`/?email=${encodeURIComponent(evil)}`);
  t.false(home.text.includes('<script>alert'));
  t.regex(home.text, /value="&quot;&gt;&lt;script&gt;/);
});

test('an error handed back to the sign-up page (a sign-up posted without JS) is shown, escaped', async (t) => {
  const page = await get(`/?email=x&error=${encodeURIComponent('email is not valid <b>')}`);
  t.regex(page.text, /<p id="signup-error" class="error" role="alert" >email is not valid &lt;b&gt;<\/p>/);
  t.regex((await get('/')).text, /<p id="signup-error" class="error" role="alert" hidden><\/p>/);
});

test('a session notice shows on the sign-up page; an unknown one shows nothing', async (t) => {
  t.regex((await get('/?session=expired')).text, /Your session has ended/);
  t.notRegex((await get('/?session=%3Cb%3E')).text, /class="notice"/);
});

test('static files: types, ETag revalidation, unknown names 404', async (t) => {
  const css = await get('/static/app.css', {});
  t.is(css.status, 200);
  t.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
  t.is(css.headers.get('cache-control'), 'no-cache', 'unversioned URLs revalidate');
  const etag = css.headers.get('etag') ?? '';
  t.regex(etag, /^"[0-9a-f]{12}"$/);
  t.is((await get('/static/app.css', { 'if-none-match': etag })).status, 304);
  const js = await get('/static/dashboard.js', {});
  t.is(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.is((await get('/static/nope.js', {})).status, 404);
  t.is((await get('/static/..%2fsrc%2fapp.ts', {})).status, 404);
});

test('unknown paths: an HTML 404 page for browsers, the JSON error for scripts', async (t) => {
  const page = await get('/nowhere/<b>');
  t.is(page.status, 404);
  t.regex(page.text, /Page not found/);
  t.true(page.text.includes('/nowhere/%3Cb%3E') || page.text.includes('&lt;b&gt;'));
  const json = await get('/nowhere', { accept: 'application/json' });
  t.is(json.status, 404);
  t.deepEqual(JSON.parse(json.text), { errors: [{ message: 'no route for GET /nowhere' }] });
});

test('/readyz is ready once the server is up', async (t) => {
  const res = await get('/readyz', {});
  t.is(res.status, 200);
});
