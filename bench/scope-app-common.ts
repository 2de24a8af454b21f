/**
 * What the Scope app benches share: how the app is started (as production runs it, or under tsx), medians,
 * and the machine's load (it is shared: wall-clock figures suffer from other work, CPU time much less).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService } from '../cluster/images/bundle.ts';
import { buildWebAssets } from '../images/scope/src/app/web.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export const loadAverage = (): string => `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores`;

/** The app's node flags for the benches: NODE_FLAGS='--max-semi-space-size=2 …' (default none). */
export const nodeFlags = (): string[] => (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);

/**
 * How the app is started:
 * - `bundle`: as the scope image runs it — cluster/images' esbuild bundle of images/scope/src/main.ts (app
 *   and probe in one file) under plain node;
 * - `app-bundle`: the same bundling of the app alone (images/scope/src/app/run.ts);
 * - `tsx`: as in development and the process provisioner (node --import tsx images/scope/src/main.ts).
 */
export async function appCommand(mode: string): Promise<{ args: string[]; env: Record<string, string> }> {
  const root = path.join(here, '..');
  if (mode === 'tsx') return { args: ['--import', 'tsx', path.join(root, 'images/scope/src/main.ts')], env: {} };
  if (mode !== 'bundle' && mode !== 'app-bundle') throw new Error(`mode ${mode}: bundle, app-bundle or tsx`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scope-app-bench-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'main.mjs');
  // the bundle exactly as cluster/images makes it for the image (`dev build`), in a folder of its own
  const entry = mode === 'bundle' ? 'images/scope/src/main.ts' : 'images/scope/src/app/run.ts';
  const bundle = await bundleService({ root, entry, splitting: true });
  await writeFile(out, bundle.code);
  for (const c of bundle.chunks) await writeFile(path.join(dir, c.name), c.code);
  const pageScript = path.join(dir, 'app.js');
  await writeFile(pageScript, (await buildWebAssets())['app.js']); // images ship the page script prebuilt
  return { args: [out], env: { SCOPE_WEB_DIR: path.join(root, 'images/scope/web'), SCOPE_WEB_BUNDLE: pageScript } };
}

/** Prints rows as a table, first row the heading. */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line(rows[0]!));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows.slice(1)) console.log(line(r));
}
