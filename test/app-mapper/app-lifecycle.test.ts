/**
 * The app lifecycle over the process backend, with small real processes as apps (a plain HTTP server on the
 * PORT it is given, or one that fails): the backoff between failed starts, a start retried at once when its
 * port was taken, idle stops that respect open connections, and what a new lifecycle adopts or removes.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { createLogger } from '@saas/kit';
import { APP_ORG_ENV } from '@saas/kit/contracts';
import { waitFor } from '@saas/kit/testing';
import { ProcessProvisioner } from '../../images/app-mapper/src/provisioners/process.ts';
import { writeRecord } from '../../images/app-mapper/src/provisioners/process-reaper.ts';
import { alive, readRecord, tempDir } from './helpers.ts';

const log = createLogger('test', 'silent');

/** An app: answers every request (so /readyz) on HOST:PORT. */
const serve = "require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), process.env.HOST)";
const serverApp = [process.execPath, '-e', serve];

async function until(p: ProcessProvisioner, org: string, state: string) {
  return waitFor(`${org} ${state}`, async () => {
    const s = await p.status(org);
    return s?.state === state ? s : undefined;
  }, 30_000, 50);
}

test('failed starts back off 1 s, then 2 s; a start after the backoff is a new process', async (t) => {
  const p = new ProcessProvisioner({ stateDir: await tempDir('backoff'), log, command: [process.execPath, '-e', 'process.exit(4)'] });
  try {
    const first = await p.ensure('org1');
    const crashed = await until(p, 'org1', 'crashed');
    t.is(crashed.reason, 'exited with code 4');
    t.is(crashed.retryAfterSeconds, 1);
    t.is((await p.ensure('org1')).ref, first.ref, 'no new start within the backoff');

    const second = await waitFor('a new start after the backoff', async () => {
      const s = await p.ensure('org1');
      return s.ref !== first.ref ? s : undefined;
    }, 10_000, 100);
    t.is(second.state, 'starting');
    const again = await waitFor('second crash', async () => {
      const s = await p.status('org1');
      return s?.state === 'crashed' && s.ref === second.ref ? s : undefined;
    });
    t.is(again.retryAfterSeconds, 2, 'the second failure in a row waits twice as long');
  } finally {
    await p.stopAll();
  }
});

test('an app whose port was taken is started again at once, without a backoff', async (t) => {
  const dir = await tempDir('eaddrinuse');
  const marker = path.join(dir, 'tried');
  // The first run fails as a taken port does; the second serves.
  const script = `const fs = require('node:fs');
    if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ''); console.error('Error: listen EADDRINUSE: address already in use'); process.exit(1); }
    ${serve}`;
  const p = new ProcessProvisioner({ stateDir: dir, log, command: [process.execPath, '-e', script] });
  try {
    const first = await p.ensure('org1');
    const ready = await until(p, 'org1', 'ready');
    t.not(ready.ref, first.ref, 'a second process');
    t.is(ready.reason, undefined);
    t.is((await readRecord(dir, 'org1'))?.pid, Number(ready.ref.replace('pid ', '')));
  } finally {
    await p.stopAll();
  }
});

test('idle apps are stopped, not while a connection is open; a stopped app starts again on use', async (t) => {
  const stateDir = await tempDir('idle-lifecycle');
  const p = new ProcessProvisioner({ stateDir, log, command: serverApp });
  try {
    await p.ensure('org1');
    const ready = await until(p, 'org1', 'ready');
    const pid = (await readRecord(stateDir, 'org1'))?.pid ?? 0;
    p.touch('org1');
    t.deepEqual(await p.stopIdle(60_000), [], 'used just now');
    p.connectionOpened('org1');
    t.deepEqual(await p.stopIdle(1000, Date.now() + 120_000), [], 'a connection is open');
    p.connectionClosed('org1');
    t.deepEqual(await p.stopIdle(1000, Date.now() + 120_000), ['org1']);
    t.false(alive(pid));
    t.is(await readRecord(stateDir, 'org1'), undefined);
    t.is((await p.status('org1'))?.state, 'stopped');

    const next = await p.ensure('org1');
    t.is(next.state, 'starting');
    t.not(next.ref, ready.ref);
  } finally {
    await p.stopAll();
  }
});

test('a new lifecycle adopts the apps that answer, stops the ones that do not, and drops records of dead ones', async (t) => {
  const stateDir = await tempDir('adopt-lifecycle');
  const first = new ProcessProvisioner({ stateDir, log, command: serverApp });
  await first.ensure('org1');
  const ready = await until(first, 'org1', 'ready');
  // An app of org2 that never answers: alive, marked as ours, in a process group of its own.
  const hung = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: { PATH: process.env.PATH ?? '', [APP_ORG_ENV]: 'org2' }, detached: true, stdio: 'ignore' });
  await writeRecord(stateDir, { pid: hung.pid as number, port: 1, org: 'org2', startedAt: new Date().toISOString() });
  // org3's app is long gone.
  await writeRecord(stateDir, { pid: 2 ** 22 - 5, port: 2, org: 'org3', startedAt: new Date().toISOString() });
  await writeFile(path.join(stateDir, 'org4.json'), '{not json');

  const second = new ProcessProvisioner({ stateDir, log, command: serverApp, stopGraceMs: 1000 });
  try {
    await second.init();
    const adopted = await second.status('org1');
    t.is(adopted?.state, 'ready');
    t.is(adopted?.ref, ready.ref);
    t.is(adopted?.url, ready.url);
    t.deepEqual((await second.list()).map((a) => a.org), ['org1']);
    t.false(alive(hung.pid as number), 'the app that did not answer was stopped');
    t.is(await readRecord(stateDir, 'org2'), undefined);
    t.is(await readRecord(stateDir, 'org3'), undefined);
    t.is((await second.ensure('org1')).ref, ready.ref, 'the adopted app serves');
  } finally {
    await second.stopAll();
    try {
      process.kill(-(hung.pid as number), 'SIGKILL');
    } catch {
      // stopped by the lifecycle
    }
  }
  t.false(alive(Number(ready.ref.replace('pid ', ''))));
});
