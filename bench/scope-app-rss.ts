/**
 * Scope app memory: RSS of the app (a child process, read from /proc/<pid>/status) idle, then while 10
 * probes each send a ~200-node report every 3 s and one browser-like client watches the processes
 * websocket. Goal: ≤ 60 MB.
 *
 *   npx tsx bench/scope-app-rss.ts     (SECONDS=60: how long the probes report; MODES=bundle,tsx: how the app runs;
 *                                      NODE_FLAGS='--max-semi-space-size=1 --max-old-space-size=64': V8 flags for the app)
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { freePort, waitFor } from '@saas/kit/testing';
import { encodeReport } from '../images/scope/src/report/index.ts';
import { buildWebAssets } from '../images/scope/src/app/web.ts';
import { countNodes, syntheticReport } from '../fixtures/reports/synthetic.ts';

const DURATION_S = Number(process.env.SECONDS ?? 60);
const PROBES = 10;
const INTERVAL_MS = 3000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

/** The RSS of the app's node process (the one running main.ts: `node --import tsx` has no wrapper). */
async function sample(pid: number, seconds: number, everyMs = 500): Promise<number[]> {
  const out: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    out.push(rssMB(pid));
    await sleep(everyMs);
  }
  return out;
}

const MODES = (process.env.MODES ?? 'bundle,tsx').split(',');
const here = path.dirname(fileURLToPath(import.meta.url));
const rows: [string, string, string][] = [];

/**
 * How the app is started: `bundle` as a service image runs it (esbuild bundle, plain node), `tsx` as in
 * development (node --import tsx, whose loader thread and compiler cost memory of their own).
 */
async function command(mode: string): Promise<{ args: string[]; env: Record<string, string> }> {
  if (mode === 'tsx') return { args: ['--import', 'tsx', path.join(here, '../images/scope/src/main.ts')], env: {} };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scope-app-bench-'));
  const entry = path.join(dir, 'entry.ts');
  await writeFile(entry, `import { runApp } from ${JSON.stringify(path.join(here, '../images/scope/src/app/main.ts'))};\nawait runApp();\n`);
  const out = path.join(dir, 'main.mjs');
  execFileSync(createRequire(import.meta.url).resolve('esbuild/bin/esbuild'), [
    entry, '--bundle', '--platform=node', '--format=esm', '--target=node20', `--outfile=${out}`, '--log-level=warning',
    "--banner:js=import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);",
  ]);
  const pageScript = path.join(dir, 'app.js');
  await writeFile(pageScript, (await buildWebAssets())['app.js']); // images ship the page script prebuilt
  return { args: [out], env: { SCOPE_WEB_DIR: path.join(here, '../images/scope/web'), SCOPE_WEB_BUNDLE: pageScript } };
}

async function measure(mode: string): Promise<void> {
  const port = await freePort();
  const { args, env } = await command(mode);
  const flags = (process.env.NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...args], {
    env: { ...process.env, ...env, SCOPE_ROLE: 'app', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  let probeTimers: NodeJS.Timeout[] = [];
  let ws: WebSocket | undefined;
  try {
    await waitFor('the app', async () => (await fetch(`${base}/healthz`)).ok, 30_000);
    const page = await fetch(`${base}/static/app.js`); // the map page bundle, as a first visit loads it
    if (!page.ok) throw new Error(`the map page script failed: ${page.status}`);
    await sleep(3000);
    const idle = await sample(child.pid!, 5);
    rows.push([`${mode}: idle (after start and one page load)`, `${median(idle).toFixed(1)} MB`, `${Math.max(...idle).toFixed(1)} MB`]);

    let sent = 0;
    let failed = 0;
    let nodes = 0;
    const send = async (i: number) => {
      const report = syntheticReport({ hosts: PROBES, processesPerHost: 65, onlyHost: i, now: Date.now(), id: String(Date.now() * 10 + i) });
      nodes = countNodes(report);
      const { body, headers } = encodeReport(report);
      const res = await fetch(`${base}/api/report`, { method: 'POST', body: Uint8Array.from(body), headers: { ...headers, 'X-Scope-Probe-ID': `probe-${i}` } });
      if (res.ok) sent++;
      else failed++;
    };
    for (let i = 0; i < PROBES; i++) {
      await sleep(INTERVAL_MS / PROBES); // spread the probes over the interval, as real ones drift
      void send(i);
      probeTimers.push(setInterval(() => void send(i), INTERVAL_MS));
    }
    let wsMessages = 0;
    ws = new WebSocket(`${base.replace('http', 'ws')}/api/topology/processes/ws`);
    ws.on('message', () => wsMessages++);

    const warmup = Math.min(20, Math.floor(DURATION_S / 3)); // the 15 s window fills up first
    await sleep(warmup * 1000);
    const loaded = await sample(child.pid!, DURATION_S - warmup);
    rows.push([`${mode}: ${PROBES} probes × ${nodes} nodes every ${INTERVAL_MS / 1000} s + 1 websocket viewer`, `${median(loaded).toFixed(1)} MB`, `${Math.max(...loaded).toFixed(1)} MB`]);
    const topo = (await (await fetch(`${base}/api/topology`)).json()) as { id: string; stats: { node_count: number } }[];
    console.log(
      `${mode}: ${DURATION_S} s of reporting, ${sent} reports accepted, ${failed} refused, ${wsMessages} websocket messages; processes view: ${topo.find((x) => x.id === 'processes')?.stats.node_count} nodes`,
    );
  } finally {
    for (const t of probeTimers) clearInterval(t);
    probeTimers = [];
    ws?.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

console.log(`Scope app RSS — the app as a child process, VmRSS from /proc/<pid>/status every 0.5 s; node flags: ${process.env.NODE_FLAGS || '(none)'}\n`);
for (const mode of MODES) await measure(mode);
console.log('');
const w0 = Math.max(...rows.map((r) => r[0].length));
console.log(`${'state'.padEnd(w0)}  median RSS  max RSS`);
console.log(`${'-'.repeat(w0)}  ----------  -------`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(10)}  ${c}`);
console.log('\ngoal: ≤ 60 MB');
