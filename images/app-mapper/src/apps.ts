/**
 * Sits between the routes and the app lifecycle: hands out an org's ready app (or a 503 with Retry-After while
 * it starts), keeps the database's org → app record in step, and has the lifecycle stop apps nobody used for
 * APP_IDLE_SECONDS (an open websocket counts as use).
 */
import { HttpError, type Logger } from '@saas/kit';
import type { AppLifecycle } from './provisioners/lifecycle.ts';
import type { AppInstance } from './provisioners/types.ts';
import type { Store } from './store.ts';

export interface AppManagerOptions {
  provisioner: AppLifecycle;
  store: Store;
  log: Logger;
  idleSeconds: number;
  /** How often the sweeper runs; default half the idle time, between 0.25 s and 30 s. */
  sweepEveryMs?: number;
}


export class AppManager {
  /** org → what its database row says (state, address, identity), so unchanged apps are not written again. */
  private readonly recorded = new Map<string, string>();
  private readonly writes = new Map<string, Promise<void>>();
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  private closed = false;

  constructor(private readonly opts: AppManagerOptions) {}

  start(): void {
    const every = this.opts.sweepEveryMs ?? Math.min(30_000, Math.max(250, (this.opts.idleSeconds * 1000) / 2));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  /** The org's ready app; throws 503 (Retry-After) while it starts or after it failed to start. */
  async acquire(org: string): Promise<AppInstance> {
    if (this.closed) throw new HttpError(503, 'shutting down', { 'Retry-After': '5' });
    let app: AppInstance;
    try {
      app = await this.opts.provisioner.ensure(org);
    } catch (err) {
      this.opts.log.error({ err, org }, 'could not start the app');
      throw new HttpError(503, "the organisation's Scope app could not be started; try again later", { 'Retry-After': '10' });
    }
    this.touch(org);
    this.record(app);
    if (app.state === 'ready') return app;
    const retry = String(app.retryAfterSeconds ?? 2);
    if (app.state === 'starting') {
      throw new HttpError(503, "the organisation's Scope app is starting; try again shortly", { 'Retry-After': retry });
    }
    throw new HttpError(503, `the organisation's Scope app failed to start (${app.reason ?? app.state}); retrying`, { 'Retry-After': retry });
  }

  /** The org's app if it is ready now, without starting one (for read-only extras). */
  async ifReady(org: string): Promise<AppInstance | undefined> {
    const app = await this.opts.provisioner.status(org);
    return app?.state === 'ready' ? app : undefined;
  }

  touch(org: string): void {
    this.opts.provisioner.touch(org);
  }

  connectionOpened(org: string): void {
    this.opts.provisioner.connectionOpened(org);
  }

  connectionClosed(org: string): void {
    this.opts.provisioner.connectionClosed(org);
  }

  /** The app refused or dropped a connection: let the provisioner re-check it so the next use restarts it. */
  async unreachable(org: string): Promise<void> {
    await this.opts.provisioner.reportUnreachable(org);
    const app = await this.opts.provisioner.status(org);
    if (app) this.record(app);
  }

  /** Stops the apps idle for longer than idleSeconds; returns their org IDs. */
  async sweep(now = Date.now()): Promise<string[]> {
    if (this.sweeping || this.closed) return [];
    this.sweeping = true;
    const stopped: string[] = [];
    try {
      this.opts.store.prune(now);
      stopped.push(...(await this.opts.provisioner.stopIdle(this.opts.idleSeconds * 1000, now)));
      for (const app of await this.opts.provisioner.list()) this.record(app);
    } catch (err) {
      this.opts.log.error({ err }, 'idle sweep failed');
    } finally {
      this.sweeping = false;
    }
    return stopped;
  }

  /** Stops the sweeper and every app (graceful shutdown). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await this.opts.provisioner.stopAll();
    const apps = await this.opts.provisioner.list();
    await Promise.allSettled(apps.map((app) => this.writeRecord(app)));
    await this.flush();
  }

  /** Writes the org → app row when its state or address changed since the last write. */
  private record(app: AppInstance): void {
    const signature = `${app.state}|${app.url}|${app.ref}|${app.startedAt.getTime()}`;
    if (this.recorded.get(app.org) === signature) return;
    this.recorded.set(app.org, signature);
    void this.writeRecord(app).catch((err: Error) => {
      if (this.recorded.get(app.org) === signature) this.recorded.delete(app.org);
      this.opts.log.warn({ err: err.message, org: app.org }, 'could not record the app');
    });
  }

  /** Writes of one org's row go one after another, so a late 'starting' never overwrites 'ready'. */
  private writeRecord(app: AppInstance): Promise<void> {
    const snapshot = { ...app };
    const previous = this.writes.get(app.org) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.opts.store.recordApp(this.opts.provisioner.kind, snapshot));
    const settled = next.catch(() => undefined).finally(() => {
      if (this.writes.get(app.org) === settled) this.writes.delete(app.org);
    });
    this.writes.set(app.org, settled);
    return next;
  }

  /** Waits for org → app writes in flight. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.writes.values()]);
  }
}
