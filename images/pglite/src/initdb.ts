/**
 * Creating a database (PostgreSQL's initdb, run by PGlite.create on an empty folder) grows PGlite's
 * WebAssembly memory and buffers to ~500 MB, which a process never gives back. So a new data folder is
 * made by a short-lived child process of this same program, in a temporary folder renamed into place when
 * complete: the server then opens it at its everyday size (~70 MB), and an interrupted initdb leaves nothing
 * half-made behind. (A data folder that cannot be replaced, such as a container's volume mount point, is made
 * in place by the child.)
 *
 * With a template folder (TEMPLATE_DIR), initdb runs once for every stand-in sharing it: the first makes the
 * template under a lock, and each new database is a copy (milliseconds instead of seconds of CPU). The
 * template's name carries a stamp of this program, so a new PGlite never copies an old one's files.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Set for the child: create the database in DATA_DIR, close it and exit. */
export const initOnlyVariable = 'PGLITE_INITDB_ONLY';

export class DataDirError extends Error {}

export type Made = 'existing' | 'created' | 'copied';

const isDatabase = (dir: string) => existsSync(path.join(dir, 'PG_VERSION'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function removeStale(dir: string): void {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  for (const stale of readdirSync(parent)) {
    if (stale.startsWith(`${base}.initdb-`) || stale.startsWith(`${base}.copy-`)) rmSync(path.join(parent, stale), { recursive: true, force: true });
  }
}

/** Runs initdb in a child process into a temporary folder, renamed to dir once complete (or into dir itself). */
async function initdbInto(dir: string, inPlace = false): Promise<void> {
  const tmp = inPlace ? dir : `${dir}.initdb-${process.pid}`;
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
    if (inPlace) for (const e of readdirSync(tmp)) rmSync(path.join(tmp, e), { recursive: true, force: true });
    else rmSync(tmp, { recursive: true, force: true });
    throw new Error(`initdb of ${dir} failed (exit ${code ?? 'by signal'}): ${stderr.trim() || 'no output'}`);
  }
  if (!inPlace) renameSync(tmp, dir);
}

/** Whether dir (absent, or an empty folder) can be made elsewhere and renamed into place. */
function replaceable(dir: string): boolean {
  const parent = path.dirname(dir);
  try {
    accessSync(parent, constants.W_OK);
  } catch {
    return false;
  }
  // A mount point (a volume) cannot be renamed over.
  return !existsSync(dir) || statSync(dir).dev === statSync(parent).dev;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** This program's stamp: a template made by another build of it is not used. */
function programStamp(): string {
  const s = statSync(process.argv[1]!);
  return createHash('sha256').update(`${process.argv[1]}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 12);
}

/** Makes the template unless it exists: one process at a time (a lock folder holding the maker's pid). */
async function ensureTemplate(templateDir: string, timeoutMs = 300_000): Promise<void> {
  const lock = `${templateDir}.lock`;
  const deadline = Date.now() + timeoutMs;
  while (!isDatabase(templateDir)) {
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner = NaN;
      try {
        owner = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
      } catch {
        // Just made, pid not written yet.
      }
      if (Number.isInteger(owner) && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`gave up waiting for ${lock} (held by pid ${owner})`);
      else await sleep(100);
      continue;
    }
    try {
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
      if (!isDatabase(templateDir)) {
        const parent = path.dirname(templateDir);
        const family = path.basename(templateDir).replace(/-[0-9a-f]+$/, '-');
        // Templates of earlier builds, and anything half-made: only the current one is kept.
        for (const old of readdirSync(parent)) {
          if (old.startsWith(family) && old !== path.basename(templateDir) && !old.endsWith('.lock')) rmSync(path.join(parent, old), { recursive: true, force: true });
        }
        await initdbInto(templateDir);
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/**
 * Makes dataDir a database unless it is one: by copying the template in templateBase (made first if need be),
 * or by initdb in a child process.
 */
export async function ensureDatabase(dataDir: string, templateBase?: string): Promise<Made> {
  if (isDatabase(dataDir)) return 'existing';
  if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
    throw new DataDirError(`DATA_DIR ${dataDir} holds files but no database (no PG_VERSION): move them away, or remove the folder to start empty`);
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  if (!replaceable(dataDir)) {
    await initdbInto(dataDir, true);
    return 'created';
  }
  removeStale(dataDir);
  if (existsSync(dataDir)) rmSync(dataDir, { recursive: true });
  if (!templateBase) {
    await initdbInto(dataDir);
    return 'created';
  }
  const templateDir = `${templateBase}-${programStamp()}`;
  mkdirSync(path.dirname(templateDir), { recursive: true });
  await ensureTemplate(templateDir);
  const tmp = `${dataDir}.copy-${process.pid}`;
  cpSync(templateDir, tmp, { recursive: true });
  renameSync(tmp, dataDir);
  return 'copied';
}
