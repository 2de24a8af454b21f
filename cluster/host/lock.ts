/**
 * One `dev up` / `dev down` at a time per dev folder: a lock file created exclusively, holding the owner's pid
 * and start time. A lock whose owner is gone (or whose pid now belongs to another process) is stale and taken over.
 */
import { mkdirSync, openSync, closeSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { cmdline, isAlive, readStat } from './procfs.ts';

export interface LockOwner {
  pid: number;
  startTime: number;
  operation: string;
  command: string;
  since: number;
}

export class LockedError extends Error {
  constructor(readonly owner: LockOwner) {
    super(`another \`dev ${owner.operation}\` is running (pid ${owner.pid}, since ${new Date(owner.since).toISOString()})`);
    this.name = 'LockedError';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}

function ownerAlive(o: LockOwner): boolean {
  return isAlive(o.pid) && readStat(o.pid)?.startTime === o.startTime;
}

/** Takes the lock or throws LockedError naming its live holder. Returns the release function. */
export function acquireLock(file: string, operation: string): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const me: LockOwner = { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0, operation, command: cmdline(process.pid), since: Date.now() };
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = readOwner(file);
      if (owner && ownerAlive(owner)) throw new LockedError(owner);
      // Half-written by a starting owner: give it a moment before calling it stale.
      if (!owner && attempt < 2) {
        const until = Date.now() + 100;
        while (Date.now() < until) {
          /* spin briefly: this is a rare path */
        }
        continue;
      }
      try {
        unlinkSync(file);
      } catch {
        // someone else removed it first; retry
      }
      continue;
    }
    writeSync(fd, JSON.stringify(me));
    closeSync(fd);
    return () => {
      const owner = readOwner(file);
      if (owner?.pid === me.pid && owner.startTime === me.startTime) {
        try {
          unlinkSync(file);
        } catch {
          // already gone
        }
      }
    };
  }
  throw new Error(`cannot take the lock ${file}: it keeps changing; is another dev running?`);
}
