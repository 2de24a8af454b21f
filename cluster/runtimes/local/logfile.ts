import { setTimeout as sleep } from 'node:timers/promises';
/**
 * Service logs: .dev/logs/<name>.log, appended to directly by the service (its stdout and stderr are the file,
 * so logging never depends on the daemon being alive). Bounded by copy-truncate rotation into <name>.log.1,
 * which the daemon checks periodically.
 */
import { closeSync, copyFileSync, existsSync, openSync, readSync, statSync, truncateSync } from 'node:fs';

export const maxLogBytes = 5 * 1024 * 1024;

/** Rotates file into file.1 when it has grown past maxBytes. Returns whether it rotated. */
export function rotateIfLarge(file: string, maxBytes = maxLogBytes): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  copyFileSync(file, `${file}.1`);
  // Writers use O_APPEND, so they continue at the new end.
  truncateSync(file, 0);
  return true;
}

function readRange(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The last n lines of a log (reaching into the rotated file when the current one is short). */
export function tailLines(file: string, n: number): string[] {
  if (n <= 0) return [];
  const lines: string[] = [];
  for (const f of [file, `${file}.1`]) {
    if (!existsSync(f)) continue;
    const size = statSync(f).size;
    // Read backwards in chunks until enough lines are in hand.
    let start = size;
    let text = '';
    while (start > 0 && text.split('\n').length <= n + 1) {
      const from = Math.max(0, start - 64 * 1024);
      text = readRange(f, from, start) + text;
      start = from;
    }
    let got = text.split('\n');
    if (got.at(-1) === '') got.pop();
    if (start > 0) got = got.slice(1); // the first line may be cut
    lines.unshift(...got.slice(-(n - lines.length)));
    if (lines.length >= n) break;
  }
  return lines.slice(-n);
}

export interface FollowOptions {
  tail?: number;
  follow?: boolean;
  signal?: AbortSignal;
  pollMs?: number;
}

/** Calls onLine for the last `tail` lines, then (with follow) for each new line until aborted. */
export async function readLog(file: string, onLine: (line: string) => void, opts: FollowOptions = {}): Promise<void> {
  const tail = opts.tail ?? Number.MAX_SAFE_INTEGER;
  const history = tail === Number.MAX_SAFE_INTEGER ? allLines(file) : tailLines(file, tail);
  for (const line of history) onLine(line);
  if (!opts.follow) return;
  let offset = existsSync(file) ? statSync(file).size : 0;
  let partial = '';
  const signal = opts.signal;
  while (!signal?.aborted) {
    // node's own abortable sleep: its abort listener goes away with each timer (no listener build-up).
    await sleep(opts.pollMs ?? 200, undefined, signal ? { signal } : {}).catch(() => undefined);
    if (signal?.aborted) break;
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      continue;
    }
    if (size < offset) {
      offset = 0; // rotated (copy-truncate) or replaced
      partial = '';
    }
    if (size === offset) continue;
    const chunk = partial + readRange(file, offset, size);
    offset = size;
    const parts = chunk.split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) onLine(line);
  }
}

function allLines(file: string): string[] {
  const out: string[] = [];
  for (const f of [`${file}.1`, file]) {
    if (!existsSync(f)) continue;
    const text = readRange(f, 0, statSync(f).size);
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    out.push(...lines);
  }
  return out;
}
