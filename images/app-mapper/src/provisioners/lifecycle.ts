/**
 * One organisation's Scope app from first use to stop, the same over every backend: one start per org however
 * many callers ask at once, readiness (the backend's word, or GET <url>/readyz), a growing backoff after failed
 * starts, noticing an app that died, adopting the apps a previous app-mapper left, stopping idle apps, and
 * stopping everything on shutdown. The backend only starts, addresses, checks and removes.
 */
import type { Logger } from '@saas/kit';
import { isOrgId } from '@saas/kit/contracts';
import type { AppBackend, AppHandle, AppInstance, AppLiveness, AppState, ProvisionerKind } from './types.ts';

export interface AppLifecycleOptions<H extends AppHandle> {
  backend: AppBackend<H>;
  log: Logger;
  /** How long an app may take to become ready. */
  startTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace when stopping an app. */
  stopGraceMs?: number;
  /** How often a starting app is checked. */
  pollMs?: number;
  /** A ready app is checked for life on use, at most this often. */
  recheckMs?: number;
}

interface Entry<H> {
  org: string;
  state: AppState;
  app: H;
  url: string;
  reason?: string;
  /** Consecutive failed starts, for backoff. */
  failures: number;
  retryAt?: number;
  stopping?: Promise<void>;
  checkedAt: number;
}

interface Usage {
  lastUsed: number;
  connections: number;
}

/** Starts in a row that fail for a reason of the moment (a taken port) before it counts as a failed start. */
const transientAttempts = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function answersReady(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export class AppLifecycle<H extends AppHandle = AppHandle> {
  readonly kind: ProvisionerKind;
  readonly backend: AppBackend<H>;
  private readonly log: Logger;
  private readonly entries = new Map<string, Entry<H>>();
  private readonly starting = new Map<string, Promise<AppInstance>>();
  private readonly usage = new Map<string, Usage>();
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly pollMs: number;
  private readonly recheckMs: number;
  private closed = false;

  constructor(opts: AppLifecycleOptions<H>) {
    this.backend = opts.backend;
    this.kind = opts.backend.kind;
    this.log = opts.log;
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 5000;
    this.pollMs = opts.pollMs ?? 100;
    this.recheckMs = opts.recheckMs ?? 1000;
  }

  /** Takes over the apps a previous app-mapper left that still answer, and removes the others. */
  async init(): Promise<void> {
    const found = await this.backend.list();
    await Promise.all(found.map((app) => this.adoptOrRemove(app)));
  }

  private async adoptOrRemove(app: H): Promise<void> {
    const log = this.log.child({ org: app.org, app: app.ref });
    const seen = await this.backend.alive(app);
    if (seen.state === 'gone') {
      log.info({ reason: seen.reason }, 'removing an app left by a previous app-mapper that is gone');
      return this.backend.remove(app, this.stopGraceMs);
    }
    const url = await this.backend.url(app);
    if (url && (await this.isReady(seen, url))) {
      this.entries.set(app.org, { org: app.org, state: 'ready', app, url, failures: 0, checkedAt: Date.now() });
      log.info({ url }, 'adopted a running app left by a previous app-mapper');
      return;
    }
    log.warn('removing an app left by a previous app-mapper that does not answer /readyz');
    await this.backend.remove(app, this.stopGraceMs);
  }

  /**
   * The org's app, starting it when none runs (or it died). Never waits for readiness: a new app comes back
   * 'starting' and turns 'ready' on its own; callers answer 503 until then.
   */
  async ensure(org: string): Promise<AppInstance> {
    if (!isOrgId(org)) throw new Error(`invalid organisation ID ${JSON.stringify(org)}`);
    if (this.closed) throw new Error('provisioner is shut down');
    const seen = this.entries.get(org);
    if (seen?.stopping) {
      // Being stopped (idle sweep): wait, then start afresh — through ensure(), so concurrent callers share one start.
      await seen.stopping.catch(() => undefined);
      return this.ensure(org);
    }
    if (seen) await this.recheck(seen);
    // From here on nothing waits until the start is shared, so two callers never start two apps.
    const pending = this.starting.get(org);
    if (pending) return pending;
    const entry = this.entries.get(org);
    if (entry?.stopping) return this.ensure(org);
    if (entry?.state === 'ready' || entry?.state === 'starting') return this.snapshot(entry);
    if (entry?.state === 'crashed' && entry.retryAt && entry.retryAt > Date.now()) return this.snapshot(entry);
    return this.startShared(org, entry?.failures ?? 0, 1);
  }

  /** The org's app as last seen, without starting anything; undefined when none was ever run here. */
  async status(org: string): Promise<AppInstance | undefined> {
    const entry = this.entries.get(org);
    if (!entry) return undefined;
    await this.recheck(entry);
    return this.snapshot(entry);
  }

  async list(): Promise<AppInstance[]> {
    const entries = [...this.entries.values()];
    await Promise.all(entries.map((e) => this.recheck(e)));
    return entries.map((e) => this.snapshot(e));
  }

  /** Stops the org's app and waits until it is gone. */
  async stop(org: string): Promise<void> {
    const pending = this.starting.get(org);
    if (pending) await pending.catch(() => undefined);
    const entry = this.entries.get(org);
    if (!entry) return;
    if (entry.stopping) return entry.stopping;
    if (entry.state === 'stopped' || entry.state === 'crashed') return;
    entry.stopping = (async () => {
      this.log.info({ org, app: entry.app.ref }, 'stopping app');
      await this.backend.remove(entry.app, this.stopGraceMs);
      entry.state = 'stopped';
      entry.reason = 'stopped';
    })().finally(() => {
      entry.stopping = undefined;
    });
    return entry.stopping;
  }

  /** Stops every app (graceful shutdown); ensure() refuses from now on. */
  async stopAll(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.starting.values()]);
    await Promise.all([...this.entries.keys()].map((org) => this.stop(org)));
  }

  /** The app could not be reached: re-check it, so the next ensure() replaces a dead or hung one. */
  async reportUnreachable(org: string): Promise<void> {
    const entry = this.entries.get(org);
    if (!entry || entry.state !== 'ready') return;
    const seen = await this.backend.alive(entry.app);
    if (seen.state !== 'gone' && (await answersReady(entry.url, 1000))) return;
    if (this.entries.get(org) !== entry || entry.state !== 'ready' || entry.stopping) return;
    const reason = seen.state === 'gone' ? seen.reason : 'stopped answering';
    this.log.warn({ org, app: entry.app.ref }, `app ${reason}; it will be replaced on the next request`);
    await this.backend.remove(entry.app, 1000);
    this.markCrashed(entry, reason, false);
  }

  // ---------------------------------------------------------------- use, and idle stops

  touch(org: string): void {
    const u = this.usage.get(org);
    if (u) u.lastUsed = Date.now();
    else this.usage.set(org, { lastUsed: Date.now(), connections: 0 });
  }

  connectionOpened(org: string): void {
    this.touch(org);
    (this.usage.get(org) as Usage).connections += 1;
  }

  connectionClosed(org: string): void {
    const u = this.usage.get(org);
    if (!u) return;
    u.connections = Math.max(0, u.connections - 1);
    u.lastUsed = Date.now();
  }

  /** Stops the apps nobody used for idleMs (an open connection counts as use); returns their org IDs. */
  async stopIdle(idleMs: number, now = Date.now()): Promise<string[]> {
    const stopped: string[] = [];
    for (const entry of [...this.entries.values()]) {
      if (entry.state !== 'ready' && entry.state !== 'starting') continue;
      let u = this.usage.get(entry.org);
      if (!u) {
        // An app adopted from a previous app-mapper: its idle time counts from now.
        u = { lastUsed: now, connections: 0 };
        this.usage.set(entry.org, u);
      }
      if (u.connections > 0 || now - u.lastUsed < idleMs) continue;
      this.log.info({ org: entry.org, idleSeconds: Math.round((now - u.lastUsed) / 1000) }, 'stopping idle app');
      await this.stop(entry.org);
      stopped.push(entry.org);
    }
    return stopped;
  }

  // ---------------------------------------------------------------- starting

  private startShared(org: string, failures: number, attempt: number): Promise<AppInstance> {
    const started = this.start(org, failures, attempt).finally(() => {
      if (this.starting.get(org) === started) this.starting.delete(org);
    });
    this.starting.set(org, started);
    return started;
  }

  private async start(org: string, failures: number, attempt: number): Promise<AppInstance> {
    const app = await this.backend.start(org);
    const url = await this.backend.url(app);
    const entry: Entry<H> = { org, state: 'starting', app, url: url ?? '', failures, checkedAt: Date.now() };
    this.entries.set(org, entry);
    if (!url) {
      const seen = await this.backend.alive(app);
      await this.failStart(entry, seen.state === 'gone' ? seen.reason : 'started without a reachable address');
      return this.snapshot(entry);
    }
    this.log.info({ org, app: app.ref, url }, 'starting app');
    void this.watchStart(entry, attempt).catch((err: Error) => this.log.error({ err, org }, 'watching the app start failed'));
    return this.snapshot(entry);
  }

  private async watchStart(entry: Entry<H>, attempt: number): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    const watching = () => entry.state === 'starting' && !entry.stopping && this.entries.get(entry.org) === entry;
    while (watching()) {
      const seen = await this.backend.alive(entry.app);
      if (!watching()) return;
      if (seen.state === 'gone') {
        if (!seen.transient || attempt >= transientAttempts || this.closed) return this.failStart(entry, seen.reason);
        this.log.warn({ org: entry.org, reason: seen.reason }, 'starting the app again');
        entry.state = 'crashed';
        entry.reason = seen.reason;
        await this.backend.remove(entry.app, 1000);
        await this.startShared(entry.org, entry.failures, attempt + 1).catch((err: Error) => this.log.error({ err, org: entry.org }, 'restart failed'));
        return;
      }
      if (await this.isReady(seen, entry.url)) {
        if (!watching()) return;
        entry.state = 'ready';
        entry.failures = 0;
        entry.retryAt = undefined;
        entry.checkedAt = Date.now();
        this.log.info({ org: entry.org, app: entry.app.ref, url: entry.url, ms: Date.now() - entry.app.startedAt.getTime() }, 'app ready');
        return;
      }
      if (Date.now() > deadline) return this.failStart(entry, `not ready within ${Math.round(this.startTimeoutMs / 1000)} s`);
      await sleep(this.pollMs);
    }
  }

  private async failStart(entry: Entry<H>, reason: string): Promise<void> {
    this.markCrashed(entry, reason, true);
    this.log.error({ org: entry.org, app: entry.app.ref, logTail: await this.backend.logTail(entry.app) }, `app failed to start: ${reason}`);
    await this.backend.remove(entry.app, 1000);
  }

  // ---------------------------------------------------------------- state

  /**
   * Ready is the app answering /readyz at its URL, whatever the backend says: a Deployment can be available
   * before kube-proxy routes its new Service, and proxying then gets ECONNREFUSED.
   */
  private isReady(seen: AppLiveness, url: string): Promise<boolean> {
    return seen.state === 'gone' ? Promise.resolve(false) : answersReady(url, 1000);
  }

  /** Notices a ready app that died since it was last looked at (at most every recheckMs). */
  private async recheck(entry: Entry<H>): Promise<void> {
    if (entry.state !== 'ready' || entry.stopping || Date.now() - entry.checkedAt < this.recheckMs) return;
    entry.checkedAt = Date.now();
    const seen = await this.backend.alive(entry.app);
    if (seen.state !== 'gone' || entry.state !== 'ready' || entry.stopping || this.entries.get(entry.org) !== entry) return;
    this.markCrashed(entry, seen.reason, false);
    this.log.warn({ org: entry.org, app: entry.app.ref }, `app ${seen.reason}`);
    await this.backend.remove(entry.app, 1000);
  }

  /** A failed start waits 1, 2, 4 … 30 s before the next; an app that ran and died is restarted at once. */
  private markCrashed(entry: Entry<H>, reason: string, duringStart: boolean): void {
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

  private snapshot(entry: Entry<H>): AppInstance {
    const instance: AppInstance = { org: entry.org, state: entry.state, url: entry.url, startedAt: entry.app.startedAt, ref: entry.app.ref };
    if (entry.reason) instance.reason = entry.reason;
    if (entry.state === 'starting') instance.retryAfterSeconds = 2;
    if (entry.state === 'crashed') instance.retryAfterSeconds = Math.max(1, Math.ceil(((entry.retryAt ?? 0) - Date.now()) / 1000));
    return instance;
  }
}
