/**
 * Walks /proc/<pid> for every process (like Weave Scope's process walker): stat, cmdline, fds,
 * limits and network namespace.
 *
 * Cheap by caching what rarely changes, per process (pid + start time): the command line, limits and
 * cgroup are re-read after a minute, as Scope does; a descriptor's link target is re-read only when the
 * descriptor is new since the last walk. A cached target can be stale (a descriptor number closed and
 * reused between walks), so the endpoint scan calls `resolveSockets()` whenever a socket in the TCP
 * tables has no owner, which re-reads every link: the mapping is never wrong for long.
 */
import {
  listPids,
  pageSize,
  readCgroup,
  readCmdline,
  readCpuTimes,
  readFdNames,
  readFdSocketInode,
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
  cgroup?: string;
  /** descriptor name → socket inode (0: not a socket) */
  fds: Map<string, number>;
  jiffies?: number;
}

const CACHE_MS = 60_000;
/** Processes read between two yields to the event loop, so a walk never blocks it for long. */
const YIELD_EVERY = 32;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const UNLIMITED = 18446744073709551615;

export class ProcessWalker {
  private cache = new Map<string, Cached>();
  private prevCpu: CpuTimes | undefined;
  /** pid → cache key of the process seen at that pid in the last walk */
  private keys = new Map<number, string>();

  constructor(private readonly procRoot: string) {}

  async walk(now = Date.now()): Promise<WalkResult> {
    const cpu = readCpuTimes(this.procRoot);
    // Elapsed clock ticks per CPU since the last walk: the denominator of every process's CPU share.
    const elapsedPerCpu = cpu && this.prevCpu ? (cpu.total - this.prevCpu.total) / cpu.cpus : 0;
    const processes = new Map<number, ProcessInfo>();
    const nextCache = new Map<string, Cached>();
    const nextKeys = new Map<number, string>();
    const page = pageSize();

    let n = 0;
    for (const pid of listPids(this.procRoot)) {
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
      const stat = readStat(this.procRoot, pid);
      if (!stat) continue;
      const fdNames = readFdNames(this.procRoot, pid);
      if (!fdNames) continue; // gone, or not ours to read
      const key = `${pid}:${stat.startTime}`;
      let cached = this.cache.get(key);
      const prevJiffies = cached?.jiffies;
      if (!cached || now - cached.readAt > CACHE_MS) {
        const argv = readCmdline(this.procRoot, pid) ?? [];
        cached = {
          name: argv[0] ? argv[0] : `[${stat.comm}]`,
          cmdline: argv.join(' '),
          openFilesLimit: readOpenFilesLimit(this.procRoot, pid) ?? 0,
          readAt: now,
          fds: cached?.fds ?? new Map(),
        };
      }
      const fds = new Map<string, number>();
      const socketInodes: number[] = [];
      for (const fd of fdNames) {
        const inode = cached.fds.get(fd) ?? readFdSocketInode(this.procRoot, pid, fd);
        fds.set(fd, inode);
        if (inode) socketInodes.push(inode);
      }
      cached.fds = fds;
      cached.jiffies = stat.jiffies;
      nextCache.set(key, cached);
      nextKeys.set(pid, key);
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
        openFiles: fdNames.length,
        openFilesLimit: cached.openFilesLimit,
        netns: readNetNamespace(this.procRoot, pid),
        socketInodes,
        cpuPercent:
          prevJiffies !== undefined && elapsedPerCpu > 0 ? Math.max(0, ((stat.jiffies - prevJiffies) / elapsedPerCpu) * 100) : undefined,
      });
    }
    this.cache = nextCache;
    this.keys = nextKeys;
    if (cpu) this.prevCpu = cpu;
    return { processes, maxCpuPercent: (cpu?.cpus ?? 1) * 100 };
  }

  /** Re-reads every descriptor link of the given processes, updating their socket inodes in place. */
  async resolveSockets(processes: Iterable<ProcessInfo>): Promise<void> {
    let n = 0;
    for (const p of processes) {
      if (++n % YIELD_EVERY === 0) await yieldToLoop();
      const cached = this.cache.get(this.keys.get(p.pid) ?? '');
      const fds = new Map<string, number>();
      const socketInodes: number[] = [];
      for (const fd of readFdNames(this.procRoot, p.pid) ?? []) {
        const inode = readFdSocketInode(this.procRoot, p.pid, fd);
        fds.set(fd, inode);
        if (inode) socketInodes.push(inode);
      }
      if (cached) cached.fds = fds;
      p.socketInodes = socketInodes;
    }
  }

  /** The cgroup file of a process from the last walk, read at most once a minute. */
  cgroupOf(pid: number, now = Date.now()): string | undefined {
    const cached = this.cache.get(this.keys.get(pid) ?? '');
    if (!cached) return readCgroup(this.procRoot, pid);
    if (cached.cgroup === undefined || now - cached.readAt > CACHE_MS) cached.cgroup = readCgroup(this.procRoot, pid) ?? '';
    return cached.cgroup;
  }
}
