/**
 * The process provisioner's pid files, and the one function `dev down` needs to stop every Scope app a (possibly
 * crashed) app-mapper left running. Each app runs in its own process group (its pid is the group id), so a
 * command wrapper and its children go together.
 */
import { readFile, readdir, rm, writeFile, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { APP_ORG_ENV, appRecordFile, formatAppRecord, parseAppRecord, recordFileOrg, type AppRecord } from '@saas/kit/contracts';

export type { AppRecord };
export { APP_ORG_ENV as orgEnvMarker };

export const recordPath = (stateDir: string, org: string) => path.join(stateDir, appRecordFile(org));

export async function writeRecord(stateDir: string, record: AppRecord): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const file = recordPath(stateDir, record.org);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, formatAppRecord(record));
  await rename(tmp, file);
}

export async function removeRecord(stateDir: string, org: string): Promise<void> {
  await rm(recordPath(stateDir, org), { force: true });
}

/** Every well-formed record in stateDir; files that cannot be parsed are skipped (and reported). */
export async function readRecords(stateDir: string): Promise<{ records: AppRecord[]; broken: string[] }> {
  let names: string[];
  try {
    names = await readdir(stateDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], broken: [] };
    throw err;
  }
  const records: AppRecord[] = [];
  const broken: string[] = [];
  for (const name of names.sort()) {
    const org = recordFileOrg(name);
    if (!org) continue;
    const record = parseAppRecord(await readFile(path.join(stateDir, name), 'utf8').catch(() => ''), org);
    if (record) records.push(record);
    else broken.push(name);
  }
  return { records, broken };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * True when pid is alive and is the app recorded for org. On Linux the process environment must carry our
 * marker; elsewhere (no /proc) a live pid is taken at its word.
 */
export async function isRecordedApp(record: Pick<AppRecord, 'pid' | 'org'>): Promise<boolean> {
  if (!isAlive(record.pid)) return false;
  let environ: Buffer;
  try {
    environ = await readFile(`/proc/${record.pid}/environ`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No /proc (macOS): trust the pid. A vanished process or one we may not inspect is not ours.
    if (code === 'ENOENT') return isAlive(record.pid) && !(await procExists());
    return false;
  }
  return environ.toString('utf8').split('\0').includes(`${APP_ORG_ENV}=${record.org}`);
}

async function procExists(): Promise<boolean> {
  try {
    await readdir('/proc/self');
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' || isAlive(pid);
  }
}

/** SIGTERM to the app's process group, then SIGKILL after graceMs if it still runs. Resolves once it is gone. */
export async function terminateGroup(pid: number, graceMs = 5000): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
  if (!groupAlive(pid)) return;
  signalGroup(pid, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (groupAlive(pid) && Date.now() < hard) await sleep(20);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The recorded apps whose process still runs (and is the app the record names). */
export async function runningRecordedApps(stateDir: string): Promise<AppRecord[]> {
  const { records } = await readRecords(stateDir);
  const running = await Promise.all(records.map(async (r) => ((await isRecordedApp(r)) ? r : undefined)));
  return running.filter((r): r is AppRecord => r !== undefined);
}

export interface ReapResult {
  /** Apps that were running and have been stopped. */
  killed: AppRecord[];
  /** Records whose process was already gone (or was someone else's), removed. */
  stale: AppRecord[];
}

/**
 * Stops every Scope app recorded in stateDir and removes the records: what `dev down` calls so no app outlives
 * the system, even when app-mapper itself died without cleaning up.
 */
export async function killRecordedApps(stateDir: string, graceMs = 5000): Promise<ReapResult> {
  const { records, broken } = await readRecords(stateDir);
  const result: ReapResult = { killed: [], stale: [] };
  await Promise.all(
    records.map(async (record) => {
      if (await isRecordedApp(record)) {
        await terminateGroup(record.pid, graceMs);
        result.killed.push(record);
      } else result.stale.push(record);
      await removeRecord(stateDir, record.org);
    }),
  );
  await Promise.all(broken.map((name) => rm(path.join(stateDir, name), { force: true })));
  return result;
}
