/**
 * The whole path as a browser and a probe take it: frontend → app-mapper → each organisation's own Scope app,
 * with two organisations, beside the real users service, ui-server and maildev (test/helpers/stack.ts).
 */
import test from 'ava';
import { waitFor } from '@saas/kit/testing';
import { startStack, type Stack } from '../helpers/stack.ts';
import { alive, createOrg, firstTopologyDiff, postReport, raw, readRecord, startAppMapper, tempDir, untilReady, type Org, type RunningAppMapper } from './helpers.ts';

let stack: Stack;
let mapper: RunningAppMapper | undefined;
let a: Org;
let b: Org;

test.before(async () => {
  const stateDir = await tempDir('stack');
  stack = await startStack({
    appMapper: async (ctx) => {
      const db = await ctx.createDatabase();
      mapper = await startAppMapper({ databaseUrl: db.url, usersUrl: ctx.usersUrl, stateDir });
      const m = mapper;
      return { url: m.url, close: async () => void (await m.stop('SIGTERM')) };
    },
  });
  a = await createOrg(stack.usersUrl, stack.mail, 'front-a', stack.frontendUrl);
  b = await createOrg(stack.usersUrl, stack.mail, 'front-b', stack.frontendUrl);
});

test.after.always(async () => {
  await stack?.close();
});

const front = (method: string, path: string, headers: Record<string, string> = {}) => raw(stack.frontendUrl, method, path, headers);

test.serial('probes report through the frontend into their own organisation app; browsers read only their own', async (t) => {
  const hello = await front('GET', '/api');
  t.is(hello.status, 200);
  t.truthy(hello.json<{ id: string }>().id);

  t.is((await untilReady('A report', () => postReport(stack.frontendUrl, a.probeToken, 'front-probe-a'))).status, 200);
  t.is((await untilReady('B report', () => postReport(stack.frontendUrl, b.probeToken, 'front-probe-b'))).status, 200);

  const probesA = await front('GET', `/api/app/${a.name}/api/probes`, { cookie: a.cookie });
  t.is(probesA.status, 200, probesA.text);
  t.deepEqual(probesA.json<{ id: string }[]>().map((p) => p.id), ['front-probe-a']);
  const probesB = await front('GET', `/api/app/${b.name}/api/probes`, { cookie: b.cookie });
  t.deepEqual(probesB.json<{ id: string }[]>().map((p) => p.id), ['front-probe-b']);

  t.is((await front('GET', `/api/app/${b.name}/api/probes`, { cookie: a.cookie })).status, 401);
  t.is((await front('GET', `/api/org/${b.name}/probes`, { cookie: a.cookie })).status, 401);
  const trick = await front('GET', `/api/app/${a.name}/..%2F${b.name}/api/probes`, { cookie: a.cookie });
  t.true(trick.status >= 400 && trick.status < 500, String(trick.status));
  t.false(trick.text.includes('front-probe-b'));

  const listed = await waitFor('A probes listed', async () => {
    const r = await front('GET', `/api/org/${a.name}/probes`, { cookie: a.cookie });
    const body = r.json<{ id: string; hostname?: string; lastSeen: string }[]>();
    return r.status === 200 && body.length === 1 && body[0]?.hostname ? body : undefined;
  });
  t.is(listed[0]?.id, 'front-probe-a');
  t.is(listed[0]?.hostname, 'vm', 'the hostname from the probe report, as the app read it');

  const lookup = await front('GET', '/api/users/lookup', { cookie: a.cookie });
  t.truthy(lookup.json<{ firstProbeUpdateAt: string | null }>().firstProbeUpdateAt, 'users recorded the first probe update');
});

test.serial('the map page and its websocket through the frontend', async (t) => {
  t.is((await postReport(stack.frontendUrl, a.probeToken, 'front-probe-a')).status, 200);
  const page = await front('GET', `/api/app/${a.name}/`, { cookie: a.cookie, accept: 'text/html' });
  t.is(page.status, 200);
  t.regex(String(page.headers['content-type']), /text\/html/);

  const diff = await firstTopologyDiff(`${stack.frontendUrl.replace('http', 'ws')}/api/app/${a.name}/api/topology/hosts/ws`, { cookie: a.cookie });
  t.true(Array.isArray(diff.add) && diff.add.length > 0, diff.text.slice(0, 200));
});

test.serial('stopping the stack stops app-mapper and both organisation apps', async (t) => {
  const m = mapper;
  if (!m) return t.fail('no app-mapper');
  const pids = [(await readRecord(m.stateDir, a.id))?.pid, (await readRecord(m.stateDir, b.id))?.pid];
  t.true(pids.every((p) => typeof p === 'number' && alive(p)));
  await stack.close();
  t.true(pids.every((p) => !alive(p as number)));
  t.is(await readRecord(m.stateDir, a.id), undefined);
});
