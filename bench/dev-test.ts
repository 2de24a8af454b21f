/**
 * `dev test` on a running system: the median of a few runs (goal ≤ 5 s), wall clock of the real binary
 * and the flow's own duration, with the slowest step of each run.
 *
 *   npx tsx bench/dev-test.ts [--runs N]
 *
 * Uses the system DEV_DIR points at (default .dev). When nothing runs there, it brings one up in a temporary
 * folder first and takes it down afterwards (that `dev up` is not measured).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SmokeResult } from '../cluster/smoke/flow.ts';

const bin = fileURLToPath(new URL('../cli/bin/dev.js', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Number(values.runs);

function dev(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

let env: NodeJS.ProcessEnv = { ...process.env };
let tempDir: string | undefined;
const probe = await dev(['status', '--json'], env);
const running = probe.code === 0 && (JSON.parse(probe.stdout) as { endpoints: unknown }).endpoints !== null;
if (!running) {
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'dev-bench-'));
  env = { ...env, DEV_DIR: tempDir };
  process.stdout.write(`nothing running; dev up in ${tempDir} (not measured)…\n`);
  const up = await dev(['up'], env);
  if (up.code !== 0) {
    process.stderr.write(up.stdout + up.stderr);
    process.exit(1);
  }
}

const walls: number[] = [];
const flows: number[] = [];
try {
  for (let i = 1; i <= runs; i++) {
    const t0 = performance.now();
    const r = await dev(['test', '--json'], env);
    const wall = performance.now() - t0;
    const result = JSON.parse(r.stdout) as SmokeResult;
    if (r.code !== 0 || !result.ok) {
      process.stderr.write(`run ${i} failed:\n${r.stderr}\n`);
      process.exitCode = 1;
      break;
    }
    walls.push(wall);
    flows.push(result.durationMs);
    const slowest = [...result.steps].sort((a, b) => b.durationMs - a.durationMs)[0]!;
    process.stdout.write(`run ${i}: dev test ${sec(wall)} (flow ${sec(result.durationMs)}; slowest step "${slowest.title}" ${sec(slowest.durationMs)})\n`);
  }
} finally {
  if (tempDir) {
    await dev(['down', '--wipe'], env);
    await rm(tempDir, { recursive: true, force: true });
  }
}

if (walls.length) {
  const m = median(walls);
  process.stdout.write(
    `\ndev test, ${walls.length} runs on a running system: median ${sec(m)} wall (min ${sec(Math.min(...walls))}, max ${sec(Math.max(...walls))}); ` +
      `flow alone median ${sec(median(flows))}. Goal ≤ 5 s: ${m <= 5000 ? 'met' : 'NOT met'}.\n` +
      `(load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} CPUs: figures stretch with it)\n`,
  );
}
