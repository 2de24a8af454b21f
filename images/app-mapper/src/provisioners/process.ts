/**
 * The process provisioner: each organisation's Scope app is a local Node process (`node --import tsx
 * images/scope/src/main.ts` with SCOPE_ROLE=app) on a free loopback port, in a process group of its own. A pid
 * file per app under stateDir lets `dev down` stop them even when app-mapper died, and lets the next app-mapper
 * take them over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { open, mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@saas/kit';
import { orgIdPattern, type AppInstance, type AppState, type Provisioner } from './types.ts';
import {
  isAlive,
  isRecordedApp,
  orgEnvMarker,
  readRecords,
  recordPath,
  removeRecord,
  terminateGroup,
  writeRecord,
  type AppRecord,
} from './process-reaper.ts';

/** The project root, from this file's place in it (images/app-mapper/src/provisioners/). */
export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

export const defaultAppCommand = (): string[] => [process.execPath, '--import', 'tsx', path.join(repoRoot, 'images/scope/src/main.ts')];

/** Splits SCOPE_APP_COMMAND into words: whitespace separates, single or double quotes group. No shell is involved. */
export function parseCommand(raw: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(raw); m; m = re.exec(raw)) words.push(m[1] ?? m[2] ?? m[3] ?? '');
  if (!words.length) throw new Error('is empty');
  return words;
}

export interface ProcessProvisionerOptions {
  stateDir: string;
  log: Logger;
  /** argv of a Scope app; default: node --import tsx images/scope/src/main.ts. */
  command?: string[];
  /** Working directory of the apps (tsx and relative paths resolve from it); default the project root. */
  cwd?: string;
  /** How long an app may take to answer /readyz. */
  startTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when stopping an app. */
  stopGraceMs?: number;
  /** Extra environment for every app. */
  env?: Record<string, string>;
}

interface Entry {
  org: string;
  state: AppState;
  pid: number;
  port: number;
  startedAt: Date;
  reason?: string;
  /** Our own child; undefined for an app adopted from a previous app-mapper. */
  child?: ChildProcess;
  exited?: Promise<void>;
  stopping?: Promise<void>;
  /** Consecutive failed starts, for backoff. */
  failures: number;
  retryAt?: number;
}

const passedEnv = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'LOG_LEVEL', 'NODE_ENV', 'NODE_EXTRA_CA_CERTS', 'MALLOC_ARENA_MAX'];

export class ProcessProvisioner implements Provisioner {
  readonly kind = 'process' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly starting = new Map<string, Promise<AppInstance>>();
  private readonly recordOps = new Map<string, Promise<void>>();
  private readonly command: string[];
  private readonly cwd: string;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private closed = false;

  constructor(private readonly opts: ProcessProvisionerOptions) {
    this.command = opts.command ?? defaultAppCommand();
    this.cwd = opts.cwd ?? repoRoot;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 5000;
  }

  async init(): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true });
    const { records, broken } = await readRecords(this.opts.stateDir);
    for (const name of broken) this.opts.log.warn({ file: name }, 'ignoring unreadable app record');
    await Promise.all(records.map((r) => this.adoptOrReap(r)));
  }

  private async adoptOrReap(record: AppRecord): Promise<void> {
    const log = this.opts.log.child({ org: record.org, pid: record.pid });
    if (!(await isRecordedApp(record))) {
      log.info('removing the record of an app that is gone');
      await removeRecord(this.opts.stateDir, record.org);
      return;
    }
    if (await answersReady(`http://127.0.0.1:${record.port}`)) {
      this.entries.set(record.org, {
        org: record.org,
        state: 'ready',
        pid: record.pid,
        port: record.port,
        startedAt: new Date(record.startedAt),
        failures: 0,
      });
      log.info({ port: record.port }, 'adopted a running app left by a previous app-mapper');
      return;
    }
    log.warn('stopping an app left by a previous app-mapper that does not answer /readyz');
    await terminateGroup(record.pid, this.stopGraceMs);
    await removeRecord(this.opts.stateDir, record.org);
  }

  async ensure(org: string): Promise<AppInstance> {
    if (!orgIdPattern.test(org)) throw new Error(`invalid organisation ID ${JSON.stringify(org)}`);
    if (this.closed) throw new Error('provisioner is shut down');
    const pending = this.starting.get(org);
    if (pending) return pending;
    const entry = this.entries.get(org);
    if (entry) {
      this.refresh(entry);
      if (entry.stopping) {
        // Being stopped (idle sweep): wait, then start afresh — through ensure(), so concurrent callers share one start.
        await entry.stopping.catch(() => undefined);
        return this.ensure(org);
      } else if (entry.state === 'ready' || entry.state === 'starting') return this.snapshot(entry);
      else if (entry.state === 'crashed' && entry.retryAt && entry.retryAt > Date.now()) return this.snapshot(entry);
    }
    const started = this.start(org, entry?.failures ?? 0).finally(() => this.starting.delete(org));
    this.starting.set(org, started);
    return started;
  }

  async status(org: string): Promise<AppInstance | undefined> {
    const entry = this.entries.get(org);
    if (!entry) return undefined;
    this.refresh(entry);
    return this.snapshot(entry);
  }

  async list(): Promise<AppInstance[]> {
    return [...this.entries.values()].map((e) => {
      this.refresh(e);
      return this.snapshot(e);
    });
  }

  async stop(org: string): Promise<void> {
    const pending = this.starting.get(org);
    if (pending) await pending.catch(() => undefined);
    const entry = this.entries.get(org);
    if (!entry) return;
    if (entry.stopping) return entry.stopping;
    if (entry.state === 'stopped' || entry.state === 'crashed') return;
    entry.stopping = (async () => {
      this.opts.log.info({ org, pid: entry.pid }, 'stopping app');
      await terminateGroup(entry.pid, this.stopGraceMs);
      if (entry.exited) await entry.exited;
      entry.state = 'stopped';
      entry.reason = 'stopped';
      await this.removeRecordOf(entry);
    })().finally(() => {
      entry.stopping = undefined;
    });
    return entry.stopping;
  }

  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting.values()]);
    await Promise.all([...this.entries.keys()].map((org) => this.stop(org)));
  }

  async reportUnreachable(org: string): Promise<void> {
    const entry = this.entries.get(org);
    if (!entry || entry.state !== 'ready') return;
    // A killed child is reaped asynchronously; give its exit event a moment before deciding it still lives.
    if (entry.child && entry.exited) await Promise.race([entry.exited, sleep(500)]);
    this.refresh(entry);
    if (entry.state === 'ready' && !(await answersReady(this.urlOf(entry), 1000))) {
      this.opts.log.warn({ org, pid: entry.pid }, 'app does not answer; restarting it');
      await terminateGroup(entry.pid, 1000);
      if (entry.exited) await entry.exited;
      this.markCrashed(entry, 'stopped answering', false);
    }
  }

  /** Notices an adopted app that died (our own children report their exit as it happens). */
  private refresh(entry: Entry): void {
    if (entry.child || entry.stopping || (entry.state !== 'ready' && entry.state !== 'starting')) return;
    if (!isAlive(entry.pid)) {
      this.markCrashed(entry, 'process is gone', false);
      void this.removeRecordOf(entry);
    }
  }

  private markCrashed(entry: Entry, reason: string, duringStart: boolean): void {
    entry.state = 'crashed';
    entry.reason = reason;
    if (duringStart) {
      entry.failures += 1;
      entry.retryAt = Date.now() + Math.min(30_000, 1000 * 2 ** (entry.failures - 1));
    } else {
      entry.failures = 0;
      entry.retryAt = undefined;
    }
  }

  private urlOf(entry: Entry): string {
    return `http://127.0.0.1:${entry.port}`;
  }

  private snapshot(entry: Entry): AppInstance {
    const instance: AppInstance = {
      org: entry.org,
      state: entry.state,
      url: this.urlOf(entry),
      startedAt: entry.startedAt,
      ref: `pid ${entry.pid}`,
    };
    if (entry.reason) instance.reason = entry.reason;
    if (entry.state === 'starting') instance.retryAfterSeconds = 2;
    if (entry.state === 'crashed') {
      instance.retryAfterSeconds = Math.max(1, Math.ceil(((entry.retryAt ?? 0) - Date.now()) / 1000));
    }
    return instance;
  }

  private async start(org: string, failures: number, attempt = 1): Promise<AppInstance> {
    const port = await freePort();
    const logFile = path.join(this.opts.stateDir, `${org}.log`);
    await mkdir(this.opts.stateDir, { recursive: true });
    const out = openSync(logFile, 'a');
    const env: Record<string, string> = {};
    for (const k of passedEnv) if (process.env[k]) env[k] = process.env[k] as string;
    // As the scope image sets it: glibc's arena per V8 worker thread otherwise holds ~5 MB of an app's RSS.
    env.MALLOC_ARENA_MAX ??= '2';
    Object.assign(env, this.opts.env, { SCOPE_ROLE: 'app', HOST: '127.0.0.1', PORT: String(port), [orgEnvMarker]: org });
    const [file, ...args] = this.command as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: this.cwd, env, stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    }).catch((err: Error) => {
      throw new Error(`cannot start the Scope app (${this.command.join(' ')}): ${err.message}`);
    });
    const entry: Entry = { org, state: 'starting', pid, port, startedAt: new Date(), child, failures };
    entry.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        resolve();
        if (this.entries.get(org) !== entry || entry.stopping || entry.state === 'stopped') return;
        const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
        const wasStarting = entry.state === 'starting';
        this.markCrashed(entry, how, wasStarting);
        this.opts.log.warn({ org, pid, code, signal, log: logFile }, `app ${how}`);
        void this.removeRecordOf(entry);
      });
    });
    this.entries.set(org, entry);
    await this.recordOp(org, () => writeRecord(this.opts.stateDir, { pid, port, org, startedAt: entry.startedAt.toISOString() }));
    this.opts.log.info({ org, pid, port }, 'starting app');
    void this.watchStart(entry, logFile, attempt);
    return this.snapshot(entry);
  }

  private async watchStart(entry: Entry, logFile: string, attempt: number): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const url = this.urlOf(entry);
    while (entry.state === 'starting' && !entry.stopping) {
      if (await answersReady(url, 1000)) {
        if (entry.state !== 'starting') return;
        entry.state = 'ready';
        entry.failures = 0;
        entry.retryAt = undefined;
        this.opts.log.info({ org: entry.org, pid: entry.pid, port: entry.port, ms: Date.now() - entry.startedAt.getTime() }, 'app ready');
        return;
      }
      if (Date.now() > deadline) {
        this.opts.log.error({ org: entry.org, pid: entry.pid }, `app did not become ready within ${this.startTimeoutMs} ms; stopping it`);
        this.markCrashed(entry, `not ready within ${Math.round(this.startTimeoutMs / 1000)} s`, true);
        await terminateGroup(entry.pid, 1000);
        await this.removeRecordOf(entry);
        return;
      }
      await sleep(100);
    }
    if (entry.state === 'crashed' && !this.closed && attempt < 3) {
      const tail = await readTail(logFile);
      // Another process took the port between our probe and the app's listen: try again on a new port.
      if (tail.includes('EADDRINUSE') && this.entries.get(entry.org) === entry) {
        this.opts.log.warn({ org: entry.org }, 'port was taken; starting the app again on another port');
        const restarted = this.start(entry.org, entry.failures - 1, attempt + 1).finally(() => this.starting.delete(entry.org));
        this.starting.set(entry.org, restarted);
        await restarted.catch((err: Error) => this.opts.log.error({ err, org: entry.org }, 'restart failed'));
        return;
      }
      this.opts.log.error({ org: entry.org, logTail: tail }, 'app failed to start');
    }
  }

  /** Removes the org's record if it is still this entry's (a newer app may have written its own meanwhile). */
  private removeRecordOf(entry: Entry): Promise<void> {
    return this.recordOp(entry.org, async () => {
      try {
        const current = JSON.parse(await readFile(recordPath(this.opts.stateDir, entry.org), 'utf8')) as Partial<AppRecord>;
        if (current.pid !== entry.pid) return;
      } catch {
        return;
      }
      await removeRecord(this.opts.stateDir, entry.org);
    });
  }

  /** Record writes and removals of one org run one after another, so a removal never races a newer write. */
  private recordOp(org: string, op: () => Promise<void>): Promise<void> {
    const next = (this.recordOps.get(org) ?? Promise.resolve()).then(op);
    const settled = next.catch(() => undefined);
    this.recordOps.set(org, settled);
    void settled.then(() => {
      if (this.recordOps.get(org) === settled) this.recordOps.delete(org);
    });
    return next;
  }
}

async function answersReady(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function readTail(file: string, bytes = 2048): Promise<string> {
  try {
    const fh = await open(file, 'r');
    try {
      const { size } = await fh.stat();
      const start = Math.max(0, size - bytes);
      const buf = Buffer.alloc(size - start);
      await fh.read(buf, 0, buf.length, start);
      return buf.toString('utf8');
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
}

/** A loopback port the OS just handed out (the app binds it a moment later; EADDRINUSE is retried). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (!address || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
