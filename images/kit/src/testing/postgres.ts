import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { createPgliteServer } from '../pglite-server.ts';
import { freePort } from './ports.ts';

export interface TestDatabase {
  url: string;
  /** Drops the database (PostgreSQL) or stops the server (PGlite). */
  close(): Promise<void>;
}

/**
 * The real PostgreSQL server .ci/run installs and starts. TEST_PG_ADMIN_URL may point elsewhere; by default
 * the local server's unix socket, as the OS user running the tests (.ci/run creates that role).
 */
export const adminUrl = process.env.TEST_PG_ADMIN_URL ?? `postgresql://${process.env.USER ?? 'root'}@localhost/postgres?host=/var/run/postgresql`;

/** A fresh, empty database on the real PostgreSQL server, dropped on close. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(
      `cannot reach PostgreSQL at ${adminUrl} (${(err as Error).message}). Run .ci/run once, or start it: pg_ctlcluster 15 main start`,
    );
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    close: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** An in-memory PGlite served on the Postgres wire protocol on a loopback port, as the local runtime does. */
export async function startPgliteServer(): Promise<TestDatabase> {
  const db = await PGlite.create();
  const port = await freePort();
  const server = createPgliteServer({ db, port, host: '127.0.0.1' });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
