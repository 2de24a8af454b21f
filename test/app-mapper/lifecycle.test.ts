/**
 * The apps' life cycle with app-mapper's database on PGlite (served on the Postgres wire protocol, as the local
 * runtime does): the idle sweeper, taking over apps after app-mapper was killed, `dev down`'s reaper, users
 * being unreachable, readiness following the database, and the provisioner setting.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { freePort, startPgliteServer, waitFor, type TestDatabase } from '@saas/kit/testing';
import { maildevForFile } from '../helpers/maildev.ts';
import { killRecordedApps } from '../../images/app-mapper/src/provisioners/process-reaper.ts';
import {
  alive,
  createOrg,
  errorMessage,
  postReport,
  raw,
  readRecord,
  root,
  startAppMapper,
  startUsers,
  tempDir,
  untilReady,
  type Org,
  type RunningUsers,
} from './helpers.ts';

const mail = maildevForFile();
let mapperDb: TestDatabase;
let users: RunningUsers;
let a: Org;

test.before(async () => {
  // maildev first: PGlite starting in this process stalls the event loop maildev's start waits on.
  const { smtpUrl } = await mail.ready();
  mapperDb = await startPgliteServer();
  users = await startUsers({ smtpUrl });
  a = await createOrg(users.url, mail(), 'life');
});

test.after.always(async () => {
  await users?.stop();
  await mapperDb?.close();
});

async function appRow(org: string): Promise<{ state: string; ref: string } | undefined> {
  const c = new pg.Client({ connectionString: mapperDb.url });
  await c.connect();
  try {
    return (await c.query<{ state: string; ref: string }>('SELECT state, ref FROM app_mapper_apps WHERE organization_id = $1', [org])).rows[0];
  } finally {
    await c.end();
  }
}

test.serial('an app idle for APP_IDLE_SECONDS is stopped by the sweeper, and the next use starts it again', async (t) => {
  const stateDir = await tempDir('idle');
  const mapper = await startAppMapper({ databaseUrl: mapperDb.url, usersUrl: users.url, stateDir, env: { APP_IDLE_SECONDS: '1' } });
  try {
    const get = () => raw(mapper.url, 'GET', `/api/app/${a.name}/api/probes`, { cookie: a.cookie });
    t.is((await untilReady('app ready', get)).status, 200);
    const rec = await readRecord(stateDir, a.id);
    if (!rec) return t.fail('no pid file written');
    t.true(alive(rec.pid));
    await waitFor('ready recorded', async () => (await appRow(a.id))?.state === 'ready');

    await waitFor('idle app stopped', async () => !alive(rec.pid) && !(await readRecord(stateDir, a.id)), 30_000);
    await waitFor('stop recorded', async () => (await appRow(a.id))?.state === 'stopped');

    const again = await get();
    t.is(again.status, 503, 'starting again');
    t.is((await untilReady('app ready again', get)).status, 200);
    const rec2 = await readRecord(stateDir, a.id);
    t.truthy(rec2);
    t.not(rec2?.pid, rec.pid);
  } finally {
    t.is(await mapper.stop('SIGTERM'), 0);
  }
});

test.serial('a killed app-mapper leaves its apps recorded: the next one adopts them, and killRecordedApps stops them', async (t) => {
  const stateDir = await tempDir('adopt');
  const first = await startAppMapper({ databaseUrl: mapperDb.url, usersUrl: users.url, stateDir });
  t.is((await untilReady('report', () => postReport(first.url, a.probeToken, 'probe-adopt'))).status, 200);
  const rec = await readRecord(stateDir, a.id);
  if (!rec) return t.fail('no pid file');
  t.is(await first.stop('SIGKILL'), 'SIGKILL');
  t.true(alive(rec.pid), 'the app outlived app-mapper');

  const second = await startAppMapper({ databaseUrl: mapperDb.url, usersUrl: users.url, stateDir });
  try {
    // Adopted while ready: answered at once (no 503), by the same process that already holds the report.
    const r = await raw(second.url, 'GET', `/api/app/${a.name}/api/probes`, { cookie: a.cookie });
    t.is(r.status, 200, r.text);
    t.deepEqual(r.json<{ id: string }[]>().map((p) => p.id), ['probe-adopt']);
    t.is((await readRecord(stateDir, a.id))?.pid, rec.pid);
  } finally {
    t.is(await second.stop('SIGKILL'), 'SIGKILL');
  }
  t.true(alive(rec.pid));

  const reaped = await killRecordedApps(stateDir);
  t.deepEqual(reaped.killed.map((r) => r.pid), [rec.pid]);
  t.false(alive(rec.pid));
  t.is(await readRecord(stateDir, a.id), undefined);
  t.deepEqual(await killRecordedApps(stateDir), { killed: [], stale: [] });
});

test.serial('users unreachable → 502; readiness follows the database', async (t) => {
  const db = await startPgliteServer();
  const closedPort = await freePort();
  const mapper = await startAppMapper({ databaseUrl: db.url, usersUrl: `http://127.0.0.1:${closedPort}`, stateDir: await tempDir('nousers'), env: { LOOKUP_CACHE_SECONDS: '0' } });
  try {
    const browser = await raw(mapper.url, 'GET', `/api/app/${a.name}/api/probes`, { cookie: a.cookie });
    t.is(browser.status, 502);
    t.regex(errorMessage(browser), /users/);
    const probe = await postReport(mapper.url, a.probeToken, 'p');
    t.is(probe.status, 502);
    t.is((await raw(mapper.url, 'GET', `/api/org/${a.name}/probes`, { cookie: a.cookie })).status, 502);

    t.is((await raw(mapper.url, 'GET', '/readyz')).status, 200);
    await db.close();
    const notReady = await waitFor('readyz 503', async () => {
      const r = await raw(mapper.url, 'GET', '/readyz');
      return r.status === 503 ? r : undefined;
    }, 30_000, 200);
    t.regex(notReady.text, /database/);
  } finally {
    await mapper.stop('SIGTERM');
  }
});

test.serial('PROVISIONER must be a known value; docker needs its runtime settings; kubernetes needs its image', async (t) => {
  const run = (value: string) =>
    new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'images/app-mapper/src/main.ts')], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', DATABASE_URL: mapperDb.url, USERS_URL: users.url, PROVISIONER: value, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'fatal' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      let stdout = '';
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
      child.on('exit', (code) => resolve({ code, stderr, stdout }));
    });
  // The container provisioner takes its network and image from the docker runtime: without them, no start.
  const docker = await run('docker');
  t.not(docker.code, 0);
  t.regex(docker.stderr + docker.stdout, /PROVISIONER=docker needs DOCKER_NETWORK and SCOPE_APP_IMAGE/);
  // The Kubernetes provisioner takes the scope image from the Kubernetes runtimes the same way.
  const kube = await run('kubernetes');
  t.not(kube.code, 0);
  t.regex(kube.stderr + kube.stdout, /PROVISIONER=kubernetes needs SCOPE_APP_IMAGE/);
  const bogus = await run('podman');
  t.is(bogus.code, 78);
  t.regex(bogus.stderr, /must be one of process, docker, kubernetes/);
});
