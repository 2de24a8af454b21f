/**
 * The embedded local runtime (docs/ARCHITECTURE.md §3): every Deployment as a supervised Node process on 127.0.0.1, upstream
 * images replaced by named stand-ins (postgres → PGlite, maildev/maildev → maildev from npm), Service DNS names
 * rewritten to loopback ports. A detached daemon owns the processes, so the system keeps running after `up`
 * returns; this class is the `dev` side: it plans, builds, hands the plan to the daemon and reports progress.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { killRecordedApps, readRecords } from '@saas/app-mapper/reaper';
import { step, StepError, type Diagnosis, type EventSink, type StepKind } from '../../events.ts';
import type { DownOptions, Endpoints, LogOptions, Runtime, RuntimeOptions, ScopeAppStatus, ServiceStatus, SystemStatus, UpOptions } from '../../runtime.ts';
import { buildEntry, buildImage, execMode, type Built } from './build.ts';
import { applyStream, daemonEntry, DaemonError, findDaemon, request, startDaemon, type DaemonCommand } from './client.ts';
import { readJson, writeJsonAtomic } from '../../host/fsutil.ts';
import { acquireLock, LockedError } from '../../host/lock.ts';
import { readLog, tailLines } from './logfile.ts';
import { devPaths, type DevPaths } from './paths.ts';
import { planDeployment, scopeApp } from './plan.ts';
import { portRequests } from '../../plan/ports.ts';
import { endpointsOf } from '../../plan/endpoints.ts';
import { allocatePorts, PortTakenError } from '../../host/ports.ts';
import { isAlive, isOurs, markedProcesses, terminate, waitGone } from '../../host/procfs.ts';
import type { ApplyMessage, DaemonInfo, LocalState, ProcessSpec, ServiceRecord } from './types.ts';
import { plural } from '../../words.ts';

/** A service that crashed this many times during one `up` is reported as failed instead of waited for. */
const crashLoopRestarts = 3;
/** Exit code 78 (EX_CONFIG): the kit's "invalid configuration". Restarting will not fix it. */
const configErrorCode = 78;

const hashOf = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);

export class LocalRuntime implements Runtime {
  readonly name = 'local' as const;
  readonly paths: DevPaths;

  constructor(private readonly options: RuntimeOptions) {
    this.paths = devPaths(options.projectDir, options.devDir);
  }

  private lock(operation: string, emit: EventSink): () => void {
    try {
      return acquireLock(this.paths.lockFile, operation);
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
      const diagnosis: Diagnosis = {
        summary: `${err.message}; refusing to ${operation} at the same time`,
        hint: `wait for it to finish, or stop it (kill ${err.owner.pid}) and run \`dev ${operation}\` again`,
      };
      emit({ type: 'failed', step: 'check/lock', diagnosis, durationMs: 0, at: Date.now() });
      throw new StepError(diagnosis, { cause: err });
    }
  }

  /** The daemon, bundled like a service (it starts several times faster than through tsx). */
  private async daemonCommand(): Promise<DaemonCommand & { hash: string }> {
    const here = path.dirname(daemonEntry);
    const b = await buildEntry(this.paths.projectDir, this.paths.build, 'dev-daemon', daemonEntry, [here, path.join(here, '..', '..', 'manifests')]);
    return { command: b.command, args: [...b.args, '--build', b.hash], hash: b.hash };
  }

  async up({ manifests, emit, timeoutMs = 120_000 }: UpOptions): Promise<SystemStatus> {
    const release = this.lock('up', emit);
    try {
      for (const dir of [this.paths.state, this.paths.logs, this.paths.data, this.paths.build, this.paths.apps]) mkdirSync(dir, { recursive: true });
      const running = await findDaemon(this.paths);
      const current = running ? await request<LocalState>(running, 'GET', '/status') : undefined;
      const held = new Set<number>();
      for (const r of Object.values(current?.services ?? {})) if (r.pid !== undefined) for (const p of r.ports) held.add(p.hostPort);
      if (!running) {
        // Orphans of a crashed supervisor: the new one stops them before starting anything, so their ports stay ours.
        const previous = readJson<LocalState>(this.paths.localState);
        for (const r of Object.values(previous?.services ?? {})) {
          if (r.pid !== undefined && isOurs(r.pid, this.paths.dev, r.startTime)) for (const p of r.ports) held.add(p.hostPort);
        }
      }

      const ports = await step(emit, 'check/ports', 'check', 'allocate loopback ports', async () => {
        try {
          return await allocatePorts(this.paths.portsFile, portRequests(manifests, this.options.frontendPort !== undefined ? { frontendPort: this.options.frontendPort } : {}), held);
        } catch (err) {
          if (!(err instanceof PortTakenError)) throw err;
          throw new StepError({
            summary: err.message,
            hint: err.howToChange ? `${err.howToChange}, or stop whatever holds port ${err.port}` : `stop whatever holds port ${err.port}`,
          });
        }
      }, (r) => `${r.ports.size} ports`);
      for (const n of ports.notices) emit({ type: 'notice', level: 'warn', message: n.message, at: Date.now() });

      // replicas: 0 is a Deployment scaled to zero: nothing runs (and one that ran is stopped by the apply).
      const planned = await step(emit, 'check/plan', 'check', 'map Deployments to local processes', async () => {
        try {
          return manifests.deployments.filter((d) => d.spec.replicas !== 0).map((d) => planDeployment(d, manifests, ports.ports, this.paths));
        } catch (err) {
          throw new StepError({ summary: (err as Error).message, hint: 'use one of our images (scope-saas/<name> with images/<name>/src/main.ts) or an upstream image with a stand-in' });
        }
      }, (p) => `${p.length} processes${p.some((x) => x.standIn) ? ` (stand-ins: ${p.filter((x) => x.standIn).map((x) => `${x.name} → ${x.standIn}`).join(', ')})` : ''}`);
      const images = [...new Set(planned.map((p) => p.runs))];
      const mode = execMode();
      const built = new Map<string, Built>();
      await Promise.all(
        images.map(async (image) => {
          const b = await step(emit, `build/${image}`, 'build', mode === 'tsx' ? `check images/${image} (tsx)` : `bundle images/${image}`, async () => {
            try {
              return await buildImage(this.paths.projectDir, this.paths.build, image, mode);
            } catch (err) {
              throw new StepError({ summary: `cannot build images/${image}: ${(err as Error).message.split('\n').slice(0, 6).join(' ')}`, hint: `fix images/${image}/src and run \`dev up\` again` });
            }
          }, (r) => (r.rebuilt ? `built in ${r.ms} ms` : 'unchanged'));
          built.set(image, b);
        }),
      );
      // app-mapper's process provisioner starts per-org Scope apps from their own bundle (SCOPE_APP_COMMAND);
      // a new one restarts app-mapper, which stops the apps it started, so the next ones run the new code.
      const provisionsApps = mode === 'bundle' && planned.some((p) => p.env.SCOPE_APP_COMMAND !== undefined);
      const scopeAppBuild = provisionsApps
        ? await step(emit, `build/${scopeApp.name}`, 'build', `bundle ${scopeApp.entry} (per-org Scope apps)`, async () => {
            try {
              const root = this.paths.projectDir;
              return await buildEntry(root, this.paths.build, scopeApp.name, path.join(root, scopeApp.entry), [path.join(root, scopeApp.watch)], mode);
            } catch (err) {
              throw new StepError({ summary: `cannot build ${scopeApp.entry}: ${(err as Error).message.split('\n').slice(0, 6).join(' ')}`, hint: 'fix images/scope/src and run `dev up` again' });
            }
          }, (r) => (r.rebuilt ? `built in ${r.ms} ms` : 'unchanged'))
        : undefined;
      const specs: ProcessSpec[] = planned.map((p) => {
        const b = built.get(p.runs)!;
        const spec = { ...p, command: b.command, args: b.args };
        const apps = p.env.SCOPE_APP_COMMAND !== undefined ? scopeAppBuild?.hash : undefined;
        return { ...spec, hash: hashOf({ spec, build: b.hash, ...(apps ? { apps } : {}) }) };
      });

      const daemon = running ?? (await this.startDaemon(emit));
      if (running) {
        const current = await this.daemonCommand().catch(() => undefined);
        const stale = current !== undefined && running.build !== undefined && running.build !== current.hash;
        emit({
          type: 'notice',
          level: stale ? 'warn' : 'info',
          message: stale
            ? `reusing the local supervisor (pid ${running.pid}), which runs older engine code: \`dev down\` then \`dev up\` to update it`
            : `reusing the local supervisor (pid ${running.pid})`,
          at: Date.now(),
        });
      }
      await this.applyAndWait(daemon, specs, emit, timeoutMs);
      return await this.status();
    } finally {
      release();
    }
  }

  private async startDaemon(emit: EventSink): Promise<DaemonInfo> {
    return step(emit, 'cluster/supervisor', 'cluster', 'start the local supervisor', async () => {
      try {
        return await startDaemon(this.paths, await this.daemonCommand());
      } catch (err) {
        const lines = (err as { logLines?: string[] }).logLines ?? tailLines(this.paths.daemonLog, 20);
        throw new StepError({ summary: (err as Error).message, hint: `see ${path.relative(process.cwd(), this.paths.daemonLog)}`, logs: [{ source: 'daemon', lines }] });
      }
    }, (d) => `pid ${d.pid}`);
  }

  private diagnose(r: ServiceRecord, summary: string): Diagnosis {
    return {
      summary,
      hint: `see its log: dev logs ${r.name} (${path.relative(process.cwd(), r.logFile)})`,
      logs: [{ source: r.name, lines: tailLines(r.logFile, 20) }],
    };
  }

  private async applyAndWait(daemon: DaemonInfo, specs: ProcessSpec[], emit: EventSink, timeoutMs: number): Promise<void> {
    const t0 = Date.now();
    const records = new Map<string, ServiceRecord>();
    const baseline = new Map<string, number>();
    /** Services whose step is open, with when it started and the last progress line sent. */
    const open = new Map<string, { at: number; last: string }>();
    const failures: Diagnosis[] = [];
    let planned = false;
    let failedAt: number | undefined;
    const abort = new AbortController();

    const openStep = (name: string, kind: StepKind, title: string) => {
      open.set(name, { at: Date.now(), last: '' });
      emit({ type: 'started', step: `service/${name}`, kind, title, at: Date.now() });
    };
    const closeStep = (name: string, ok: boolean, message: string, diagnosis?: Diagnosis) => {
      const o = open.get(name);
      if (!o) return;
      open.delete(name);
      if (ok) emit({ type: 'done', step: `service/${name}`, message, durationMs: Date.now() - o.at, at: Date.now() });
      else {
        emit({ type: 'failed', step: `service/${name}`, diagnosis: diagnosis!, durationMs: Date.now() - o.at, at: Date.now() });
        failures.push(diagnosis!);
        failedAt ??= Date.now();
      }
    };
    const where = (r: ServiceRecord) => (r.urls.http ?? Object.values(r.urls)[0])?.replace(/^\w+:\/\//, '') ?? `pid ${r.pid}`;

    const wanted = new Map(specs.map((s) => [s.name, s.hash]));
    const evaluate = (): boolean => {
      for (const [name, o] of open) {
        const r = records.get(name);
        // Until the daemon reports the new spec's instance, what it says is about the old one.
        if (!r || r.hash !== wanted.get(name)) continue;
        const restarts = r.restarts - (baseline.get(name) ?? r.restarts);
        if (r.ready) {
          closeStep(name, true, `ready on ${where(r)}${restarts ? ` after ${restarts} restart${restarts === 1 ? '' : 's'}` : ''}`);
          continue;
        }
        if (r.state === 'backoff' && r.lastExit?.code === configErrorCode) {
          closeStep(name, false, '', this.diagnose(r, `${name} refuses its configuration (exit code ${configErrorCode})`));
          continue;
        }
        if (restarts >= crashLoopRestarts && r.state === 'backoff') {
          closeStep(name, false, '', this.diagnose(r, `${name} keeps crashing: ${r.message ?? 'exited'} (${restarts} restarts)`));
          continue;
        }
        const line = r.state === 'backoff' ? (r.message ?? 'restarting') : r.probe ? `waiting for readiness: ${r.probe}` : r.pid ? `pid ${r.pid} started` : r.state;
        if (line !== o.last) {
          o.last = line;
          emit({ type: 'progress', step: `service/${name}`, message: line, at: Date.now() });
        }
      }
      const now = Date.now();
      const gaveUp = now - t0 > timeoutMs || (failedAt !== undefined && now - failedAt > 5000);
      if (gaveUp) {
        for (const name of [...open.keys()]) {
          const r = records.get(name);
          const why = failedAt !== undefined && now - t0 <= timeoutMs ? 'stopped waiting after another service failed' : `not ready after ${Math.round(timeoutMs / 1000)} s`;
          const summary = `${name} ${why}${r?.probe ? ` (${r.probe})` : r?.message ? ` (${r.message})` : ''}`;
          closeStep(name, false, '', r ? this.diagnose(r, summary) : { summary });
        }
      }
      return planned && open.size === 0;
    };

    const ticker = setInterval(() => {
      if (evaluate()) abort.abort();
    }, 250);
    try {
      await applyStream(daemon, specs, (m: ApplyMessage) => {
        if (m.type === 'error') throw new StepError({ summary: `the local supervisor: ${m.message}` });
        if (m.type === 'plan') {
          planned = true;
          for (const name of m.started) openStep(name, 'service', `start ${name}`);
          for (const name of m.restarted) openStep(name, 'service', `restart ${name} (changed)`);
          for (const name of m.stopped) emit({ type: 'notice', level: 'info', message: `stopped ${name} (no longer in the manifests, or scaled to replicas: 0)`, at: Date.now() });
          for (const name of m.unchanged) baseline.set(name, -1);
          if (m.started.length + m.restarted.length === 0 && m.stopped.length === 0) {
            emit({ type: 'notice', level: 'info', message: 'already up: nothing changed', at: Date.now() });
          }
          return false;
        }
        const r = m.service;
        records.set(r.name, r);
        if (baseline.get(r.name) === -1) {
          // Unchanged: fine if ready; otherwise wait for it like the others.
          baseline.set(r.name, r.restarts);
          if (!r.ready) openStep(r.name, 'service', `wait for ${r.name}`);
        } else if (!baseline.has(r.name)) baseline.set(r.name, r.restarts);
        return evaluate();
      }, abort.signal);
    } catch (err) {
      if (err instanceof StepError) throw err;
      const r = err as Error;
      throw new StepError({ summary: `lost the local supervisor: ${r.message}`, hint: `see ${path.relative(process.cwd(), this.paths.daemonLog)}`, logs: [{ source: 'daemon', lines: tailLines(this.paths.daemonLog, 20) }] }, { cause: err });
    } finally {
      clearInterval(ticker);
    }
    if (failures.length) {
      const first = failures[0]!;
      throw new StepError(failures.length === 1 ? first : { ...first, summary: `${failures.length} services failed; first: ${first.summary}`, logs: failures.flatMap((f) => f.logs ?? []) });
    }
  }

  async down({ emit, wipe = false }: DownOptions): Promise<void> {
    const release = this.lock('down', emit);
    try {
      await step(emit, 'stop/services', 'stop', 'stop every service and Scope app', async (progress) => {
        const daemon = await findDaemon(this.paths);
        let stoppedNames: string[] = [];
        let stoppedApps = 0;
        if (daemon) {
          try {
            const r = await request<{ services: string[]; apps: number }>(daemon, 'POST', '/stop', undefined, 60_000);
            stoppedNames = r.services;
            stoppedApps = r.apps;
            progress(`the supervisor stopped ${plural(r.services.length, 'service')} and ${plural(r.apps, 'Scope app')}`);
          } catch (err) {
            progress(`the supervisor did not stop cleanly (${(err as Error).message}); stopping what is left`);
          }
          // It exits by itself once it has answered; only a stuck one needs a signal.
          const stuck = await waitGone([daemon.pid], 3000);
          await terminate(stuck.filter((pid) => isOurs(pid, this.paths.dev, daemon.startTime)), 5000);
        }
        // Whatever is left, whoever started it: recorded services, recorded Scope apps, anything with our marker.
        const state = readJson<LocalState>(this.paths.localState);
        const leftovers = new Set<number>();
        for (const r of Object.values(state?.services ?? {})) if (r.pid !== undefined && isOurs(r.pid, this.paths.dev, r.startTime)) leftovers.add(r.pid);
        if (state?.daemon && isOurs(state.daemon.pid, this.paths.dev, state.daemon.startTime)) leftovers.add(state.daemon.pid);
        for (const pid of markedProcesses(this.paths.dev)) leftovers.add(pid);
        if (leftovers.size) {
          progress(`stopping ${leftovers.size} leftover process${leftovers.size === 1 ? '' : 'es'} (${[...leftovers].join(', ')})`);
          await terminate([...leftovers], 5000);
        }
        const apps = await killRecordedApps(this.paths.apps, 5000);
        if (apps.killed.length) progress(`stopped ${apps.killed.length} Scope app${apps.killed.length === 1 ? '' : 's'} (${apps.killed.map((a) => a.org).join(', ')})`);
        const services: Record<string, ServiceRecord> = {};
        for (const [name, r] of Object.entries(state?.services ?? {})) {
          services[name] = { ...r, state: 'stopped', ready: false, pid: undefined, startTime: undefined, nextRestartAt: undefined, probe: undefined, message: undefined };
        }
        writeJsonAtomic(this.paths.localState, { services, updatedAt: Date.now() } satisfies LocalState);
        rmSync(this.paths.daemonFile, { force: true });
        const count = stoppedNames.length || Object.keys(services).length;
        return { count, apps: stoppedApps + apps.killed.length, daemon: daemon !== undefined, leftovers: leftovers.size };
      }, (r) => (r.daemon || r.leftovers ? `stopped ${plural(r.count, 'service')} and ${plural(r.apps, 'Scope app')}` : 'nothing was running'));
      if (wipe) {
        await step(emit, 'stop/wipe', 'stop', 'delete the data (databases, captured mail)', async () => {
          rmSync(this.paths.data, { recursive: true, force: true });
          rmSync(this.paths.apps, { recursive: true, force: true });
        }, () => `removed ${path.relative(process.cwd(), this.paths.data) || this.paths.data}`);
      }
    } finally {
      release();
    }
  }

  private async records(): Promise<{ services: Record<string, ServiceRecord>; live: boolean }> {
    const daemon = await findDaemon(this.paths);
    if (daemon) {
      try {
        return { services: (await request<LocalState>(daemon, 'GET', '/status', undefined, 5000)).services, live: true };
      } catch {
        // fall back to the file
      }
    }
    const state = readJson<LocalState>(this.paths.localState);
    const services: Record<string, ServiceRecord> = {};
    for (const [name, r] of Object.entries(state?.services ?? {})) {
      // Without its supervisor a process may still run (the daemon crashed): say so, it is not supervised.
      const alive = r.pid !== undefined && isOurs(r.pid, this.paths.dev, r.startTime);
      services[name] = alive
        ? { ...r, message: 'the local supervisor is not running: not supervised (run dev up or dev down)' }
        : { ...r, state: 'stopped', ready: false, pid: undefined, startTime: undefined };
    }
    return { services, live: false };
  }

  async status(): Promise<SystemStatus> {
    const { services, live } = await this.records();
    const list: ServiceStatus[] = Object.values(services)
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((r) => ({
        name: r.name,
        ready: r.ready,
        state: r.state,
        restarts: r.restarts,
        ...(r.startedAt !== undefined && r.pid !== undefined ? { startedAt: r.startedAt } : {}),
        ...(Object.keys(r.urls).length ? { urls: r.urls } : {}),
        ...(r.pid !== undefined ? { pid: r.pid } : {}),
        ...(r.message ?? r.probe ? { message: r.message ?? r.probe } : {}),
      }));
    const apps: ScopeAppStatus[] = (await readRecords(this.paths.apps).catch(() => ({ records: [] }))).records.map((a) => ({
      org: a.org,
      url: `http://127.0.0.1:${a.port}`,
      state: isAlive(a.pid) ? 'running' : 'gone',
      pid: a.pid,
    }));
    const up = list.some((s) => s.pid !== undefined);
    return { runtime: 'local', up, services: list, apps, endpoints: up || live ? endpointsOf(Object.values(services)) : null };
  }

  async endpoints(): Promise<Endpoints | null> {
    return (await this.status()).endpoints;
  }

  async logs(service: string, onLine: (line: string) => void, options: LogOptions = {}): Promise<void> {
    const file = path.join(this.paths.logs, `${service}.log`);
    if (!existsSync(file)) {
      const known = existsSync(this.paths.logs) ? readdirSync(this.paths.logs).filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -4)) : [];
      throw new Error(`no logs for ${service}${known.length ? ` (services with logs: ${known.sort().join(', ')})` : ' (nothing has run yet: dev up)'}`);
    }
    await readLog(file, onLine, {
      follow: options.follow ?? false,
      ...(options.tail !== undefined ? { tail: options.tail } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async restart(service: string): Promise<void> {
    const daemon = await findDaemon(this.paths);
    if (!daemon) throw new Error('the local runtime is not up (run dev up)');
    try {
      await request(daemon, 'POST', `/restart/${encodeURIComponent(service)}`, undefined, 30_000);
    } catch (err) {
      if (err instanceof DaemonError && err.status === 404) throw new Error(err.message);
      throw err;
    }
  }
}

export function createRuntime(options: RuntimeOptions): Runtime {
  return new LocalRuntime(options);
}
