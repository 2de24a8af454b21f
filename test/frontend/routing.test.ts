import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { createLogger } from '@saas/kit';
import { freePort } from '@saas/kit/testing';
import { buildFrontend, MiB, type FrontendOptions } from '../../images/frontend/src/app.ts';
import { startEchoServer, type EchoServer, type SeenRequest } from '../helpers/echo.ts';
import { byteStream, rawRequest } from '../helpers/http.ts';

interface Rig {
  url: string;
  users: EchoServer;
  appMapper: EchoServer;
  uiServer: EchoServer;
  /** Every request any upstream saw. */
  seen(): SeenRequest[];
  close(): Promise<void>;
}

async function startRig(overrides: Partial<FrontendOptions> = {}): Promise<Rig> {
  const [users, appMapper, uiServer] = await Promise.all([startEchoServer('users'), startEchoServer('app-mapper'), startEchoServer('ui-server')]);
  const { app } = await buildFrontend({
    log: createLogger('frontend', process.env.TEST_LOG_LEVEL ?? 'silent'),
    usersUrl: users.url,
    appMapperUrl: appMapper.url,
    uiServerUrl: uiServer.url,
    loginRateLimitPerMinute: 20,
    ...overrides,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('frontend has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    users,
    appMapper,
    uiServer,
    seen: () => [...users.seen, ...appMapper.seen, ...uiServer.seen],
    close: async () => {
      await app.close();
      await Promise.all([users.close(), appMapper.close(), uiServer.close()]);
    },
  };
}

/** Requests an upstream saw whose path, decoded, mentions `private` (tests in a file run concurrently, so count by path). */
const privateSeen = (r: Rig) => r.seen().filter((s) => /private/i.test(decodeURIComponent(decodeURIComponent(s.url)))).length;

let rig: Rig;
test.before(async () => {
  rig = await startRig();
});
test.after.always(async () => {
  await rig?.close();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('GET /api is the probe handshake, answered by the frontend itself', async (t) => {
  const res = await rawRequest(rig.url, { path: '/api', headers: { authorization: 'Scope-Probe token=abc' } });
  t.is(res.status, 200);
  const body = res.json<{ id: string; version: string; hostname: string }>();
  t.regex(body.id, /^[0-9a-f]{16}$/);
  t.is(typeof body.version, 'string');
  t.true(body.version.length > 0);
  t.is(typeof body.hostname, 'string');
  t.is((await rawRequest(rig.url, { path: '/api' })).json<{ id: string }>().id, body.id, 'the id is stable');
  t.false(rig.seen().some((s) => s.url === '/api'), 'no upstream was asked');
});

const table: { method: string; path: string; upstream: string; forwarded?: string }[] = [
  { method: 'POST', path: '/api/users/signup', upstream: 'users' },
  { method: 'GET', path: '/api/users/login?email=a%2Bb%40example.com&token=t0k', upstream: 'users' },
  { method: 'GET', path: '/api/users/lookup', upstream: 'users' },
  { method: 'GET', path: '/api/users/org/happy-cat-42', upstream: 'users' },
  { method: 'POST', path: '/api/users/logout', upstream: 'users' },
  { method: 'GET', path: '/api/app/happycat42/', upstream: 'app-mapper' },
  { method: 'GET', path: '/api/app/happycat42/api/topology/processes?stale=true', upstream: 'app-mapper' },
  { method: 'POST', path: '/api/app/happycat42/api/control/probe1/node;1/host_exec', upstream: 'app-mapper' },
  { method: 'GET', path: '/api/org/happycat42/probes', upstream: 'app-mapper' },
  { method: 'POST', path: '/api/report', upstream: 'app-mapper' },
  { method: 'GET', path: '/', upstream: 'ui-server' },
  { method: 'GET', path: '/login?email=a%40b.c&token=x', upstream: 'ui-server' },
  { method: 'GET', path: '/dashboard', upstream: 'ui-server' },
  { method: 'GET', path: '/static/app.css', upstream: 'ui-server' },
  { method: 'GET', path: '/api/topology', upstream: 'ui-server' },
  { method: 'GET', path: '/api/usersx', upstream: 'ui-server' },
  { method: 'GET', path: '/privacy', upstream: 'ui-server' },
  // Paths are canonicalised before routing, so the upstream sees the same path the frontend routed.
  { method: 'GET', path: '/api/users/%2e%2e/org/happycat42/probes', upstream: 'app-mapper', forwarded: '/api/org/happycat42/probes' },
  { method: 'GET', path: '//api//users/lookup', upstream: 'users', forwarded: '/api/users/lookup' },
  { method: 'GET', path: '/static/./app.css', upstream: 'ui-server', forwarded: '/static/app.css' },
  // Absolute-form targets (which servers must accept) are routed by their path.
  { method: 'GET', path: 'http://example.com/api/users/lookup?x=1', upstream: 'users', forwarded: '/api/users/lookup?x=1' },
];

for (const row of table) {
  test(`routes ${row.method} ${row.path} to ${row.upstream}`, async (t) => {
    const body = row.method === 'POST' ? Buffer.from(JSON.stringify({ email: 'x@example.com' })) : undefined;
    const res = await rawRequest(rig.url, {
      method: row.method,
      path: row.path,
      // (a report needs a probe credential of the right form before the frontend passes it on)
      headers: body ? { 'content-type': 'application/json', 'content-length': body.length, ...(row.path === '/api/report' && { authorization: 'Scope-Probe token=tok123' }) } : {},
      body,
    });
    t.is(res.status, 200, res.text);
    const seen = res.json<SeenRequest>();
    t.is(seen.upstream, row.upstream);
    t.is(seen.method, row.method);
    t.is(seen.url, row.forwarded ?? row.path);
    if (body) {
      t.is(seen.bodySha256, sha256(body));
      t.is(seen.headers['content-type'], 'application/json');
    }
  });
}

test('sets X-Forwarded-For/-Proto/-Host and does not trust a client-supplied X-Forwarded-For', async (t) => {
  const res = await rawRequest(rig.url, { path: '/api/users/lookup', headers: { 'x-forwarded-for': '6.6.6.6', cookie: '_weave_scope_session=abc' } });
  const seen = res.json<SeenRequest>();
  t.is(seen.headers['x-forwarded-for'], '127.0.0.1');
  t.is(seen.headers['x-forwarded-proto'], 'http');
  t.is(seen.headers['x-forwarded-host'], new URL(rig.url).host);
  t.is(seen.headers.cookie, '_weave_scope_session=abc');
});

test('passes upstream answers back as they are: status, Set-Cookie, Retry-After, no retries on 503', async (t) => {
  const login = await rawRequest(rig.url, { path: '/api/users/login?email=a&token=b', headers: { 'x-echo-set-cookie': '_weave_scope_session=s1; HttpOnly' } });
  t.is(login.headers['set-cookie']?.[0], '_weave_scope_session=s1; HttpOnly');

  const starting = await rawRequest(rig.url, { path: '/api/app/slowcat/api/topology', headers: { 'x-echo-status': '503' } });
  t.is(starting.status, 503);
  t.is(starting.headers['retry-after'], '7');
  t.is(rig.appMapper.seen.filter((r) => r.url === '/api/app/slowcat/api/topology').length, 1, 'exactly one request reached app-mapper');

  const denied = await rawRequest(rig.url, { path: '/api/users/lookup', headers: { 'x-echo-status': '401' } });
  t.is(denied.status, 401);
});

const privateVariants = [
  '/private',
  '/private/',
  '/private/api/users',
  '/private/admin',
  '/%70rivate/api/users',
  '/%2570rivate/api/users',
  '/%252570rivate/api/users',
  '//private/api/users',
  '///private/api/users',
  '/api/../private/api/users',
  '/api/users/../../private/api/users',
  '/api/users/%2e%2e/%2e%2e/private/api/users',
  '/api/users/%2E%2E/%2E%2E/private/api/users',
  '/api/users/..%2f..%2fprivate/api/users',
  '/api/users/..%252f..%252fprivate/api/users',
  '/api/..\\private/api/users',
  '/%5cprivate/api/users',
  '/%2fprivate/api/users',
  '/PRIVATE/api/users',
  '/Private/api/users',
  '/private;x/api/users',
  '/private%00/api/users',
  '/private%2fapi%2fusers',
  '/./private/api/users',
  '/static/../private/admin',
  '/private?x=1',
  'http://example.com/private/api/users',
  'http://example.com//api/../private/api/users',
];

for (const path of privateVariants) {
  test(`${path} → 404 and never reaches an upstream`, async (t) => {
    for (const method of ['GET', 'POST']) {
      const res = await rawRequest(rig.url, { method, path, headers: { accept: 'application/json' }, body: method === 'POST' ? '' : undefined });
      t.is(res.status, 404, `${method} ${path}: ${res.text}`);
      t.deepEqual(Object.keys(res.json<{ errors: unknown[] }>()), ['errors']);
    }
    t.is(privateSeen(rig), 0);
  });
}

test('a websocket to /private is refused and never reaches an upstream', async (t) => {
  const ws = new WebSocket(`${rig.url.replace('http', 'ws')}/%70rivate/api/users`);
  const status = await new Promise<number>((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => reject(new Error('opened')));
    ws.on('error', () => undefined);
  });
  t.is(status, 404);
  t.is(privateSeen(rig), 0);
});

function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; first: SeenRequest }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('message', (data) => resolve({ ws, first: JSON.parse(data.toString()) as SeenRequest }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

const nextMessage = (ws: WebSocket) => new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));

test('passes a map websocket through to app-mapper with path, query and cookie', async (t) => {
  const { ws, first } = await openSocket(`${rig.url.replace('http', 'ws')}/api/app/happycat42/api/topology/hosts/ws?t=5s`, {
    cookie: '_weave_scope_session=abc',
  });
  t.is(first.upstream, 'app-mapper');
  t.is(first.url, '/api/app/happycat42/api/topology/hosts/ws?t=5s');
  t.is(first.headers.cookie, '_weave_scope_session=abc');
  t.is(first.headers['x-forwarded-for'], '127.0.0.1');
  ws.send('hello');
  t.is(await nextMessage(ws), 'app-mapper: hello');
  ws.close();
});

test('passes a probe control websocket through with its Authorization and probe id', async (t) => {
  const { ws, first } = await openSocket(`${rig.url.replace('http', 'ws')}/api/control/ws`, {
    authorization: 'Scope-Probe token=tok123',
    'x-scope-probe-id': 'probe-7',
  });
  t.is(first.upstream, 'app-mapper');
  t.is(first.url, '/api/control/ws');
  t.is(first.headers.authorization, 'Scope-Probe token=tok123');
  t.is(first.headers['x-scope-probe-id'], 'probe-7');
  ws.send(Buffer.from([1, 2, 3]));
  const echoed = await new Promise<Buffer>((resolve) => ws.once('message', (d: Buffer) => resolve(d)));
  t.deepEqual([...echoed], [1, 2, 3]);
  ws.close();
});

test('an Upgrade header without Connection: upgrade is an ordinary request', async (t) => {
  const res = await rawRequest(rig.url, { path: '/dashboard', headers: { upgrade: 'h2c' } });
  t.is(res.status, 200);
  t.is(res.json<SeenRequest>().upstream, 'ui-server');
});

test('a websocket where none is served is refused', async (t) => {
  const ws = new WebSocket(`${rig.url.replace('http', 'ws')}/api/users/lookup`);
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => undefined);
  });
  t.is(status, 404);
});

test('a probe report of several MiB passes through byte for byte, with its headers', async (t) => {
  const report = gzipSync(randomBytes(6 * MiB));
  const res = await rawRequest(rig.url, {
    method: 'POST',
    path: '/api/report',
    headers: {
      'content-type': 'application/msgpack',
      'content-encoding': 'gzip',
      'content-length': report.length,
      authorization: 'Scope-Probe token=tok123',
      'x-scope-probe-id': 'probe-7',
    },
    body: report,
  });
  t.is(res.status, 200, res.text);
  const seen = res.json<SeenRequest>();
  t.is(seen.upstream, 'app-mapper');
  t.is(seen.bodyBytes, report.length);
  t.is(seen.bodySha256, sha256(report));
  t.is(seen.headers['content-encoding'], 'gzip');
  t.is(seen.headers['content-type'], 'application/msgpack');
  t.is(seen.headers.authorization, 'Scope-Probe token=tok123');
  t.is(seen.headers['x-scope-probe-id'], 'probe-7');
});

test('a report exactly as Weave Scope 1.13.2 sent it passes with the probe\'s headers, byte for byte', async (t) => {
  const dir = new URL('../../fixtures/weave-scope-1.13.2/', import.meta.url);
  const report = await readFile(new URL('report-1.msgpack.gz', dir));
  const captured = JSON.parse(await readFile(new URL('headers.json', dir), 'utf8')) as Record<string, string>;
  const headers: Record<string, string | number> = { ...captured, 'content-length': report.length };
  delete headers.host;
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers, body: report });
  t.is(res.status, 200, res.text);
  const seen = res.json<SeenRequest>();
  t.is(seen.upstream, 'app-mapper');
  t.is(seen.bodySha256, sha256(report));
  for (const name of ['authorization', 'content-encoding', 'content-type', 'x-scope-probe-id', 'x-scope-probe-version', 'user-agent']) {
    t.is(seen.headers[name], captured[name], name);
  }
});

test('a body without Content-Type is passed on untouched', async (t) => {
  const body = Buffer.from('plain bytes');
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: { 'content-length': body.length, authorization: 'Scope-Probe token=tok123' }, body });
  t.is(res.status, 200, res.text);
  t.is(res.json<SeenRequest>().bodySha256, sha256(body));
});

test('a chunked report under the limit passes too', async (t) => {
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: { 'content-type': 'application/json', authorization: 'Scope-Probe token=tok123' }, body: byteStream(3 * MiB) });
  t.is(res.status, 200, res.text);
  t.is(res.json<SeenRequest>().bodyBytes, 3 * MiB);
});

test('a report over 20 MiB is refused with 413 before reaching app-mapper', async (t) => {
  const res = await rawRequest(rig.url, {
    method: 'POST',
    path: '/api/report',
    headers: { 'content-type': 'application/msgpack', 'content-length': 20 * MiB + 1, 'x-test': 'too-big', authorization: 'Scope-Probe token=tok123' },
    body: byteStream(20 * MiB + 1),
  });
  t.is(res.status, 413);
  t.regex(res.json<{ errors: { message: string }[] }>().errors[0]!.message, /too large/);
  t.false(rig.appMapper.seen.some((r) => r.headers['x-test'] === 'too-big'));
});

test('a chunked report that grows past 20 MiB is cut off with 413', async (t) => {
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/report', headers: { 'content-type': 'application/msgpack', authorization: 'Scope-Probe token=tok123' }, body: byteStream(21 * MiB) });
  t.is(res.status, 413, res.text);
  t.regex(res.json<{ errors: { message: string }[] }>().errors[0]!.message, /too large/);
});

test('elsewhere the body limit is small: 2 MiB to /api/users/signup → 413', async (t) => {
  const body = Buffer.alloc(2 * MiB, 'a');
  const headers = { 'content-type': 'application/json', 'content-length': body.length, 'x-test': 'big-signup' };
  const res = await rawRequest(rig.url, { method: 'POST', path: '/api/users/signup', headers, body });
  t.is(res.status, 413);
  t.false(rig.users.seen.some((r) => r.headers['x-test'] === 'big-signup'));
});

test('login is rate limited per client address → 429 with an error body; other routes and addresses are not', async (t) => {
  const limited = await startRig({ loginRateLimitPerMinute: 3 });
  t.teardown(() => limited.close());
  const login = (localAddress = '127.0.0.1') => rawRequest(limited.url, { path: '/api/users/login?email=a%40b.c&token=x', localAddress });
  for (let i = 0; i < 3; i++) t.is((await login()).status, 200);
  const refused = await login();
  t.is(refused.status, 429);
  t.regex(refused.json<{ errors: { message: string }[] }>().errors[0]!.message, /too many login attempts/);
  t.true(Number(refused.headers['retry-after']) > 0);
  t.is(limited.users.seen.filter((r) => r.url.startsWith('/api/users/login')).length, 3, 'the 4th never reached users');
  t.is((await rawRequest(limited.url, { path: '/api/users/lookup' })).status, 200, 'other users routes are not limited');
  t.is((await login('127.0.0.2')).status, 200, 'another address has its own allowance');
});

test('an upstream that is down → 502 naming it; /readyz stays ready', async (t) => {
  const closed = `http://127.0.0.1:${await freePort()}`;
  const down = await startRig({ usersUrl: closed, appMapperUrl: closed, uiServerUrl: closed });
  t.teardown(() => down.close());
  const cases: [string, string, string][] = [
    ['GET', '/api/users/lookup', 'users unreachable'],
    ['POST', '/api/report', 'app-mapper unreachable'],
    ['GET', '/api/org/x/probes', 'app-mapper unreachable'],
    ['GET', '/dashboard', 'ui-server unreachable'],
  ];
  for (const [method, path, message] of cases) {
    const res = await rawRequest(down.url, { method, path, body: method === 'POST' ? '{}' : undefined, headers: method === 'POST' ? { 'content-type': 'application/json', authorization: 'Scope-Probe token=tok123' } : {} });
    t.is(res.status, 502, path);
    t.deepEqual(res.json(), { errors: [{ message }] });
  }
  const ready = await rawRequest(down.url, { path: '/readyz' });
  t.is(ready.status, 200);

  // A websocket is accepted before the upstream is dialled; when that fails it is closed, not left hanging.
  const ws = new WebSocket(`${down.url.replace('http', 'ws')}/api/app/happycat42/api/topology/hosts/ws`);
  ws.on('error', () => undefined);
  const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
  t.true(code >= 1000, `closed with ${code}`);
  t.not(code, 1000, 'not a normal closure');
});
