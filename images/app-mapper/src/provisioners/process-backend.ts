/**
 * Scope apps as local processes: each on a free loopback port, in a process group of its own, its output
 * appended to `<stateDir>/<org>.log`, its pid recorded in `<stateDir>/<org>.json` so `dev down` can stop it
 * even when app-mapper died, and the next app-mapper can take it over.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, statSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@saas/kit';
import { APP_ORG_ENV, parseAppRecord } from '@saas/kit/contracts';
import { freePort } from '@saas/kit/net';
import { isRecordedApp, readRecords, recordPath, removeRecord, terminateGroup, writeRecord } from './process-reaper.ts';
import type { AppBackend, AppHandle, AppLiveness } from './types.ts';

export interface ProcessBackendOptions {
  stateDir: string;
  log: Logger;
  /** argv of a Scope app. */
  command: string[];
  /** Working directory of the apps (tsx and relative paths resolve from it). */
  cwd: string;
  /** Extra environment for every app. */
  env?: Record<string, string>;
}

export interface ProcessApp extends AppHandle {
  pid: number;
  port: number;
  logFile: string;
  /** Where this app's output starts in its log file. */
  logFrom: number;
  /** Our own child; undefined for an app adopted from a previous app-mapper. */
  child?: ChildProcess;
  /** How our own child ended, once it did. */
  ended?: string;
  /** Set when we stop it ourselves: its end is then no news. */
  removing?: boolean;
  exited?: Promise<void>;
}

const passedEnv = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'LOG_LEVEL', 'NODE_ENV', 'NODE_EXTRA_CA_CERTS', 'MALLOC_ARENA_MAX'];

export class ProcessBackend implements AppBackend<ProcessApp> {
  readonly kind = 'process' as const;
  private readonly recordOps = new Map<string, Promise<void>>();

  constructor(private readonly opts: ProcessBackendOptions) {}

  async start(org: string): Promise<ProcessApp> {
    // The app binds it a moment later; if another process took it meanwhile, alive() calls that transient.
    const port = await freePort();
    await mkdir(this.opts.stateDir, { recursive: true });
    const logFile = path.join(this.opts.stateDir, `${org}.log`);
    const out = openSync(logFile, 'a');
    const env: Record<string, string> = {};
    for (const k of passedEnv) if (process.env[k]) env[k] = process.env[k] as string;
    // As the scope image sets it: glibc's arena per V8 worker thread otherwise holds ~5 MB of an app's RSS.
    env.MALLOC_ARENA_MAX ??= '2';
    Object.assign(env, this.opts.env, { SCOPE_ROLE: 'app', HOST: '127.0.0.1', PORT: String(port), [APP_ORG_ENV]: org });
    const [file, ...args] = this.opts.command as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: this.opts.cwd, env, stdio: ['ignore', out, out], detached: true });
    } finally {
      closeSync(out);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid as number));
      child.once('error', reject);
    }).catch((err: Error) => {
      throw new Error(`cannot start the Scope app (${this.opts.command.join(' ')}): ${err.message}`);
    });
    const app: ProcessApp = { org, ref: `pid ${pid}`, startedAt: new Date(), pid, port, logFile, logFrom: statSync(logFile).size, child };
    app.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        app.ended = signal ? `killed by ${signal}` : `exited with code ${code}`;
        if (!app.removing) this.opts.log.warn({ org, pid, code, signal, log: logFile }, `app ${app.ended}`);
        resolve();
      });
    });
    await this.recordOp(org, () => writeRecord(this.opts.stateDir, { pid, port, org, startedAt: app.startedAt.toISOString() }));
    return app;
  }

  async url(app: ProcessApp): Promise<string> {
    return `http://127.0.0.1:${app.port}`;
  }

  async alive(app: ProcessApp): Promise<AppLiveness> {
    if (app.ended) {
      // Another process took the port between our probe and the app's listen: worth an immediate second try.
      return { state: 'gone', reason: app.ended, transient: (await this.logTail(app)).includes('EADDRINUSE') };
    }
    if (app.child) return { state: 'running' };
    return (await isRecordedApp(app)) ? { state: 'running' } : { state: 'gone', reason: 'process is gone' };
  }

  async remove(app: ProcessApp, graceMs: number): Promise<void> {
    app.removing = true;
    const ours = app.child ? !app.ended : await isRecordedApp(app);
    if (ours) await terminateGroup(app.pid, graceMs);
    if (app.exited) await app.exited;
    await this.removeRecordOf(app);
  }

  async list(): Promise<ProcessApp[]> {
    const { records, broken } = await readRecords(this.opts.stateDir);
    for (const name of broken) this.opts.log.warn({ file: name }, 'ignoring unreadable app record');
    return records.map((r) => ({ org: r.org, ref: `pid ${r.pid}`, startedAt: new Date(r.startedAt), pid: r.pid, port: r.port, logFile: path.join(this.opts.stateDir, `${r.org}.log`), logFrom: 0 }));
  }

  async logTail(app: ProcessApp, bytes = 2048): Promise<string> {
    try {
      const fh = await open(app.logFile, 'r');
      try {
        const { size } = await fh.stat();
        const from = Math.max(app.logFrom, size - bytes);
        const buf = Buffer.alloc(Math.max(0, size - from));
        await fh.read(buf, 0, buf.length, from);
        return buf.toString('utf8');
      } finally {
        await fh.close();
      }
    } catch {
      return '';
    }
  }

  /** Removes the org's record if it is still this app's (a newer app may have written its own meanwhile). */
  private removeRecordOf(app: ProcessApp): Promise<void> {
    return this.recordOp(app.org, async () => {
      const current = parseAppRecord(await readFile(recordPath(this.opts.stateDir, app.org), 'utf8').catch(() => ''), app.org);
      if (current?.pid === app.pid) await removeRecord(this.opts.stateDir, app.org);
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
