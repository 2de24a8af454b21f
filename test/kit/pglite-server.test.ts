import test from 'ava';
import pg from 'pg';
import { startPgliteServer } from '@saas/kit/testing';

// pglite-socket alone interleaves pooled connections' extended-protocol messages (electric-sql/pglite#1046):
// with it, about a third of these queries came back with another client's answer or none.
test('PGlite server keeps each pooled connection’s query cycles and transactions whole', async (t) => {
  const db = await startPgliteServer();
  const pool = new pg.Pool({ connectionString: db.url, max: 5 });
  try {
    await pool.query('CREATE TABLE t (id serial PRIMARY KEY, v int NOT NULL)');
    const failures: string[] = [];
    await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        try {
          if (i % 5 === 0) {
            const c = await pool.connect();
            try {
              await c.query('BEGIN');
              await c.query('INSERT INTO t (v) VALUES ($1)', [i]);
              const r = await c.query<{ n: string }>('SELECT count(*) AS n FROM t WHERE v = $1', [i]);
              if (r.rows[0]?.n !== '1') failures.push(`transaction ${i} saw ${r.rows[0]?.n}`);
              await c.query(i % 10 === 0 ? 'COMMIT' : 'ROLLBACK');
            } finally {
              c.release();
            }
          } else {
            const r = await pool.query<{ x: number }>('SELECT $1::int + 1 AS x', [i]);
            if (r.rows[0]?.x !== i + 1) failures.push(`query ${i} got ${JSON.stringify(r.rows)}`);
          }
        } catch (err) {
          failures.push(`${i}: ${(err as Error).message}`);
        }
      }),
    );
    t.deepEqual(failures, []);
    const committed = await pool.query<{ n: string }>('SELECT count(*) AS n FROM t');
    t.is(committed.rows[0]?.n, '15');
  } finally {
    await pool.end();
    await db.close();
  }
});

test('a client that drops mid-transaction does not hold the PGlite backend', async (t) => {
  const db = await startPgliteServer();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    await pool.query('CREATE TABLE u (v int)');
    const quitter = new pg.Client({ connectionString: db.url });
    await quitter.connect();
    await quitter.query('BEGIN');
    await quitter.query('INSERT INTO u VALUES (1)');
    await quitter.end();
    const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM u');
    t.is(r.rows[0]?.n, '0');
  } finally {
    await pool.end();
    await db.close();
  }
});
