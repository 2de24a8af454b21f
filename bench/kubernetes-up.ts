/**
 * The kubernetes runtime on a real cluster (the test cluster by default): cold `dev up` to all ready, warm
 * `dev up` with nothing changed (goal ≤ 5 s, no image loaded, no object changed), one service's source
 * changed → its new pod ready (goal ≤ 10 s), and `dev down`. Wall clock of the real binary, medians of the
 * warm runs, the load average it ran under.
 *
 *   KUBECONFIG=/var/lib/saas-test-cluster/kubeconfig npx tsx bench/kubernetes-up.ts [--context saas-test] [--runs 3]
 *   npx tsx bench/kubernetes-up.ts --runtime kind        # with kind on PATH (here: the stand-in, see below)
 *
 * On this machine kind is the test double over the test cluster:
 *   PATH=$PWD/test/kind/stand-in:$PATH KIND_STAND_IN_DIR=$(mktemp -d) npx tsx bench/kubernetes-up.ts --runtime kind
 * (each stand-in call starts node + tsx, about 1 s, where kind's Go binary takes milliseconds).
 *
 * It runs in a temporary DEV_DIR, so it is its own checkout on the cluster; the source change it makes to
 * images/ui-server/src/main.ts (one statement) is undone before it ends.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'cli/bin/dev.js');
const { values } = parseArgs({ options: { runtime: { type: 'string', default: 'kubernetes' }, context: { type: 'string', default: 'saas-test' }, runs: { type: 'string', default: '3' } } });
if (values.runtime !== 'kubernetes' && values.runtime !== 'kind') throw new Error('--runtime is kubernetes or kind');
const upArgs = values.runtime === 'kind' ? ['up', '--runtime', 'kind'] : ['up', '--runtime', 'kubernetes', '--context', values.context ?? 'saas-test'];
const runs = Number(values.runs);

function dev(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const must = (r: { code: number | null; out: string }, what: string) => {
  if (r.code !== 0) {
    process.stderr.write(`${what} failed:\n${r.out}\n`);
    throw new Error(`${what} failed`);
  }
};
const loaded = (out: string) => Number(/loaded (\d+) image/.exec(out)?.[1] ?? 0);
const changedObjects = (out: string) => (/apply [^\n]*: unchanged \(/.test(out) ? 0 : Number(/apply [^\n]*\): (\d+) changed, \d+ unchanged/.exec(out)?.[1] ?? NaN));

const devDir = await mkdtemp(path.join(os.tmpdir(), 'dev-bench-k8s-'));
const env = { ...process.env, DEV_DIR: devDir, CI: 'true' };
const source = path.join(root, 'images/ui-server/src/main.ts');
const original = await readFile(source, 'utf8');
process.stdout.write(`runtime ${values.runtime}\n`);
process.stdout.write(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
try {
  const cold = await dev(upArgs, env);
  must(cold, 'cold dev up');
  process.stdout.write(`cold dev up: ${sec(cold.ms)} (${loaded(cold.out)} images loaded)\n`);

  const warm: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const r = await dev(['up'], env);
    must(r, 'warm dev up');
    warm.push(r.ms);
    process.stdout.write(`warm dev up ${i}: ${sec(r.ms)}, ${loaded(r.out)} images loaded, ${changedObjects(r.out)} objects changed\n`);
  }
  const w = median(warm);
  process.stdout.write(`warm dev up median ${sec(w)}: goal ≤ 5 s ${w <= 5000 ? 'met' : 'NOT met'}\n`);

  // A statement, not a comment: the bundler drops comments, and the image would not change.
  await writeFile(source, `${original}process.env.BENCH_CHANGE ??= '${Date.now()}';\n`);
  const changed = await dev(['up'], env);
  must(changed, 'dev up after a source change');
  process.stdout.write(`one service changed (ui-server) → its new pod ready: ${sec(changed.ms)} (${loaded(changed.out)} image loaded, ${changedObjects(changed.out)} object changed): goal ≤ 10 s ${changed.ms <= 10_000 ? 'met' : 'NOT met'}\n`);
} finally {
  await writeFile(source, original);
  const down = await dev(['down', '--wipe'], env);
  process.stdout.write(`dev down: ${sec(down.ms)}${down.code === 0 ? '' : ' (FAILED)'}\n`);
  await rm(devDir, { recursive: true, force: true });
  process.stdout.write(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
}
