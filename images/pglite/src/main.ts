/**
 * The local stand-in for the upstream `postgres` image: PGlite (PostgreSQL compiled to WebAssembly) served on
 * the Postgres wire protocol, so services talk to it with `pg` exactly as they would to PostgreSQL.
 * Data persists under DATA_DIR (empty: in memory). Several connections at once (each service holds a pool);
 * PGlite runs one backend, and the kit's server hands it to one connection per query cycle or transaction.
 */
import './liftoff.ts';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { createLogger, int, port, readConfigOrExit, stopOnSignals, str } from '@saas/kit';
import { createPgliteServer } from '@saas/kit/pglite';
import { DataDirError, ensureDatabase, initOnlyVariable, type Made } from './initdb.ts';

const log = createLogger('pglite');

const config = readConfigOrExit('pglite', {
  port: port('PORT', { default: 5432, doc: 'the Postgres wire-protocol port' }),
  host: str('HOST', { default: '0.0.0.0' }),
  dataDir: str('DATA_DIR', { default: '', doc: 'where the database lives; empty keeps it in memory' }),
  maxConnections: int('MAX_CONNECTIONS', { default: 32, min: 2, max: 1000 }),
  templateDir: str('TEMPLATE_DIR', { default: '', doc: 'where a new database is copied from (made by initdb once); empty: initdb for each' }),
  sharedBuffers: str('SHARED_BUFFERS', { default: '2MB', doc: 'PostgreSQL shared_buffers, e.g. 16MB' }),
});

if (process.env[initOnlyVariable] === '1') {
  mkdirSync(config.dataDir, { recursive: true });
  await (await PGlite.create(config.dataDir)).close();
  process.exit(0);
}

const t0 = Date.now();
let made: Made | 'in memory' = 'in memory';
if (config.dataDir) {
  try {
    made = await ensureDatabase(config.dataDir, config.templateDir || undefined);
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    process.exit(err instanceof DataDirError ? 78 : 1);
  }
}
// A development database is a few hundred rows: PostgreSQL's default 128 MB of shared buffers would only
// inflate the process (PGlite's buffers live in its WebAssembly memory, every page of them touched); each
// megabyte here is a megabyte of RSS.
const db = await PGlite.create(config.dataDir || undefined, {
  postgresqlconf: [`shared_buffers = ${config.sharedBuffers}`, 'wal_buffers = 64kB', 'work_mem = 1MB', 'maintenance_work_mem = 4MB', 'temp_buffers = 1MB'],
});
const server = createPgliteServer({ db, port: config.port, host: config.host, maxConnections: config.maxConnections });
server.addEventListener('error', (event) => log.error({ err: (event as CustomEvent<unknown>).detail }, 'socket server error'));
try {
  await server.start();
} catch (err) {
  log.fatal({ err }, `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`);
  process.exit(1);
}
log.info({ port: config.port, host: config.host, dataDir: config.dataDir || '(memory)', database: made, startMs: Date.now() - t0 }, 'PGlite accepting connections');

stopOnSignals(log, async () => {
  await server.stop();
  await db.close();
});
