/**
 * app-mapper as main.ts runs it, beside the real users service (real PostgreSQL, real maildev for the login
 * links), with two organisations whose Scope apps run as real processes through the process provisioner.
 */
import test from 'ava';
import { WebSocket } from 'ws';
import { createPostgresDatabase, waitFor, type TestDatabase } from '@saas/kit/testing';
import { maildevForFile } from '../helpers/maildev.ts';
import {
  alive,
  createOrg,
  errorMessage,
  firstTopologyDiff,
  postReport,
  raw,
  readRecord,
  startAppMapper,
  startUsers,
  tempDir,
  untilReady,
  type Org,
  type RunningAppMapper,
  type RunningUsers,
} from './helpers.ts';

const mail = maildevForFile();
let mapperDb: TestDatabase;
let users: RunningUsers;
let mapper: RunningAppMapper;
let a: Org;
let b: Org;

test.before(async () => {
  mapperDb = await createPostgresDatabase();
  users = await startUsers({ smtpUrl: (await mail.ready()).smtpUrl });
  a = await createOrg(users.url, mail(), 'org-a');
  b = await createOrg(users.url, mail(), 'org-b');
  mapper = await startAppMapper({ databaseUrl: mapperDb.url, usersUrl: users.url, stateDir: await tempDir('tenancy') });
});

test.after.always(async () => {
  await mapper?.stop('SIGTERM');
  await users?.stop();
  await mapperDb?.close();
});

const asA = (path: string, extra: Record<string, string> = {}) => raw(mapper.url, 'GET', path, { cookie: a.cookie, ...extra });
const asB = (path: string, extra: Record<string, string> = {}) => raw(mapper.url, 'GET', path, { cookie: b.cookie, ...extra });
const probesOf = async (org: Org) => {
  const r = await untilReady(`${org.name}'s probes`, () => raw(mapper.url, 'GET', `/api/app/${org.name}/api/probes`, { cookie: org.cookie }));
  if (r.status !== 200) throw new Error(`probes of ${org.name}: ${r.status} ${r.text}`);
  return r.json<{ id: string }[]>().map((p) => p.id);
};

test.serial('each organisation gets its own app: 503 with Retry-After while it starts, then its own process', async (t) => {
  const first = await asA(`/api/app/${a.name}/api/probes`);
  t.is(first.status, 503);
  t.regex(String(first.headers['retry-after']), /^\d+$/);
  t.regex(errorMessage(first), /starting/);

  // A browser opening the map while the app starts gets a page that reloads itself, still a 503 with Retry-After.
  const firstB = await asB(`/api/app/${b.name}/`, { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' });
  t.is(firstB.status, 503);
  t.regex(String(firstB.headers['retry-after']), /^\d+$/);
  t.regex(String(firstB.headers['content-type']), /text\/html/);
  t.regex(firstB.text, /<meta http-equiv="refresh" content="\d+">/);

  t.is((await untilReady('A ready', () => asA(`/api/app/${a.name}/api/probes`))).status, 200);
  t.is((await untilReady('B ready', () => asB(`/api/app/${b.name}/api/probes`))).status, 200);

  const recA = await readRecord(mapper.stateDir, a.id);
  const recB = await readRecord(mapper.stateDir, b.id);
  t.truthy(recA && recB);
  t.is(recA?.org, a.id);
  t.not(recA?.pid, recB?.pid);
  t.not(recA?.port, recB?.port);
  t.true(alive(recA?.pid ?? 0) && alive(recB?.pid ?? 0));
});

test.serial('/api/app/{org} without a slash redirects to /api/app/{org}/, keeping the query', async (t) => {
  const r = await asA(`/api/app/${a.name}?x=1`);
  t.is(r.status, 308);
  t.is(r.headers.location, `/api/app/${a.name}/?x=1`);
  const page = await asA(`/api/app/${a.name}/`);
  t.is(page.status, 200);
  t.regex(String(page.headers['content-type']), /html/);
});

test.serial('reports with an organisation token land in its app only, and its probes are listed', async (t) => {
  t.is((await untilReady('report A', () => postReport(mapper.url, a.probeToken, 'probe-a1'))).status, 200);
  t.is((await postReport(mapper.url, b.probeToken, 'probe-b1')).status, 200);
  t.is((await postReport(mapper.url, a.probeToken, 'probe-a2')).status, 200);

  t.deepEqual((await probesOf(a)).sort(), ['probe-a1', 'probe-a2']);
  t.deepEqual(await probesOf(b), ['probe-b1']);

  const listed = await waitFor('A probes recorded', async () => {
    const r = await asA(`/api/org/${a.name}/probes`);
    const body = r.json<{ id: string; lastSeen: string }[]>();
    return r.status === 200 && body.length === 2 ? body : undefined;
  });
  t.deepEqual(listed.map((p) => p.id).sort(), ['probe-a1', 'probe-a2']);
  for (const p of listed) t.false(Number.isNaN(Date.parse(p.lastSeen)));
  const listedB = (await asB(`/api/org/${b.name}/probes`)).json<{ id: string }[]>();
  t.deepEqual(listedB.map((p) => p.id), ['probe-b1']);
});

test.serial("a cookie of one organisation gets 401 on another's app and probes", async (t) => {
  for (const path of [`/api/app/${b.name}/api/probes`, `/api/app/${b.name}/`, `/api/org/${b.name}/probes`]) {
    const r = await asA(path);
    t.is(r.status, 401, path);
    t.truthy(errorMessage(r), path);
  }
  t.is((await raw(mapper.url, 'GET', `/api/app/${a.name}/api/probes`)).status, 401, 'no cookie');
  t.is((await raw(mapper.url, 'GET', `/api/app/${a.name}/api/probes`, { cookie: '_weave_scope_session=forged.value' })).status, 401, 'forged cookie');
  t.is((await raw(mapper.url, 'GET', `/api/app/${a.name}/api/probes`, { cookie: 'other=1' })).status, 401, 'no session cookie');
  t.is((await asA('/api/app/no-such-org-here/api/probes')).status, 401, 'unknown org');
});

test.serial('forged, missing or malformed probe credentials get 401 and reach no app', async (t) => {
  const attempts: [string, Record<string, string>][] = [
    ['missing', {}],
    ['bearer', { authorization: `Bearer ${a.probeToken}` }],
    ['forged', { authorization: 'Scope-Probe token=forgedforgedforgedforged' }],
    ['extended', { authorization: `Scope-Probe token=${a.probeToken}x` }],
    ['truncated', { authorization: `Scope-Probe token=${a.probeToken.slice(0, -1)}` }],
    ['empty', { authorization: 'Scope-Probe token=' }],
    ['two tokens', { authorization: `Scope-Probe token=${a.probeToken} token=${b.probeToken}` }],
    ['garbage', { authorization: '\u00ff\u00fe' }],
  ];
  for (const [label, auth] of attempts) {
    const r = await raw(mapper.url, 'POST', '/api/report', { ...auth, 'x-scope-probe-id': `intruder-${label.replace(/\W/g, '')}`, 'content-type': 'application/json' }, '{}');
    t.is(r.status, 401, label);
    t.truthy(errorMessage(r), label);
  }
  const all = [...(await probesOf(a)), ...(await probesOf(b))];
  t.false(all.some((id) => id.startsWith('intruder')), all.join(','));
  const noProbeId = await raw(mapper.url, 'POST', '/api/report', { authorization: `Scope-Probe token=${a.probeToken}`, 'content-type': 'application/json' }, '{}');
  t.is(noProbeId.status, 400);
  t.regex(errorMessage(noProbeId), /X-Scope-Probe-ID/);
  // A body that is no report passes app-mapper (which never decodes reports) and is refused by the app itself.
  const notAReport = await raw(mapper.url, 'POST', '/api/report', { authorization: `Scope-Probe token=${a.probeToken}`, 'x-scope-probe-id': 'garbled' }, 'x');
  t.is(notAReport.status, 400);
  t.truthy(errorMessage(notAReport));
});

test.serial("path tricks never reach another organisation's app", async (t) => {
  const tricks = [
    `/api/app/${a.name}/../${b.name}/api/probes`,
    `/api/app/${a.name}/..%2F${b.name}/api/probes`,
    `/api/app/${a.name}%2F..%2F${b.name}/api/probes`,
    `/api/app/${a.name}%2f${b.name}/api/probes`,
    `/api/app/${a.name}/%2e%2e/${b.name}/api/probes`,
    `/api/app/${a.name}/%252e%252e/${b.name}/api/probes`,
    `/api/app/${a.name}%252F..%252F${b.name}/api/probes`,
    `/api/app/${a.name}/api/%2F..%2F..%2F${b.name}`,
    `/api/app/${a.name}/..\\${b.name}/api/probes`,
    `/api/app/..%2F${b.name}/api/probes`,
    `/api/app/${b.name.toUpperCase()}/api/probes`,
    `/api/app/${b.name}%00/api/probes`,
    `/api/app//${b.name}/api/probes`,
    `/api/app/${a.name}/%zz/api/probes`,
  ];
  for (const path of tricks) {
    const r = await asA(path);
    t.true(r.status === 400 || r.status === 401 || r.status === 404, `${path} → ${r.status}`);
    t.false(r.text.includes('probe-b1'), path);
    t.truthy(errorMessage(r), path);
  }
  // The same tricks with B's own cookie are refused too: they are refused for their shape, not their owner.
  t.is((await asB(`/api/app/${a.name}/../${b.name}/api/probes`)).status, 400);
  t.is((await asB(`/api/org/${a.name}%2F..%2F${b.name}/probes`)).status, 400);
});

test.serial('websockets reach the organisation app under its prefix; another org cookie is refused', async (t) => {
  t.is((await postReport(mapper.url, a.probeToken, 'probe-a1')).status, 200);
  const wsUrl = `${mapper.url.replace('http', 'ws')}/api/app/${a.name}/api/topology/hosts/ws`;
  const diff = await firstTopologyDiff(wsUrl, { cookie: a.cookie });
  // The app's first diff holds A's host, from A's report.
  t.true(Array.isArray(diff.add) && diff.add.length > 0, diff.text.slice(0, 200));

  const refused = await new Promise<number>((resolve, reject) => {
    const other = new WebSocket(`${mapper.url.replace('http', 'ws')}/api/app/${b.name}/api/topology/hosts/ws`, { headers: { cookie: a.cookie } });
    other.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    other.once('open', () => reject(new Error('opened')));
    other.once('error', reject);
  });
  t.is(refused, 401);

  // The control websocket is authenticated by the probe token and handed to the org's app (which may not serve
  // it: then its own 404 comes back, not app-mapper's 401/503).
  const control = await new Promise<number>((resolve, reject) => {
    const c = new WebSocket(`${mapper.url.replace('http', 'ws')}/api/control/ws`, { headers: { authorization: `Scope-Probe token=${b.probeToken}`, 'x-scope-probe-id': 'probe-b1' } });
    c.once('open', () => {
      c.close();
      resolve(101);
    });
    c.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    c.once('error', reject);
  });
  t.true(control === 101 || control === 404, String(control));

  const forged = await new Promise<number>((resolve, reject) => {
    const c = new WebSocket(`${mapper.url.replace('http', 'ws')}/api/control/ws`, { headers: { authorization: 'Scope-Probe token=nope' } });
    c.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    c.once('open', () => reject(new Error('opened')));
    c.once('error', reject);
  });
  t.is(forged, 401);
});

test.serial("kill -9 of an organisation's app: the next use starts a new one", async (t) => {
  const before = await readRecord(mapper.stateDir, a.id);
  const bBefore = await readRecord(mapper.stateDir, b.id);
  if (!before || !bBefore) return t.fail('no records');
  process.kill(before.pid, 'SIGKILL');
  await waitFor('A app gone', async () => !alive(before.pid));
  const again = await untilReady('A restarted', () => asA(`/api/app/${a.name}/api/probes`));
  t.is(again.status, 200);
  t.deepEqual(again.json(), [], 'a fresh app');
  const after = await readRecord(mapper.stateDir, a.id);
  t.truthy(after);
  t.not(after?.pid, before.pid);
  t.true(alive(after?.pid ?? 0));
  // B's app was not touched.
  t.is((await readRecord(mapper.stateDir, b.id))?.pid, bBefore.pid);
  t.true(alive(bBefore.pid));
});

test.serial('SIGTERM stops app-mapper and every app it started, removing their pid files', async (t) => {
  const recA = await readRecord(mapper.stateDir, a.id);
  const recB = await readRecord(mapper.stateDir, b.id);
  if (!recA || !recB) return t.fail('missing records');
  t.is(await mapper.stop('SIGTERM'), 0);
  t.false(alive(recA.pid));
  t.false(alive(recB.pid));
  t.is(await readRecord(mapper.stateDir, a.id), undefined);
  t.is(await readRecord(mapper.stateDir, b.id), undefined);
});
