/**
 * Creating a database (PostgreSQL's initdb, run by PGlite.create on an empty folder) grows PGlite's
 * WebAssembly memory and buffers to ~500 MB, which a process never gives back. So a new data folder is
 * made by a short-lived child process of this same program, in a temporary folder renamed into place when
 * complete: the server then opens it at its everyday size (~70 MB), and an interrupted initdb leaves nothing
 * half-made behind.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Set for the child: create the database in DATA_DIR, close it and exit. */
export const initOnlyVariable = 'PGLITE_INITDB_ONLY';

export class DataDirError extends Error {}

const isDatabase = (dir: string) => existsSync(path.join(dir, 'PG_VERSION'));

/** Makes dataDir a database unless it is one; returns whether it had to. */
export async function ensureDatabase(dataDir: string): Promise<boolean> {
  if (isDatabase(dataDir)) return false;
  const parent = path.dirname(dataDir);
  const base = path.basename(dataDir);
  mkdirSync(parent, { recursive: true });
  for (const stale of readdirSync(parent)) {
    if (stale.startsWith(`${base}.initdb-`)) rmSync(path.join(parent, stale), { recursive: true, force: true });
  }
  if (existsSync(dataDir)) {
    if (readdirSync(dataDir).length > 0) {
      throw new DataDirError(`DATA_DIR ${dataDir} holds files but no database (no PG_VERSION): move them away, or remove the folder to start empty`);
    }
    rmSync(dataDir, { recursive: true });
  }

  const tmp = path.join(parent, `${base}.initdb-${process.pid}`);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!], {
    env: { ...process.env, DATA_DIR: tmp, [initOnlyVariable]: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // The child dies with us: a SIGTERM during initdb must not leave it running.
  const stopChild = () => child.kill('SIGKILL');
  process.once('exit', stopChild);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c, signal) => resolve(signal ? null : c));
  }).finally(() => process.off('exit', stopChild));
  if (code !== 0 || !isDatabase(tmp)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`initdb of ${dataDir} failed (exit ${code ?? 'by signal'}): ${stderr.trim() || 'no output'}`);
  }
  renameSync(tmp, dataDir);
  return true;
}
