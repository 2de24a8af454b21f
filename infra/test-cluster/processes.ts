/**
 * The cluster's daemons, started detached with their output in logs/<name>.log and a pid file that also
 * records the process's start time, so a reused pid is never mistaken for ours.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { state } from './layout.ts';

export interface Daemon {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

interface PidRecord {
  pid: number;
  startTime: string;
  command: string;
}

const pidFile = (name: string) => join(state.pids, `${name}.json`);
export const logFile = (name: string) => join(state.logs, `${name}.log`);

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. Undefined when it
 * is gone or a zombie (exited, its parent has not reaped it yet).
 */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [processState, ...fields] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return processState === 'Z' ? undefined : fields[22 - 4];
  } catch {
    return undefined;
  }
}

export async function startDaemon(daemon: Daemon): Promise<number> {
  await mkdir(state.pids, { recursive: true });
  await mkdir(state.logs, { recursive: true });
  const out = openSync(logFile(daemon.name), 'a');
  try {
    const child = spawn(daemon.command, daemon.args, {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, ...daemon.env },
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new Error(`cannot start ${daemon.name} (${daemon.command}): ${err.message}`)));
      child.once('spawn', () => resolve(child.pid ?? -1));
    });
    child.unref();
    const record: PidRecord = { pid, startTime: processStartTime(pid) ?? '', command: daemon.command };
    await writeFile(pidFile(daemon.name), JSON.stringify(record) + '\n');
    return pid;
  } finally {
    closeSync(out);
  }
}

function readRecord(name: string): PidRecord | undefined {
  try {
    return JSON.parse(readFileSync(pidFile(name), 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

/** The pid of our daemon `name` if it still runs. */
export function runningPid(name: string): number | undefined {
  const record = readRecord(name);
  return record && processStartTime(record.pid) === record.startTime ? record.pid : undefined;
}

/** Names of every daemon with a pid file, running or not. */
export function recordedDaemons(): string[] {
  if (!existsSync(state.pids)) return [];
  return readdirSync(state.pids).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length));
}

export async function waitForExit(pid: number, startTime: string | undefined, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processStartTime(pid) !== startTime) return true;
    await sleep(100);
  }
  return processStartTime(pid) !== startTime;
}

/** SIGTERM, then SIGKILL after graceMs; removes the pid file. True when it was running. */
export async function stopDaemon(name: string, graceMs = 10_000): Promise<boolean> {
  const pid = runningPid(name);
  if (pid !== undefined) await killPid(pid, graceMs);
  await rm(pidFile(name), { force: true });
  return pid !== undefined;
}

export async function killPid(pid: number, graceMs: number): Promise<void> {
  const startTime = processStartTime(pid);
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, startTime, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, startTime, 5_000);
}

/** The last lines of a daemon's log, for an error message. */
export async function logTail(name: string, lines = 15): Promise<string> {
  try {
    return (await readFile(logFile(name), 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Pids of processes whose command line contains needle (our containerd's shims name its socket). */
export function pidsWithArgument(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}
