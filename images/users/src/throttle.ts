/**
 * Fixed-window counters kept in the database, so every users replica counts the same attempts: each call counts
 * one attempt for a key and says whether it is within the limit of its window. One statement, atomic under
 * concurrent callers (an upsert on the key's row).
 */
import type { Pool } from '@saas/kit';

export interface ThrottleRule {
  /** Attempts allowed per window. */
  limit: number;
  windowMs: number;
}

export interface Attempt {
  allowed: boolean;
  /** When the key's window ends and attempts are allowed again. */
  resetsAt: Date;
}

export class Throttle {
  constructor(private readonly pool: Pool) {}

  async attempt(key: string, rule: ThrottleRule, now: Date): Promise<Attempt> {
    const windowStartsAfter = new Date(now.getTime() - rule.windowMs);
    const r = await this.pool.query<{ count: number; window_start: Date }>(
      `INSERT INTO throttle AS t (key, window_start, count) VALUES ($1, $2, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN t.window_start <= $3 THEN 1 ELSE t.count + 1 END,
         window_start = CASE WHEN t.window_start <= $3 THEN $2 ELSE t.window_start END
       RETURNING count, window_start`,
      [key, now, windowStartsAfter],
    );
    const row = r.rows[0] as { count: number; window_start: Date };
    return { allowed: row.count <= rule.limit, resetsAt: new Date(new Date(row.window_start).getTime() + rule.windowMs) };
  }

  /** Forgets windows that ended before `now` (the table holds at most one row per key seen in a window). */
  async prune(now: Date, longestWindowMs: number): Promise<void> {
    await this.pool.query('DELETE FROM throttle WHERE window_start < $1', [new Date(now.getTime() - longestWindowMs)]);
  }
}
