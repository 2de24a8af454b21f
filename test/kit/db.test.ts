import test from 'ava';
import { createLogger, createPool, migrate, type Migration } from '@saas/kit';
import { createPostgresDatabase, startPgliteServer, type TestDatabase } from '@saas/kit/testing';

const log = createLogger('test', 'silent');
const migrations: Migration[] = [
  { id: '001_things', sql: 'CREATE TABLE things (id serial PRIMARY KEY, name text NOT NULL UNIQUE)' },
  { id: '002_stamp', sql: "ALTER TABLE things ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()" },
];

for (const [label, start] of [
  ['PostgreSQL', createPostgresDatabase],
  ['PGlite', startPgliteServer],
] as const) {
  test.serial(`migrations apply once and only once on ${label}`, async (t) => {
    const db: TestDatabase = await start();
    const pool = createPool(db.url, log);
    try {
      t.deepEqual(await migrate(pool, migrations, log), ['001_things', '002_stamp']);
      t.deepEqual(await migrate(pool, migrations, log), []);
      await pool.query("INSERT INTO things (name) VALUES ('a')");
      const r = await pool.query<{ name: string; created_at: Date }>('SELECT name, created_at FROM things');
      t.is(r.rows[0]?.name, 'a');
      t.true(r.rows[0]?.created_at instanceof Date);
    } finally {
      await pool.end();
      await db.close();
    }
  });

  test.serial(`a failing migration leaves no half-written state on ${label}`, async (t) => {
    const db = await start();
    const pool = createPool(db.url, log);
    try {
      await t.throwsAsync(
        migrate(pool, [{ id: '001_bad', sql: 'CREATE TABLE a (x int); CREATE TABLE a (x int)' }], log),
        { message: /migration 001_bad failed/ },
      );
      const r = await pool.query("SELECT to_regclass('a') AS t");
      t.is(r.rows[0].t, null);
    } finally {
      await pool.end();
      await db.close();
    }
  });
}
