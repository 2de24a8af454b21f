/**
 * `dev down`'s reaper against real processes: it stops what a recorded app-mapper started (whole process
 * groups), leaves an unrelated process that happens to hold a recorded pid alone, and clears the records.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { waitFor } from '@saas/kit/testing';
import { killRecordedApps, orgEnvMarker, writeRecord } from '../../images/app-mapper/src/provisioners/process-reaper.ts';
import { alive, tempDir } from './helpers.ts';

/** A process like an app: its own group, the org marker in its environment, a child of its own. */
function fakeApp(org: string | undefined): ChildProcess {
  const script = `
    const { spawn } = require('node:child_process');
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    process.stdout.write(String(c.pid) + '\\n');
    setInterval(() => {}, 1000);`;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  if (org) env[orgEnvMarker] = org;
  return spawn(process.execPath, ['-e', script], { env, detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
}

const grandchildPid = (child: ChildProcess) =>
  new Promise<number>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));

test('killRecordedApps stops recorded apps with their process groups and removes every record', async (t) => {
  const stateDir = await tempDir('reaper');
  const app = fakeApp('org1');
  const inner = await grandchildPid(app);
  const stranger = fakeApp(undefined);
  await grandchildPid(stranger);
  try {
    await writeRecord(stateDir, { pid: app.pid as number, port: 1, org: 'org1', startedAt: new Date().toISOString() });
    // A record whose pid now belongs to a process that is not an app: removed, the process untouched.
    await writeRecord(stateDir, { pid: stranger.pid as number, port: 2, org: 'org2', startedAt: new Date().toISOString() });
    // A record of a process long gone.
    await writeRecord(stateDir, { pid: 2 ** 22 - 3, port: 3, org: 'org3', startedAt: new Date().toISOString() });
    await writeFile(path.join(stateDir, 'org4.json'), '{not json');

    const result = await killRecordedApps(stateDir, 2000);
    t.deepEqual(result.killed.map((r) => r.org), ['org1']);
    t.deepEqual(result.stale.map((r) => r.org).sort(), ['org2', 'org3']);
    await waitFor('app and its child gone', async () => !alive(app.pid as number) && !alive(inner));
    t.true(alive(stranger.pid as number));
    t.deepEqual((await readdir(stateDir)).filter((f) => f.endsWith('.json')), []);
  } finally {
    for (const c of [app, stranger]) {
      try {
        process.kill(-(c.pid as number), 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

test('killRecordedApps on a missing state directory does nothing', async (t) => {
  t.deepEqual(await killRecordedApps(path.join(await tempDir('none'), 'nope')), { killed: [], stale: [] });
});
