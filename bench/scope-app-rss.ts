/**
 * Scope app memory: RSS of the app (a child process, read from /proc/<pid>/status) idle, then while 10
 * probes each send a ~200-node report every 3 s and one browser-like client watches the processes
 * websocket. Goal: ≤ 60 MB.
 *
 *   npx tsx bench/scope-app-rss.ts     (SECONDS=60: how long the probes report; MODES=bundle,app-bundle,tsx: how the app
 *                                      runs, see scope-app-common.ts; NODE_FLAGS='--max-old-space-size=64': node flags for
 *                                      the app; SCOPE_APP_YOUNG_GEN=default: without the app's own young-generation limit;
 *                                      WATCH=0: no websocket viewer; the app inherits the environment, e.g. MALLOC_ARENA_MAX=1)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';
import { freePort, waitFor } from '@saas/kit/testing';
import { encodeReport } from '../images/scope/src/report/index.ts';
import { countNodes, syntheticReport } from '../fixtures/reports/synthetic.ts';
import { appCommand, loadAverage, median, nodeFlags, printTable } from './scope-app-common.ts';

const DURATION_S = Number(process.env.SECONDS ?? 60);
const PROBES = 10;
const INTERVAL_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  rss: number;
  /** resident anonymous memory: the process's own (heap, malloc, stacks) */
  anon: number;
  /** resident file pages: mostly the node binary's code and data, shared by every node process on the host */
  file: number;
}

function memMB(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') + kb('RssShmem') };
}

/** The memory of the app's node process (the one running main.ts: `node --import tsx` has no wrapper). */
async function sample(pid: number, seconds: number, everyMs = 500): Promise<Sample[]> {
  const out: Sample[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    out.push(memMB(pid));
    await sleep(everyMs);
  }
  return out;
}

/** WATCH=0: no websocket viewer (to tell the cost of reports from that of rendering) */
const WATCH = process.env.WATCH !== '0';
const MODES = (process.env.MODES ?? 'bundle,app-bundle,tsx').split(',');
const GOAL_MB = 60;
const rows: string[][] = [['app started as', 'state', 'goal', 'median RSS', 'max RSS', 'met', 'of which anon / file', 'load while measuring']];
const row = (mode: string, state: string, samples: Sample[]) => {
  const xs = samples.map((x) => x.rss);
  const anon = median(samples.map((x) => x.anon));
  const file = median(samples.map((x) => x.file));
  rows.push([mode, state, `≤ ${GOAL_MB} MB`, `${median(xs).toFixed(1)} MB`, `${Math.max(...xs).toFixed(1)} MB`, median(xs) <= GOAL_MB ? 'yes' : 'NO', `${anon.toFixed(1)} / ${file.toFixed(1)} MB`, loadAverage()]);
};

async function measure(mode: string): Promise<void> {
  const port = await freePort();
  const { args, env } = await appCommand(mode);
  const child = spawn(process.execPath, [...nodeFlags(), ...args], {
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
    row(mode, 'idle (after start and one page load)', idle);

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
    if (WATCH) {
      ws = new WebSocket(`${base.replace('http', 'ws')}/api/topology/processes/ws`);
      ws.on('message', () => wsMessages++);
    }

    const warmup = Math.min(20, Math.floor(DURATION_S / 3)); // the 15 s window fills up first
    await sleep(warmup * 1000);
    const loaded = await sample(child.pid!, DURATION_S - warmup);
    row(mode, `${PROBES} probes × ${nodes} nodes every ${INTERVAL_MS / 1000} s${WATCH ? ' + 1 websocket viewer' : ', no viewer'}`, loaded);
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

console.log(`Scope app RSS — the app as a child process, VmRSS from /proc/<pid>/status every 0.5 s; node flags: ${nodeFlags().join(' ') || '(none)'}; young generation: ${process.env.SCOPE_APP_YOUNG_GEN === 'default' ? "V8's default" : "the app's limit"}\n`);
for (const mode of MODES) await measure(mode);
console.log('');
printTable(rows);
console.log(`\ngoal: RSS ≤ ${GOAL_MB} MB idle and under 10 probes; the scope image runs \`bundle\`, the local runtime \`app-bundle\``);
console.log("anon: the process's own memory (V8 heap, malloc, stacks); file: resident pages of the node binary and libraries, shared with every node process on the host");
