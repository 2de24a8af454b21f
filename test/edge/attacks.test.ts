/**
 * The adversarial run of issue 15 kept as regression tests, against the whole local path on loopback: the
 * frontend in front of the real users service (real PostgreSQL, real maildev), ui-server and app-mapper with two
 * organisations whose Scope apps run as real processes. Every attack must be refused in the house error format,
 * and nothing of one organisation may reach the other.
 */
import test from 'ava';
import { createHmac, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { startStack, type Stack } from '../helpers/stack.ts';
import { rawRequest } from '../helpers/http.ts';
import { sendRaw } from '../helpers/net.ts';
import { createOrg, errorMessage, postReport, raw, startAppMapper, tempDir, untilReady, type Org } from '../app-mapper/helpers.ts';
import { encodeMsgpack } from '../../images/scope/src/report/msgpack.ts';

let stack: Stack;
let a: Org;
let b: Org;
let frontPort: number;

test.before(async () => {
  const stateDir = await tempDir('edge');
  stack = await startStack({
    appMapper: async (ctx) => {
      const db = await ctx.createDatabase();
      const mapper = await startAppMapper({ databaseUrl: db.url, usersUrl: ctx.usersUrl, stateDir });
      return { url: mapper.url, close: async () => void (await mapper.stop('SIGTERM')) };
    },
  });
  frontPort = Number(new URL(stack.frontendUrl).port);
  a = await createOrg(stack.usersUrl, stack.mail, 'edge-a', stack.frontendUrl);
  b = await createOrg(stack.usersUrl, stack.mail, 'edge-b', stack.frontendUrl);
  for (const org of [a, b]) {
    const first = await untilReady(`${org.name}'s app`, () => postReport(stack.frontendUrl, org.probeToken, `${org.name}-probe`), 120_000);
    if (first.status !== 200) throw new Error(`first report of ${org.name}: ${first.status} ${first.text}`);
  }
});
test.after.always(async () => {
  await stack?.close();
});

const front = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) => raw(stack.frontendUrl, method, path, headers, body);
const isHouseError = (text: string) => {
  try {
    const body = JSON.parse(text) as { errors?: { message?: unknown }[] };
    return Array.isArray(body.errors) && typeof body.errors[0]?.message === 'string' && body.errors[0].message.length > 0;
  } catch {
    return false;
  }
};

test("cross-tenant paths: A's cookie never reads B's map, however the path is spelled", async (t) => {
  const probesOfB = await untilReady("B's probes", () => front('GET', `/api/app/${b.name}/api/probes`, { cookie: b.cookie }));
  t.is(probesOfB.status, 200, 'B itself can read its map');
  for (const path of [
    `/api/app/${b.name}/api/probes`,
    `/api/app/${b.name.toUpperCase()}/api/probes`,
    `/api/app/${a.name}/../${b.name}/api/probes`,
    `/api/app/${a.name}/%2e%2e/${b.name}/api/probes`,
    `/api/app/${a.name}%2f..%2f${b.name}/api/probes`,
    `//api/app/${b.name}/api/probes`,
    `/api/app/${b.name};/api/probes`,
    `/api/org/${b.name}/probes`,
    `/api/users/org/${b.name}`,
  ]) {
    const r = await front('GET', path, { cookie: a.cookie });
    t.true(r.status >= 400 && r.status < 500, `${path}: ${r.status} ${r.text}`);
    t.false(r.text.includes(`${b.name}-probe`), path);
    t.true(isHouseError(r.text), `${path}: ${r.text}`);
  }
});

test('forged and tampered cookies get 401', async (t) => {
  const value = decodeURIComponent(a.cookie.split('=').slice(1).join('='));
  const [id] = value.split('.');
  const flipped = value.slice(0, -2) + (value.at(-2) === 'A' ? 'B' : 'A') + value.at(-1);
  const forged = `${id}.${createHmac('sha256', randomBytes(32)).update(id ?? '').digest('base64').replace(/=+$/, '')}`;
  for (const cookie of [`_weave_scope_session=${encodeURIComponent(flipped)}`, `_weave_scope_session=${encodeURIComponent(forged)}`, `_weave_scope_session=${id}`, '_weave_scope_session=', `other=${encodeURIComponent(value)}`]) {
    for (const path of [`/api/app/${a.name}/api/probes`, '/api/users/lookup', `/api/org/${a.name}/probes`]) {
      const r = await front('GET', path, { cookie });
      t.is(r.status, 401, `${path} with ${cookie}: ${r.text}`);
      t.true(isHouseError(r.text));
    }
  }
});

test("probe tokens: B's token reports into B only; forged, reused-as-cookie or malformed credentials get 401", async (t) => {
  t.is((await postReport(stack.frontendUrl, b.probeToken, 'b-only')).status, 200);
  const aProbes = (await front('GET', `/api/app/${a.name}/api/probes`, { cookie: a.cookie })).json<{ id: string }[]>();
  t.false(aProbes.some((p) => p.id === 'b-only'));
  for (const authorization of [`Scope-Probe token=${a.probeToken}x`, `Scope-Probe token=${randomBytes(16).toString('hex')}`, `Bearer ${a.probeToken}`, `Scope-Probe token=${a.probeToken},token=${b.probeToken}`, '']) {
    const r = await front('POST', '/api/report', { authorization, 'x-scope-probe-id': 'forged', 'content-type': 'application/msgpack' }, Buffer.from([0x80]));
    t.is(r.status, 401, `${authorization}: ${r.text}`);
    t.true(isHouseError(r.text));
  }
  const tokenAsCookie = await front('GET', `/api/app/${a.name}/api/probes`, { cookie: `_weave_scope_session=${a.probeToken}` });
  t.is(tokenAsCookie.status, 401);
});

test('forwarded-header spoofing: a client cannot escape the login and sign-up limits by inventing X-Forwarded-For', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < 25; i++) {
    const r = await rawRequest(stack.frontendUrl, { path: '/api/users/login?email=x%40example.com&token=nope', headers: { 'x-forwarded-for': `203.0.113.${i}` }, localAddress: '127.0.0.5' });
    statuses.push(r.status);
  }
  t.true(statuses.includes(429), `login: ${statuses.join(' ')}`);
  const signups: number[] = [];
  for (let i = 0; i < 32; i++) {
    const body = JSON.stringify({ email: `spoof-${i}-${randomBytes(3).toString('hex')}@example.com` });
    const r = await rawRequest(stack.frontendUrl, {
      method: 'POST',
      path: '/api/users/signup',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': `198.51.100.${i}` },
      body,
      localAddress: '127.0.0.6',
    });
    signups.push(r.status);
  }
  t.is(signups.filter((s) => s === 429).length, 2, `sign-ups: ${signups.join(' ')}`);
});

test('request smuggling: Content-Length beside Transfer-Encoding, or two different lengths, is refused and the connection closed', async (t) => {
  for (const request of [
    'POST /api/users/signup HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /private/api/users HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /api/users/signup HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /private/api/users HTTP/1.1\r\nHost: x\r\n\r\n',
    'POST /api/users/signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n',
  ]) {
    const r = await sendRaw(frontPort, request, { waitMs: 5000 });
    t.is(r.status, 400, r.text);
    t.true(r.closed);
    t.true(isHouseError(r.body), r.body);
    t.false(r.text.includes('"email"'), 'no private user list came back');
  }
});

test('websockets: another organisation, no cookie or no token get 401, never 101', async (t) => {
  const wsBase = stack.frontendUrl.replace('http', 'ws');
  for (const [path, headers] of [
    [`/api/app/${b.name}/api/topology/hosts/ws`, { cookie: a.cookie }],
    [`/api/app/${b.name}/api/topology/hosts/ws`, {}],
    ['/api/control/ws', {}],
    ['/api/control/ws', { authorization: 'Scope-Probe token=forged' }],
  ] as const) {
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${wsBase}${path}`, { headers });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        reject(new Error(`${path} opened`));
      });
      ws.on('error', () => undefined);
    });
    t.is(status, 401, path);
  }
  const own = new WebSocket(`${wsBase}/api/app/${a.name}/api/topology/hosts/ws`, { headers: { cookie: a.cookie } });
  await new Promise((resolve, reject) => {
    own.once('message', resolve);
    own.once('error', reject);
  });
  own.close();
  t.pass();
});

test('malformed bodies and requests get the house format with a sentence', async (t) => {
  const nullNode = encodeMsgpack({ Host: { nodes: { 'h;<host>': null } } });
  const r1 = await front('POST', '/api/report', { authorization: `Scope-Probe token=${a.probeToken}`, 'x-scope-probe-id': 'nul', 'content-type': 'application/msgpack' }, nullNode);
  t.is(r1.status, 400);
  t.regex(errorMessage(r1), /Host\.nodes\["h;<host>"\]: expected a node/);
  const r2 = await front('POST', '/api/users/signup', { 'content-type': 'application/json' }, '{"__proto__": {"email": "x@example.com"}}');
  t.is(r2.status, 400);
  t.regex(errorMessage(r2), /may not use the key __proto__/);
  for (const request of ['POST /api/users/signup HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n', 'GET \\private\\api\\users HTTP/1.1\r\nHost: x\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n', 'CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n']) {
    const r = await sendRaw(frontPort, request.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'), { waitMs: 5000 });
    t.true(r.status >= 400 && r.status < 500, r.text);
    t.true(isHouseError(r.body), `${JSON.stringify(request)}: ${r.body}`);
  }
  const query = await front('GET', `/api/app/${a.name}/api/topology?next=../../x`, { cookie: a.cookie });
  t.false(/invalid characters/.test(query.text), query.text);
  t.true(query.status === 200 || isHouseError(query.text), query.text);
});

test('after a logout the old cookie no longer reads the map, at once', async (t) => {
  const c = await createOrg(stack.usersUrl, stack.mail, 'edge-c', stack.frontendUrl);
  t.not((await front('GET', `/api/org/${c.name}/probes`, { cookie: c.cookie })).status, 401);
  t.is((await front('POST', '/api/users/logout', { cookie: c.cookie })).status, 200);
  const after = await front('GET', `/api/org/${c.name}/probes`, { cookie: c.cookie });
  t.is(after.status, 401);
});
