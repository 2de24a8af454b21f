import test from 'ava';
import { getEventListeners } from 'node:events';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@saas/kit/testing';
import { readLog, rotateIfLarge, tailLines } from '../../cluster/runtimes/local/logfile.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'logs-'));
const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

test('tailLines returns the last n lines, reaching into the rotated file when needed', (t) => {
  const file = path.join(dir, 'a.log');
  writeFileSync(`${file}.1`, `${lines(1, 5).join('\n')}\n`);
  writeFileSync(file, `${lines(6, 8).join('\n')}\n`);
  t.deepEqual(tailLines(file, 2), ['line 7', 'line 8']);
  t.deepEqual(tailLines(file, 5), lines(4, 8));
  t.deepEqual(tailLines(file, 100), lines(1, 8));
  t.deepEqual(tailLines(path.join(dir, 'missing.log'), 3), []);
});

test('tailLines reads only the end of a large file and never returns a cut line', (t) => {
  const file = path.join(dir, 'big.log');
  writeFileSync(file, `${lines(1, 20_000).join('\n')}\n`);
  t.deepEqual(tailLines(file, 3), lines(19_998, 20_000));
});

test('rotation is bounded: past the limit the log moves to .1 and starts empty; a follower keeps up across it', async (t) => {
  const file = path.join(dir, 'svc.log');
  writeFileSync(file, `${lines(1, 3).join('\n')}\n`);
  const seen: string[] = [];
  const ac = new AbortController();
  const following = readLog(file, (l) => seen.push(l), { tail: 1, follow: true, signal: ac.signal, pollMs: 20 });
  t.deepEqual(seen, ['line 3']);
  appendFileSync(file, 'line 4\n');
  await waitFor('line 4', async () => seen.includes('line 4'), 5000, 10);
  t.false(rotateIfLarge(file, 1024), 'small files stay');
  appendFileSync(file, `${'x'.repeat(2000)}\n`);
  await waitFor('the long line', async () => seen.length === 3, 5000, 10);
  t.true(rotateIfLarge(file, 1024));
  t.is(statSync(file).size, 0);
  t.true(readFileSync(`${file}.1`, 'utf8').includes('line 4'));
  appendFileSync(file, 'line 5 after rotation\n');
  await waitFor('the line after rotation', async () => seen.includes('line 5 after rotation'), 5000, 10);
  ac.abort();
  await following;
  t.true(existsSync(`${file}.1`));
});

test('following a log for many polls leaves at most one abort listener on the signal (no MaxListeners leak)', async (t) => {
  const file = path.join(dir, 'follow.log');
  writeFileSync(file, 'a\n');
  const ac = new AbortController();
  const following = readLog(file, () => undefined, { follow: true, signal: ac.signal, pollMs: 5 });
  await new Promise((r) => setTimeout(r, 300));
  t.true(getEventListeners(ac.signal, 'abort').length <= 1, `${getEventListeners(ac.signal, 'abort').length} listeners`);
  ac.abort();
  await following;
  rmSync(file, { force: true });
});
