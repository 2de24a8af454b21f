/**
 * The local runtime's figures: first `up` on an empty dev folder (bundles, PGlite initdb), cold `up` (no
 * supervisor running, data and bundles kept) to all ready, warm `up` with nothing changed, and the whole
 * system's memory: every process of it (the services, the supervisor and, after a `dev test` flow, the
 * organisation's Scope app). Also cold `up` with the services run through tsx instead of esbuild bundles,
 * the choice the runtime makes by default.
 *
 * Memory is the system's resident set: each page counted once, i.e. the sum of the processes' PSS
 * (/proc/<pid>/smaps_rollup), in which the ~44 MB of node's own code that every process maps is shared out
 * among them. The sum of the processes' RSS counts those pages once per process; it is printed too.
 *
 *   node --import tsx bench/local-up.ts [--runs 3]
 *
 * Goals: cold ≤ 3 s, warm ≤ 1 s, RSS ≤ 400 MB. It uses a temporary dev folder and a free frontend port, so a
 * running `dev up` in this checkout is not disturbed. Numbers depend on the machine's load: the load average is
 * printed with them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '@saas/kit/testing';
import type { EngineEvent } from '../cluster/events.ts';
import { loadManifests } from '../cluster/manifests/load.ts';
import { preloadProbe, runSmoke } from '../cluster/smoke/flow.ts';
import { cmdline, markedProcesses } from '../cluster/host/procfs.ts';
import { createRuntime } from '../cluster/runtimes/index.ts';
import { readJson } from '../cluster/host/fsutil.ts';
import type { LocalState } from '../cluster/runtimes/local/types.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Math.max(1, Number(values.runs));
const projectDir = path.resolve(import.meta.dirname, '..');
const devDir = mkdtempSync(path.join(tmpdir(), 'bench-local-'));
const runtime = createRuntime('local', { projectDir, devDir, frontendPort: await freePort() });
const manifests = await loadManifests(path.join(projectDir, 'manifests/local'));

const quiet = (e: EngineEvent) => {
  if (e.type === 'failed') process.stderr.write(`failed ${e.step}: ${e.diagnosis.summary}\n`);
};
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
const up = () => runtime.up({ manifests, emit: quiet, timeoutMs: 300_000 });
const down = (wipe = false) => runtime.down({ emit: quiet, wipe });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${Math.round(x)} ms`;

function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size: shared pages (node's own code, libraries) counted once across the processes sharing them. */
function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Every process of the system, named by service, PSS and RSS in MB: the services and the supervisor carry the
 * dev folder's marker; per-org Scope apps (app-mapper gives them a clean environment) run its scope-app bundle. */
function memory(): { pss: number; rss: number; processes: Record<string, { pss: number; rss: number }> } {
  const state = readJson<LocalState>(path.join(devDir, 'state/local.json'))!;
  const names = new Map<number, string>(Object.values(state.services).map((s) => [s.pid!, s.name]));
  names.set(state.daemon!.pid, 'supervisor');
  const processes: Record<string, { pss: number; rss: number }> = {};
  const appBundle = path.join(devDir, 'build', 'scope-app.mjs');
  const apps = readdirSync('/proc').filter((p) => /^\d+$/.test(p) && cmdline(Number(p)).includes(appBundle)).map(Number);
  for (const pid of [...markedProcesses(devDir), ...apps]) {
    const name = names.get(pid) ?? (apps.includes(pid) ? `scope-app ${pid}` : `other ${pid}`);
    processes[name] = { pss: Math.round(pssKb(pid) / 1024), rss: Math.round(rssKb(pid) / 1024) };
  }
  const sum = (k: 'pss' | 'rss') => Object.values(processes).reduce((a, p) => a + p[k], 0);
  return { pss: sum('pss'), rss: sum('rss'), processes };
}

const results: Record<string, unknown> = { load: loadavg().map((x) => Number(x.toFixed(2))) };
try {
  results.firstUpMs = Math.round(await timed(up));

  const cold: number[] = [];
  for (let i = 0; i < runs; i++) {
    await down();
    cold.push(await timed(up));
  }
  results.coldUpMs = cold.map(Math.round);

  const warm: number[] = [];
  for (let i = 0; i < Math.max(runs, 5); i++) warm.push(await timed(up));
  results.warmUpMs = warm.map(Math.round);

  await new Promise((r) => setTimeout(r, 3000)); // let start-up garbage settle
  const afterUp = memory();
  preloadProbe();
  const status = await runtime.status();
  const flow = await runSmoke({ endpoints: status.endpoints!, emit: () => undefined, logs: async () => [] });
  if (!flow.ok) throw new Error(`dev test flow failed at ${flow.failure?.title}: ${flow.failure?.diagnosis.summary}`);
  await new Promise((r) => setTimeout(r, 3000));
  const afterTest = memory();
  results.memoryMb = { afterUp, afterTest };

  process.env.DEV_LOCAL_EXEC = 'tsx';
  const tsx: number[] = [];
  for (let i = 0; i < runs; i++) {
    await down();
    tsx.push(await timed(up));
  }
  delete process.env.DEV_LOCAL_EXEC;
  results.coldUpTsxMs = tsx.map(Math.round);

  const perProcess = (m: ReturnType<typeof memory>) =>
    Object.entries(m.processes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k} ${v.pss}/${v.rss}`)
      .join(', ') + ' (PSS/RSS MB)';
  const c = median(cold);
  const w = median(warm);
  const t = median(tsx);
  process.stdout.write(
    [
      `local runtime (load average ${(results.load as number[]).join(' ')})`,
      `  first up (empty .dev: bundles, PGlite initdb)  ${ms(results.firstUpMs as number)}`,
      `  cold up to all ready (median of ${runs})           ${ms(c)}   goal ≤ 3000 ms ${c <= 3000 ? 'met' : 'MISSED'}`,
      `  warm up, nothing changed (median of ${warm.length})     ${ms(w)}   goal ≤ 1000 ms ${w <= 1000 ? 'met' : 'MISSED'}`,
      `  whole-system memory after up (each page once)  ${afterUp.pss} MB   goal ≤ 400 MB ${afterUp.pss <= 400 ? 'met' : 'MISSED'}   (sum of per-process RSS ${afterUp.rss} MB)`,
      `    ${perProcess(afterUp)}`,
      `  … after a dev test flow (+ the org's Scope app) ${afterTest.pss} MB   goal ≤ 400 MB ${afterTest.pss <= 400 ? 'met' : 'MISSED'}   (sum of per-process RSS ${afterTest.rss} MB)`,
      `    ${perProcess(afterTest)}`,
      `  cold up with services run through tsx (median) ${ms(t)}   (bundles are ${t > c ? 'faster' : 'not faster'}: ${ms(t - c)} difference)`,
      '',
      JSON.stringify(results),
      '',
    ].join('\n'),
  );
} finally {
  await down(true).catch(() => undefined);
  rmSync(devDir, { recursive: true, force: true });
}
