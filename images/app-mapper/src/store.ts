/**
 * What app-mapper remembers in Postgres: which app serves each organisation, and the probes each organisation
 * has sent reports from. Last-seen writes are throttled per probe so the report path is not a write per report.
 */
import type { Logger, Migration, Pool } from '@saas/kit';
import type { AppInstance, ProvisionerKind } from './provisioners/types.ts';

/** Table and migration names carry the service's name: the local runtime may share one database between services. */
export const migrations: Migration[] = [
  {
    id: 'app_mapper_001_apps_probes',
    sql: `
      CREATE TABLE app_mapper_apps (
        organization_id text PRIMARY KEY,
        provisioner text NOT NULL,
        state text NOT NULL,
        url text NOT NULL,
        ref text NOT NULL,
        reason text,
        started_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE app_mapper_probes (
        organization_id text NOT NULL,
        probe_id text NOT NULL,
        hostname text,
        first_seen_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        PRIMARY KEY (organization_id, probe_id)
      );
    `,
  },
];

export interface ProbeSeen {
  id: string;
  hostname: string | null;
  lastSeen: Date;
}

export interface AppRow {
  organizationID: string;
  provisioner: string;
  state: string;
  url: string;
  ref: string;
  reason: string | null;
  startedAt: Date;
  updatedAt: Date;
}

export class Store {
  /** `${org}\0${probe}` → when its last-seen was last written (ms). */
  private readonly lastWrite = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly pool: Pool,
    private readonly log: Logger,
    private readonly probeWriteIntervalMs: number,
  ) {}

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async recordApp(kind: ProvisionerKind, app: AppInstance): Promise<void> {
    await this.pool.query(
      `INSERT INTO app_mapper_apps (organization_id, provisioner, state, url, ref, reason, started_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, now())
       ON CONFLICT (organization_id) DO UPDATE SET provisioner = EXCLUDED.provisioner, state = EXCLUDED.state,
         url = EXCLUDED.url, ref = EXCLUDED.ref, reason = EXCLUDED.reason, started_at = EXCLUDED.started_at, updated_at = now()`,
      [app.org, kind, app.state, app.url, app.ref, app.reason ?? null, app.startedAt],
    );
  }

  async getApp(org: string): Promise<AppRow | undefined> {
    const r = await this.pool.query<AppRow>(
      `SELECT organization_id AS "organizationID", provisioner, state, url, ref, reason, started_at AS "startedAt", updated_at AS "updatedAt"
       FROM app_mapper_apps WHERE organization_id = $1`,
      [org],
    );
    return r.rows[0];
  }

  /**
   * Notes that a probe reported now. Writes at most once per probe per interval and never makes the caller
   * wait: a failed write is logged, and the next report tries again.
   */
  seeProbe(org: string, probeId: string, now = Date.now()): void {
    const key = `${org}\0${probeId}`;
    const last = this.lastWrite.get(key);
    if (last !== undefined && now - last < this.probeWriteIntervalMs) return;
    this.lastWrite.set(key, now);
    const write = this.pool
      .query(
        `INSERT INTO app_mapper_probes (organization_id, probe_id, first_seen_at, last_seen_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (organization_id, probe_id) DO UPDATE SET last_seen_at = GREATEST(app_mapper_probes.last_seen_at, EXCLUDED.last_seen_at)`,
        [org, probeId, new Date(now)],
      )
      .catch((err: Error) => {
        if (this.lastWrite.get(key) === now) this.lastWrite.delete(key);
        this.log.warn({ err: err.message, org, probe: probeId }, 'could not record a probe');
      })
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Hostnames as the org's app knows them (from the probes' reports). */
  async setHostnames(org: string, probes: { id: string; hostname: string }[]): Promise<void> {
    for (const p of probes) {
      await this.pool.query(
        'UPDATE app_mapper_probes SET hostname = $3 WHERE organization_id = $1 AND probe_id = $2 AND hostname IS DISTINCT FROM $3',
        [org, p.id, p.hostname],
      );
    }
  }

  async listProbes(org: string): Promise<ProbeSeen[]> {
    const r = await this.pool.query<ProbeSeen>(
      `SELECT probe_id AS id, hostname, last_seen_at AS "lastSeen" FROM app_mapper_probes
       WHERE organization_id = $1 ORDER BY last_seen_at DESC, probe_id`,
      [org],
    );
    return r.rows;
  }

  /** Forgets throttle entries old enough that the next report writes anyway (keeps the map small). */
  prune(now = Date.now()): void {
    for (const [key, at] of this.lastWrite) if (now - at >= this.probeWriteIntervalMs) this.lastWrite.delete(key);
  }

  /** Waits for last-seen writes in flight (shutdown). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
