/**
 * Walks /proc/<pid> for every process (like Weave Scope's process walker): stat, cmdline, fds,
 * limits and network namespace. Command lines and limits rarely change, so they are cached per
 * process (pid + start time) and re-read after a minute, as Scope does.
 */
import {
  listPids,
  pageSize,
  readCmdline,
  readCpuTimes,
  readFds,
  readNetNamespace,
  readOpenFilesLimit,
  readStat,
  type CpuTimes,
} from './proc.ts';

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** argv[0], or `[comm]` for kernel threads (no command line), as Scope names them. */
  name: string;
  cmdline: string;
  threads: number;
  startTime: number;
  jiffies: number;
  rssBytes: number;
  rssLimitBytes: number;
  openFiles: number;
  openFilesLimit: number;
  netns: number | undefined;
  socketInodes: number[];
  /** Percent of one CPU since the previous walk (undefined on the first walk of this process). */
  cpuPercent: number | undefined;
}

export interface WalkResult {
  processes: Map<number, ProcessInfo>;
  /** 100 × number of CPUs: the ceiling of a process's CPU percentage. */
  maxCpuPercent: number;
}

interface Cached {
  name: string;
  cmdline: string;
  openFilesLimit: number;
  readAt: number;
}

const CACHE_MS = 60_000;
const UNLIMITED = 18446744073709551615;

export class ProcessWalker {
  private cache = new Map<string, Cached>();
  private prevJiffies = new Map<string, number>();
  private prevCpu: CpuTimes | undefined;

  constructor(private readonly procRoot: string) {}

  walk(now = Date.now()): WalkResult {
    const cpu = readCpuTimes(this.procRoot);
    // Elapsed clock ticks per CPU since the last walk: the denominator of every process's CPU share.
    const elapsedPerCpu = cpu && this.prevCpu ? (cpu.total - this.prevCpu.total) / cpu.cpus : 0;
    const processes = new Map<number, ProcessInfo>();
    const nextJiffies = new Map<string, number>();
    const nextCache = new Map<string, Cached>();
    const page = pageSize();

    for (const pid of listPids(this.procRoot)) {
      const stat = readStat(this.procRoot, pid);
      if (!stat) continue;
      const fds = readFds(this.procRoot, pid, true);
      if (!fds) continue; // gone, or not ours to read
      const key = `${pid}:${stat.startTime}`;
      let cached = this.cache.get(key);
      if (!cached || now - cached.readAt > CACHE_MS) {
        const argv = readCmdline(this.procRoot, pid) ?? [];
        cached = {
          name: argv[0] ? argv[0] : `[${stat.comm}]`,
          cmdline: argv.join(' '),
          openFilesLimit: readOpenFilesLimit(this.procRoot, pid) ?? 0,
          readAt: now,
        };
      }
      nextCache.set(key, cached);
      const prev = this.prevJiffies.get(key);
      nextJiffies.set(key, stat.jiffies);
      processes.set(pid, {
        pid,
        ppid: stat.ppid,
        name: cached.name,
        cmdline: cached.cmdline,
        threads: stat.threads,
        startTime: stat.startTime,
        jiffies: stat.jiffies,
        rssBytes: stat.rssPages * page,
        rssLimitBytes: Number.isFinite(stat.rssLimit) ? stat.rssLimit : UNLIMITED,
        openFiles: fds.count,
        openFilesLimit: cached.openFilesLimit,
        netns: readNetNamespace(this.procRoot, pid),
        socketInodes: fds.socketInodes,
        cpuPercent: prev !== undefined && elapsedPerCpu > 0 ? Math.max(0, ((stat.jiffies - prev) / elapsedPerCpu) * 100) : undefined,
      });
    }
    this.cache = nextCache;
    this.prevJiffies = nextJiffies;
    if (cpu) this.prevCpu = cpu;
    return { processes, maxCpuPercent: (cpu?.cpus ?? 1) * 100 };
  }
}
