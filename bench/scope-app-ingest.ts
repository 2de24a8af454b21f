/**
 * Scope app ingestion: how many 200-node reports a second one core decodes and merges, in-process and over
 * HTTP against the app running as a child process (as the scope image runs it: MODE=bundle; or app-bundle, tsx —
 * see scope-app-common.ts). Goal: ≥ 500 reports/s on one core, so measured as reports per CPU-second: the
 * machine is shared, and wall-clock rates say as much about the other work on it as about the app.
 *
 *   npx tsx bench/scope-app-ingest.ts            (ROUNDS=5 OPS=1000 HTTP_OPS=1000 MODE=bundle NODE_FLAGS=… to change)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { freePort, waitFor } from '@saas/kit/testing';
import { decodeReport, encodeReport } from '../images/scope/src/report/index.ts';
import { ReportStore } from '../images/scope/src/app/store.ts';
import { Views } from '../images/scope/src/app/views.ts';
import { countNodes, syntheticReport } from '../fixtures/reports/synthetic.ts';
import { appCommand, loadAverage, median, nodeFlags, printTable } from './scope-app-common.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const OPS = Number(process.env.OPS ?? 1000);
const HTTP_OPS = Number(process.env.HTTP_OPS ?? 1000);
const PROBES = 10;

const MODE = process.env.MODE ?? 'bundle';
const GOAL = 500; // reports/s of 200 nodes on one core

/**
 * Ten probes, one host each, ~200 nodes per report, every 3 s: report i comes from probe i % 10, made at
 * start + i × 300 ms, so every report carries newer timestamps than the last of its probe, as live ones do
 * (the same bytes over and over would merge as no change). `count` reports from `start`.
 */
const series = (start: number, count: number, encoding: 'msgpack' | 'json' = 'msgpack') =>
  Array.from({ length: count }, (_, i) => encodeReport(syntheticReport({ hosts: PROBES, processesPerHost: 65, onlyHost: i % PROBES, now: start + i * 300 }), { encoding }).body);
const T0 = Date.now();
const nodes = countNodes(syntheticReport({ hosts: PROBES, processesPerHost: 65, onlyHost: 0, now: T0 }));
const msgpack = series(T0, OPS);
const json = series(T0, OPS, 'json');
const rows: string[][] = [['measure', 'goal', 'CPU time (median)', 'met', 'CPU per report', 'wall clock', 'load while measuring']];
const rateRow = (name: string, wallRates: number[], cpuRates: number[], goal = true) =>
  rows.push([
    name,
    goal ? `≥ ${GOAL}/CPU-s` : '',
    `${Math.round(median(cpuRates))} reports/CPU-s`,
    goal ? (median(cpuRates) >= GOAL ? 'yes' : 'NO') : '',
    `${(1000 / median(cpuRates)).toFixed(2)} ms`,
    `${Math.round(median(wallRates))} reports/s`,
    loadAverage(),
  ]);

function inProcess(name: string, bodies: Buffer[], withMerge: boolean, goal: boolean): void {
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let now = Date.now();
    const store = new ReportStore({ now: () => now });
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) {
      const r = decodeReport(bodies[i % bodies.length]!);
      if (withMerge) {
        store.add(`probe-${i % PROBES}`, r);
        now += 300; // 10 probes every 3 s
        if (i % 10 === 9) store.prune();
      }
    }
    if (withMerge) store.report();
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    rates.push(OPS / s);
    cpuRates.push(OPS / ((cpu.user + cpu.system) / 1e6));
  }
  rateRow(name, rates, cpuRates, goal);
}

function renderCost(): void {
  const store = new ReportStore();
  for (let i = 0; i < PROBES; i++) store.add(`probe-${i}`, decodeReport(msgpack[i]!));
  const views = new Views(store);
  const times: number[] = [];
  for (let round = 0; round < ROUNDS * 4; round++) {
    store.version++; // as if a report arrived
    const start = process.hrtime.bigint();
    views.get('processes');
    views.get('hosts');
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  rows.push([`render processes+hosts of ${PROBES} probes (${countNodes(store.report())} nodes merged), per change, ≤ 1/s`, '', '', '', `${median(times).toFixed(1)} ms`, '', loadAverage()]);
}

/** CPU time (user + system) a process has used, from /proc/<pid>/stat. */
function childCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function overHttp(): Promise<void> {
  const port = await freePort();
  const { args, env } = await appCommand(MODE);
  const child = spawn(process.execPath, [...nodeFlags(), ...args], {
    env: { ...process.env, ...env, SCOPE_ROLE: 'app', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the app', async () => (await fetch(`${base}/healthz`)).ok, 30_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const post = (body: Buffer, i: number) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, path: '/api/report', method: 'POST', agent, headers: { 'Content-Type': 'application/msgpack', 'Content-Encoding': 'gzip', 'X-Scope-Probe-ID': `probe-${i % PROBES}`, 'Content-Length': body.length } },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const rates: number[] = [];
    const cpuRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const bodies = series(T0 + round * HTTP_OPS * 300, HTTP_OPS); // each round later than the last
      let next = 0;
      const cpu0 = childCpuSeconds(child.pid!);
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < HTTP_OPS) {
            const i = next++;
            await post(bodies[i]!, i);
          }
        }),
      );
      rates.push(HTTP_OPS / (Number(process.hrtime.bigint() - start) / 1e9));
      cpuRates.push(HTTP_OPS / (childCpuSeconds(child.pid!) - cpu0));
    }
    agent.destroy();
    rateRow(`over HTTP (app: ${MODE}${nodeFlags().length ? ` ${nodeFlags().join(' ')}` : ''}): POST /api/report, gzip msgpack, 4 connections`, rates, cpuRates);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

console.log(`Scope app ingest — reports of ${nodes} nodes (${msgpack[0]!.length} B gzip msgpack, ${json[0]!.length} B gzip JSON); median of ${ROUNDS} rounds\n`);
inProcess('in-process: decode gzip msgpack', msgpack, false, false);
inProcess('in-process: decode gzip msgpack + merge into the store (10 probes, 15 s window)', msgpack, true, true);
inProcess('in-process: decode gzip JSON + merge into the store', json, true, false);
renderCost();
await overHttp();

console.log('');
printTable(rows);
console.log(`\ngoal: ≥ ${GOAL} reports/s of 200 nodes on one core, i.e. ≥ ${GOAL} per CPU-second (the over-HTTP row is the one that counts).`);
console.log('Wall clock suffers from other work on the shared machine; CPU time is what one core spends.');
