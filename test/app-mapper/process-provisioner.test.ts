/**
 * The process provisioner on its own, with the real Scope app (images/scope, SCOPE_ROLE=app) as its processes.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '@saas/kit';
import { waitFor } from '@saas/kit/testing';
import { ProcessProvisioner } from '../../images/app-mapper/src/provisioners/process.ts';
import { alive, readRecord, tempDir } from './helpers.ts';

const log = createLogger('test', 'silent');

test.serial('starts one app per org, once, waits for /readyz, stops it and its record', async (t) => {
  const stateDir = await tempDir('prov');
  const p = new ProcessProvisioner({ stateDir, log });
  await p.init();
  try {
    const [first, second] = await Promise.all([p.ensure('org1'), p.ensure('org1')]);
    t.is(first.state, 'starting');
    t.is(second.ref, first.ref, 'concurrent callers share one start');
    t.is(first.retryAfterSeconds, 2);
    const rec = await readRecord(stateDir, 'org1');
    t.is(rec?.org, 'org1');
    t.true(alive(rec?.pid ?? 0));
    t.is(first.url, `http://127.0.0.1:${rec?.port}`);

    const ready = await waitFor('ready', async () => ((await p.status('org1'))?.state === 'ready' ? p.status('org1') : undefined), 60_000, 100);
    t.is(ready?.ref, first.ref);
    const res = await fetch(`${first.url}/api`);
    t.is(res.status, 200);
    t.is((await p.ensure('org1')).state, 'ready');
    t.deepEqual((await p.list()).map((a) => a.org), ['org1']);

    // Callers arriving while the app is being stopped (an idle sweep) wait for the stop, then share one new app.
    const stopping = p.stop('org1');
    const [x, y] = await Promise.all([p.ensure('org1'), p.ensure('org1')]);
    await stopping;
    t.is(x.state, 'starting');
    t.is(x.ref, y.ref);
    t.not(x.ref, first.ref);
    t.false(alive(rec?.pid ?? 0));
    await waitFor('new app ready', async () => (await p.status('org1'))?.state === 'ready', 60_000, 100);
    const rec2 = await readRecord(stateDir, 'org1');
    t.is(`pid ${rec2?.pid}`, x.ref);

    await p.stop('org1');
    t.false(alive(rec2?.pid ?? 0));
    t.is(await readRecord(stateDir, 'org1'), undefined);
    t.is((await p.status('org1'))?.state, 'stopped');
    // The app's own output went to its log file.
    t.regex(await readFile(path.join(stateDir, 'org1.log'), 'utf8'), /scope-app/);
  } finally {
    await p.stopAll();
  }
});

test.serial('an app that dies while starting is crashed, with a growing backoff before the next try', async (t) => {
  const stateDir = await tempDir('crash');
  const p = new ProcessProvisioner({ stateDir, log, command: [process.execPath, '-e', 'console.error("boom"); process.exit(3)'] });
  await p.init();
  try {
    const first = await p.ensure('org2');
    t.is(first.state, 'starting');
    const crashed = await waitFor('crashed', async () => {
      const s = await p.status('org2');
      return s?.state === 'crashed' ? s : undefined;
    });
    t.regex(crashed.reason ?? '', /exited with code 3/);
    t.true((crashed.retryAfterSeconds ?? 0) >= 1);
    // Within the backoff, ensure() does not start another process.
    const again = await p.ensure('org2');
    t.is(again.state, 'crashed');
    t.is(again.ref, first.ref);
    t.true(await waitFor('record removed', async () => (await readRecord(stateDir, 'org2')) === undefined));
  } finally {
    await p.stopAll();
  }
});

test.serial('a killed app is noticed and restarted; a new provisioner adopts running apps from the records', async (t) => {
  const stateDir = await tempDir('adopt-prov');
  const p1 = new ProcessProvisioner({ stateDir, log });
  await p1.init();
  await p1.ensure('org3');
  await waitFor('ready', async () => (await p1.status('org3'))?.state === 'ready', 60_000, 100);
  const rec = await readRecord(stateDir, 'org3');
  if (!rec) return t.fail('no record');
  process.kill(rec.pid, 'SIGKILL');
  await waitFor('crash noticed', async () => (await p1.status('org3'))?.state === 'crashed');
  t.regex((await p1.status('org3'))?.reason ?? '', /SIGKILL/);
  const restarted = await p1.ensure('org3');
  t.is(restarted.state, 'starting', 'a crash of a ready app is restarted at once');
  await waitFor('ready again', async () => (await p1.status('org3'))?.state === 'ready', 60_000, 100);
  const rec2 = await readRecord(stateDir, 'org3');
  t.not(rec2?.pid, rec.pid);

  // p1 "dies" without stopping its app; p2 takes it over.
  const p2 = new ProcessProvisioner({ stateDir, log });
  await p2.init();
  try {
    const adopted = await p2.status('org3');
    t.is(adopted?.state, 'ready');
    t.is(adopted?.ref, `pid ${rec2?.pid}`);
    t.is((await p2.ensure('org3')).ref, adopted?.ref ?? '');
  } finally {
    await p2.stopAll();
  }
  t.false(alive(rec2?.pid ?? 0));
  t.is(await readRecord(stateDir, 'org3'), undefined);
});

test('invalid organisation IDs are refused before anything starts', async (t) => {
  const p = new ProcessProvisioner({ stateDir: await tempDir('bad'), log });
  for (const org of ['', 'Org', '../x', 'a-b', 'a'.repeat(41)]) await t.throwsAsync(p.ensure(org), { message: /invalid organisation ID/ });
});
