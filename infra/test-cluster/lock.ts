/** One `up`, `down` or `load` at a time on this machine: a lock file holding the holder's pid. */
import { openSync, closeSync, writeSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_FILE } from './layout.ts';
import { processStartTime } from './processes.ts';

function holder(): number | undefined {
  try {
    const pid = Number(readFileSync(LOCK_FILE, 'utf8').trim());
    return processStartTime(pid) !== undefined ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function withLock<T>(say: (line: string) => void, body: () => Promise<T>, timeoutMs = 20 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(LOCK_FILE, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = holder();
      if (pid === undefined) {
        rmSync(LOCK_FILE, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another npm run k8s (pid ${pid}) still holds ${LOCK_FILE}`);
      if (!told) say(`waiting for another npm run k8s (pid ${pid}) to finish`);
      told = true;
      await sleep(500);
    }
  }
  try {
    return await body();
  } finally {
    rmSync(LOCK_FILE, { force: true });
  }
}
