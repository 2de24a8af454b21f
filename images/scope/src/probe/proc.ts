/**
 * Low-level readers of the Linux proc filesystem. Reads are synchronous on purpose: /proc files are
 * generated in memory by the kernel, so a sync read never waits on a disk, and a few hundred of them
 * cost far less than scheduling as many promises. Every reader tolerates a process vanishing
 * mid-scan (returns undefined) because that is the normal case on a busy host.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ProcStat {
  pid: number;
  /** The kernel's short name (stat field 2, at most 15 characters). */
  comm: string;
  state: string;
  ppid: number;
  /** user + system time of the process, in clock ticks. */
  jiffies: number;
  threads: number;
  /** Start time after boot, in clock ticks: with the pid it identifies one process over time. */
  startTime: number;
  rssPages: number;
  /** The RSS soft limit in bytes (usually "unlimited", 2^64-1). */
  rssLimit: number;
}

let cachedPageSize: number | undefined;

/** The kernel page size (4 KiB on x86-64, up to 64 KiB on arm64), read once from our own smaps. */
export function pageSize(): number {
  if (cachedPageSize === undefined) {
    cachedPageSize = 4096;
    try {
      const fd = fs.openSync('/proc/self/smaps', 'r');
      try {
        const buf = Buffer.alloc(4096);
        const n = fs.readSync(fd, buf, 0, buf.length, 0);
        const m = buf.toString('latin1', 0, n).match(/^KernelPageSize:\s+(\d+) kB/m);
        if (m?.[1]) cachedPageSize = Number(m[1]) * 1024;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // keep the common default
    }
  }
  return cachedPageSize;
}

export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
}

function readLink(file: string): string | undefined {
  try {
    return fs.readlinkSync(file);
  } catch {
    return undefined;
  }
}

function readDir(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

/** Numeric entries of the proc root: the pids visible to us. */
export function listPids(procRoot: string): number[] {
  const names = readDir(procRoot) ?? [];
  const pids: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (Number.isInteger(pid)) pids.push(pid);
  }
  return pids;
}

/**
 * Parses /proc/<pid>/stat. The command name sits in parentheses and may itself contain spaces and
 * parentheses, so the fields after it are located from the last ')'.
 */
export function parseStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const comm = text.slice(open + 1, close);
  // Fields after the name, numbered as in proc(5) starting at field 3 (state).
  const f = text.slice(close + 2).split(' ');
  const num = (field: number): number => Number(f[field - 3] ?? 'NaN');
  const stat: ProcStat = {
    pid,
    comm,
    state: f[0] ?? '?',
    ppid: num(4),
    jiffies: num(14) + num(15),
    threads: num(20),
    startTime: num(22),
    rssPages: num(24),
    rssLimit: num(25),
  };
  if (!Number.isFinite(stat.pid) || !Number.isFinite(stat.ppid)) return undefined;
  return stat;
}

export function readStat(procRoot: string, pid: number): ProcStat | undefined {
  const text = readText(path.join(procRoot, String(pid), 'stat'));
  return text === undefined ? undefined : parseStat(text);
}

/** argv of a process; empty for kernel threads and zombies. */
export function readCmdline(procRoot: string, pid: number): string[] | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(path.join(procRoot, String(pid), 'cmdline'));
  } catch {
    return undefined;
  }
  const args = buf.toString('utf8').split('\0');
  while (args.length && args[args.length - 1] === '') args.pop();
  return args;
}

/** The soft "Max open files" limit from /proc/<pid>/limits. */
export function readOpenFilesLimit(procRoot: string, pid: number): number | undefined {
  const text = readText(path.join(procRoot, String(pid), 'limits'));
  const m = text?.match(/^Max open files\s+(\d+|unlimited)/m);
  if (!m?.[1]) return undefined;
  return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
}

/** Names of a process's open descriptors (`/proc/<pid>/fd`), or undefined if gone or not ours to read. */
export function readFdNames(procRoot: string, pid: number): string[] | undefined {
  return readDir(path.join(procRoot, String(pid), 'fd'));
}

/** The socket inode a descriptor refers to (its link reads `socket:[<inode>]`), 0 when it is not a socket. */
export function readFdSocketInode(procRoot: string, pid: number, fd: string): number {
  const link = readLink(path.join(procRoot, String(pid), 'fd', fd));
  return link && link.startsWith('socket:[') ? Number(link.slice(8, -1)) : 0;
}

/** The inode of a process's network namespace (`net:[4026531840]`), or undefined if unreadable. */
export function readNetNamespace(procRoot: string, pid: number | 'self'): number | undefined {
  const link = readLink(path.join(procRoot, String(pid), 'ns', 'net'));
  const m = link?.match(/^net:\[(\d+)\]$/);
  return m?.[1] ? Number(m[1]) : undefined;
}

export function readCgroup(procRoot: string, pid: number): string | undefined {
  return readText(path.join(procRoot, String(pid), 'cgroup'));
}

// --- host-wide files -------------------------------------------------------------------------

export interface CpuTimes {
  /** Sum of all states, in clock ticks, over all CPUs. */
  total: number;
  /** idle + iowait. */
  idle: number;
  cpus: number;
}

export function parseCpuTimes(text: string): CpuTimes | undefined {
  const lines = text.split('\n');
  const first = lines[0];
  if (!first?.startsWith('cpu ')) return undefined;
  const v = first.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  const cpus = lines.filter((l) => /^cpu\d+ /.test(l)).length || 1;
  return { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait, cpus };
}

export function readCpuTimes(procRoot: string): CpuTimes | undefined {
  const text = readText(path.join(procRoot, 'stat'));
  return text === undefined ? undefined : parseCpuTimes(text);
}

export interface MemInfo {
  totalBytes: number;
  /** MemTotal - MemFree - Buffers - Cached, as Weave Scope counts it. */
  usedBytes: number;
}

export function parseMemInfo(text: string): MemInfo | undefined {
  const kb = (key: string): number | undefined => {
    const m = text.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
    return m?.[1] ? Number(m[1]) : undefined;
  };
  const total = kb('MemTotal');
  if (total === undefined) return undefined;
  const used = total - (kb('MemFree') ?? 0) - (kb('Buffers') ?? 0) - (kb('Cached') ?? 0);
  return { totalBytes: total * 1024, usedBytes: Math.max(0, used) * 1024 };
}

export function readMemInfo(procRoot: string): MemInfo | undefined {
  const text = readText(path.join(procRoot, 'meminfo'));
  return text === undefined ? undefined : parseMemInfo(text);
}

export function readLoad1(procRoot: string): number | undefined {
  const first = readText(path.join(procRoot, 'loadavg'))?.split(' ')[0];
  const n = Number(first);
  return first !== undefined && Number.isFinite(n) ? n : undefined;
}

export function readUptimeSeconds(procRoot: string): number | undefined {
  const first = readText(path.join(procRoot, 'uptime'))?.split(' ')[0];
  const n = Number(first);
  return first !== undefined && Number.isFinite(n) ? Math.floor(n) : undefined;
}
