/**
 * Supervises one service process as a kubelet supervises a pod's container: starts it in a process group of
 * its own with stdout/stderr appended to its log file, probes readiness (and liveness) as its manifest says,
 * restarts it when it exits or fails liveness, with exponential backoff between quick crashes (CrashLoopBackOff),
 * and stops it with SIGTERM, then SIGKILL after a grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { appendFileSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { isAlive, killGroup, portHolder, readStat, signalTree, waitGone } from '../../host/procfs.ts';
import { probeOnce, type ProbeResult } from '../../plan/prober.ts';
import type { ProcessSpec, ServiceRecord } from './types.ts';

export interface SupervisorOptions {
  /** First restart delay after a quick crash; doubles with each further crash. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A run at least this long resets the backoff. */
  resetAfterMs: number;
  stopGraceMs: number;
  /** Until first ready, probe this often (the manifest's period applies afterwards), so `up` returns promptly. */
  startupProbeMs: number;
  /** Environment every process inherits, under the spec's own. */
  baseEnv: NodeJS.ProcessEnv;
}

export const defaultSupervisorOptions: SupervisorOptions = {
  backoffBaseMs: 500,
  backoffMaxMs: 30_000,
  resetAfterMs: 30_000,
  stopGraceMs: 8000,
  startupProbeMs: 100,
  baseEnv: process.env,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Supervisor extends EventEmitter<{ change: [ServiceRecord] }> {
  private child: ChildProcess | undefined;
  private generation = 0;
  private quickCrashes = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private exited: Promise<void> = Promise.resolve();
  readonly record: ServiceRecord;

  constructor(
    public spec: ProcessSpec,
    private readonly opts: SupervisorOptions = defaultSupervisorOptions,
    restarts = 0,
  ) {
    super();
    this.record = { name: spec.name, state: 'stopped', ready: false, restarts, hash: spec.hash, ports: spec.ports, urls: spec.urls, logFile: spec.logFile };
  }

  private changed(): void {
    this.emit('change', { ...this.record });
  }

  /** A line in the service's own log, in the same JSON shape as the services' pino lines. */
  private note(level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
    try {
      mkdirSync(path.dirname(this.spec.logFile), { recursive: true });
      appendFileSync(this.spec.logFile, `${JSON.stringify({ level, time: new Date().toISOString(), service: this.spec.name, source: 'supervisor', msg, ...extra })}\n`);
    } catch {
      // a log we cannot write must not stop supervision
    }
  }

  start(): void {
    this.stopping = false;
    this.launch();
  }

  private launch(): void {
    this.restartTimer = undefined;
    const gen = ++this.generation;
    const spec = this.spec;
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...this.opts.baseEnv, ...spec.env },
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } catch (err) {
      closeSync(fd);
      this.onExit(gen, Date.now(), null, null, (err as Error).message);
      return;
    }
    closeSync(fd); // the child has its own copy
    this.child = child;
    const startedAt = Date.now();
    let spawnError: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        spawnError = err.message;
        if (child.pid === undefined) {
          this.onExit(gen, startedAt, null, null, spawnError);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        this.onExit(gen, startedAt, code, signal, spawnError);
        resolve();
      });
    });
    if (child.pid === undefined) return;
    Object.assign(this.record, {
      state: 'starting',
      ready: false,
      pid: child.pid,
      startTime: readStat(child.pid)?.startTime,
      startedAt,
      probe: undefined,
      message: undefined,
      nextRestartAt: undefined,
      hash: spec.hash,
      ports: spec.ports,
      urls: spec.urls,
      logFile: spec.logFile,
    } satisfies Partial<ServiceRecord>);
    this.note('info', `started pid ${child.pid}: ${spec.command} ${spec.args.join(' ')}`);
    if (!spec.readiness) this.record.state = 'running';
    this.changed();
    void this.probeLoop(gen);
  }

  private onExit(gen: number, startedAt: number, code: number | null, signal: NodeJS.Signals | null, error?: string): void {
    if (gen !== this.generation && !this.stopping) return;
    const pid = this.record.pid;
    this.child = undefined;
    // Whatever the service left in its process group goes with it.
    if (pid !== undefined) killGroup(pid);
    const how = error ? `could not start: ${error}` : signal ? `killed by ${signal}` : `exited with code ${code}`;
    this.record.lastExit = { code, signal, at: Date.now() };
    Object.assign(this.record, { ready: false, pid: undefined, startTime: undefined });
    if (this.stopping || gen !== this.generation) {
      this.record.state = 'stopped';
      this.record.message = undefined;
      this.note('info', `stopped (${how})`);
      this.changed();
      return;
    }
    if (Date.now() - startedAt >= this.opts.resetAfterMs) this.quickCrashes = 0;
    const delay = Math.min(this.opts.backoffMaxMs, this.opts.backoffBaseMs * 2 ** this.quickCrashes);
    this.quickCrashes++;
    this.record.restarts++;
    this.record.state = 'backoff';
    this.record.nextRestartAt = Date.now() + delay;
    this.record.message = `${how}; restarting in ${formatMs(delay)}${this.quickCrashes > 1 ? ' (CrashLoopBackOff)' : ''}`;
    this.note('warn', this.record.message, { code, signal, restarts: this.record.restarts, backoffMs: delay });
    this.changed();
    this.restartTimer = setTimeout(() => this.launch(), delay);
  }

  private async probeLoop(gen: number): Promise<void> {
    const readiness = this.spec.readiness;
    const liveness = this.spec.liveness;
    if (!readiness && !liveness && !this.spec.startup) return;
    if (!(await this.started(gen))) return;
    if (readiness?.initialDelayMs) await sleep(readiness.initialDelayMs);
    let failures = 0;
    let liveFailures = 0;
    let everReady = !readiness;
    let lastLive = 0;
    while (gen === this.generation && this.child) {
      if (readiness) {
        let r = await probeOnce(readiness);
        if (gen !== this.generation || !this.child) return;
        if (r.ok && !this.record.ready) r = this.checkListener(readiness.port, r);
        if (r.ok) {
          failures = 0;
          if (!this.record.ready || this.record.state !== 'running') {
            everReady = true;
            Object.assign(this.record, { ready: true, state: 'running', probe: undefined, message: undefined });
            this.note('info', `ready (${r.detail})`);
            this.changed();
          }
        } else {
          failures++;
          const wasReady = this.record.ready;
          if (wasReady && failures >= readiness.failureThreshold) {
            this.record.ready = false;
            this.record.probe = r.detail;
            this.note('warn', `not ready: ${r.detail} (${failures} failures in a row)`);
            this.changed();
          } else if (!wasReady && this.record.probe !== r.detail) {
            this.record.probe = r.detail;
            this.changed();
          }
        }
      }
      if (liveness && everReady && Date.now() - lastLive >= liveness.periodMs) {
        lastLive = Date.now();
        const r = await probeOnce(liveness);
        if (gen !== this.generation || !this.child) return;
        liveFailures = r.ok ? 0 : liveFailures + 1;
        if (liveFailures >= liveness.failureThreshold) {
          this.note('warn', `liveness probe failed ${liveFailures} times (${r.detail}): restarting`);
          if (this.record.pid !== undefined) signalTree(this.record.pid, 'SIGKILL');
          return;
        }
      }
      const period = this.record.ready ? Math.min(readiness?.periodMs ?? Infinity, liveness?.periodMs ?? Infinity) : this.opts.startupProbeMs;
      await sleep(period);
    }
  }

  /** Probes the startup probe until it passes (true), or kills the process after failureThreshold failures. */
  private async started(gen: number): Promise<boolean> {
    const startup = this.spec.startup;
    if (!startup) return true;
    if (startup.initialDelayMs) await sleep(startup.initialDelayMs);
    for (let failures = 0; gen === this.generation && this.child; ) {
      const r = await probeOnce(startup);
      if (gen !== this.generation || !this.child) return false;
      if (r.ok) return true;
      if (++failures >= startup.failureThreshold) {
        this.note('warn', `startup probe failed ${failures} times (${r.detail}): restarting`);
        if (this.record.pid !== undefined) signalTree(this.record.pid, 'SIGKILL');
        return false;
      }
      if (this.record.probe !== r.detail) {
        this.record.probe = r.detail;
        this.changed();
      }
      await sleep(startup.periodMs);
    }
    return false;
  }

  /**
   * A probe answered, but by whom? If another program took the port between allocation and our start, its
   * answers must not make this service ready.
   */
  private checkListener(port: number, r: ProbeResult): ProbeResult {
    const holder = portHolder(port);
    const pid = this.record.pid;
    if (!holder || pid === undefined || holder.pid === pid || readStat(holder.pid)?.pgid === pid) return r;
    return { ok: false, detail: `port ${port} is answered by pid ${holder.pid} (${holder.command || 'unknown'}), not by this service` };
  }

  /** Replaces the spec; restarts the process if it runs. */
  async update(spec: ProcessSpec): Promise<void> {
    // Report the new generation at once, so nobody mistakes the old instance's readiness for the new one's.
    Object.assign(this.record, { ready: false, hash: spec.hash });
    this.changed();
    // From now on the daemon sees the new spec (a second apply must not restart it again); the old instance's
    // last words still go to its own log.
    this.spec = { ...spec, logFile: this.spec.logFile };
    await this.stop();
    this.spec = spec;
    this.record.hash = spec.hash;
    this.record.ports = spec.ports;
    this.record.urls = spec.urls;
    this.record.logFile = spec.logFile;
    this.quickCrashes = 0;
    this.start();
  }

  /** A manual restart (like deleting a pod): stop now, start again at once, count it. */
  async restart(): Promise<void> {
    await this.stop();
    this.record.restarts++;
    this.quickCrashes = 0;
    this.note('info', 'restart requested');
    this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.generation++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const pid = this.record.pid;
    if (this.child && pid !== undefined) {
      signalTree(pid, 'SIGTERM');
      const left = await waitGone([pid], this.opts.stopGraceMs);
      if (left.length) {
        this.note('warn', `did not stop within ${formatMs(this.opts.stopGraceMs)} of SIGTERM: killing`);
        signalTree(pid, 'SIGKILL');
      }
      await this.exited;
    } else if (pid !== undefined && isAlive(pid)) {
      signalTree(pid, 'SIGKILL');
    }
    Object.assign(this.record, { state: 'stopped', ready: false, pid: undefined, startTime: undefined, nextRestartAt: undefined, message: undefined, probe: undefined });
    this.changed();
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(1))} s`;
}
