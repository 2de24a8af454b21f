/**
 * What /proc says about processes: whether a pid still is the process we started (pids get reused), who
 * listens on a port, and which processes carry our marker. Linux only, as the local runtime is.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { LOCAL_MARKER_ENV as markerVariable } from '@saas/kit/contracts';

interface Stat {
  state: string;
  ppid: number;
  pgid: number;
  /** Clock ticks since boot when the process started: with the pid, it identifies one process for good. */
  startTime: number;
}

export function readStat(pid: number): Stat | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state); starttime is field 22.
    return { state: rest[0] ?? '?', ppid: Number(rest[1]), pgid: Number(rest[2]), startTime: Number(rest[19]) };
  } catch {
    return undefined;
  }
}

/** Running (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  const s = readStat(pid);
  return s !== undefined && s.state !== 'Z' && s.state !== 'X';
}

export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/**
 * Whether pid is still a process of this dev folder: alive, started at the recorded time when one is given,
 * and carrying our marker in its environment (set on the daemon and everything it starts).
 */
export function isOurs(pid: number, devDir: string, startTime?: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return false;
  const s = readStat(pid);
  if (!s || s.state === 'Z') return false;
  if (startTime !== undefined && s.startTime !== startTime) return false;
  return environHas(pid, `${markerVariable}=${devDir}`) || (startTime !== undefined && cmdline(pid).includes(devDir));
}

/** Every live process carrying our marker, except this one. */
export function markedProcesses(devDir: string): number[] {
  const entry = `${markerVariable}=${devDir}`;
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (environHas(pid, entry) && isAlive(pid)) out.push(pid);
  }
  return out;
}

/** The process listening on a TCP port, when /proc lets us see it. */
export function portHolder(port: number): { pid: number; command: string } | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const local = f[1];
      if (!local || f[3] !== '0A') continue; // 0A = LISTEN
      if (parseInt(local.split(':')[1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  if (!inodes.size) return undefined;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${name}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) return { pid: Number(name), command: cmdline(Number(name)) };
    }
  }
  return undefined;
}

/** Signals a process group when pid leads one (our services do), else the process alone. */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  const s = readStat(pid);
  try {
    if (s && s.pgid === pid) process.kill(-pid, signal);
    else process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** SIGKILL to what is left of a process group whose leader already exited. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // no such group: nothing left
  }
}

export async function waitGone(pids: readonly number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let left = pids.filter(isAlive);
  while (left.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter(isAlive);
  }
  return left;
}

/** SIGTERM, then SIGKILL whatever is still alive after graceMs. Returns the pids that had to be killed. */
export async function terminate(pids: readonly number[], graceMs: number): Promise<number[]> {
  for (const pid of pids) signalTree(pid, 'SIGTERM');
  const left = await waitGone(pids, graceMs);
  for (const pid of left) signalTree(pid, 'SIGKILL');
  await waitGone(left, 2000);
  return left;
}
