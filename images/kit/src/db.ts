import pg from 'pg';
import type { Logger } from './log.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface Migration {
  /** Sorted by id; an applied id is never run again. */
  id: string;
  sql: string;
}

export function createPool(connectionString: string, log: Logger, max = 5): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: 15_000, idleTimeoutMillis: 30_000 });
  pool.on('error', (err) => log.warn({ err }, 'idle database connection failed'));
  return pool;
}

/**
 * Waits for the database to accept connections (it may start after us), up to timeoutMs. A refused connection
 * costs next to nothing, so it polls every 250 ms at most: a long backoff here would be pure start-up delay.
 */
export async function waitForDatabase(pool: pg.Pool, log: Logger, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let lastLog = 0;
  for (;;) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`database unreachable after ${timeoutMs} ms: ${(err as Error).message}`);
      if (Date.now() - lastLog > 5000) {
        log.info({ err: (err as Error).message }, 'waiting for database');
        lastLog = Date.now();
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 250);
    }
  }
}

/**
 * Applies the migrations not yet applied, each in its own transaction, under an exclusive lock so two
 * replicas starting together cannot both apply one. Plain SQL that PostgreSQL and PGlite both run.
 */
export async function migrate(pool: pg.Pool, migrations: Migration[], log: Logger): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      id text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    for (const m of [...migrations].sort((a, b) => a.id.localeCompare(b.id))) {
      await client.query('BEGIN');
      try {
        await client.query('LOCK TABLE schema_migrations IN EXCLUSIVE MODE');
        const done = await client.query('SELECT 1 FROM schema_migrations WHERE id = $1', [m.id]);
        if (done.rowCount) {
          await client.query('COMMIT');
          continue;
        }
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
        log.info({ migration: m.id }, 'migration applied');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.id} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    client.release();
  }
  return applied;
}

/** Runs fn inside a transaction on one client. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
