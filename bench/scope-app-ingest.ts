/**
 * Scope app ingestion: how many 200-node reports a second one core decodes and merges, in-process and over
 * HTTP against the app running as a child process. Goal: ≥ 500 reports/s.
 *
 *   npx tsx bench/scope-app-ingest.ts            (ROUNDS=5 OPS=1000 HTTP_OPS=1000 to change)
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@saas/kit/testing';
import { decodeReport, encodeReport } from '../images/scope/src/report/index.ts';
import { ReportStore } from '../images/scope/src/app/store.ts';
import { Views } from '../images/scope/src/app/views.ts';
import { countNodes, syntheticReport } from '../fixtures/reports/synthetic.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 5);
const OPS = Number(process.env.OPS ?? 1000);
const HTTP_OPS = Number(process.env.HTTP_OPS ?? 1000);
const PROBES = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ten probes, one host each, ~200 nodes per report
const reports = Array.from({ length: PROBES }, (_, i) => syntheticReport({ hosts: PROBES, processesPerHost: 65, onlyHost: i, now: Date.now() }));
const nodes = countNodes(reports[0]!);
const msgpack = reports.map((r) => encodeReport(r).body);
const json = reports.map((r) => encodeReport(r, { encoding: 'json' }).body);
const rows: [string, string, string, string][] = [];

function inProcess(name: string, bodies: Buffer[], withMerge: boolean): void {
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let now = Date.now();
    const store = new ReportStore({ now: () => now });
    const cpu0 = process.cpuUsage();
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) {
      const r = decodeReport(bodies[i % PROBES]!);
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
  rows.push([name, `${Math.round(median(rates))} reports/s`, `${Math.round(median(cpuRates))} reports/CPU-s`, `${(1000 / median(cpuRates)).toFixed(2)} ms`]);
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
  rows.push([`render processes+hosts of ${PROBES} probes (${countNodes(store.report())} nodes merged), per change, ≤ 1/s`, `${median(times).toFixed(1)} ms`, '', '']);
}

/** CPU time (user + system) a process has used, from /proc/<pid>/stat. */
function childCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function overHttp(): Promise<void> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../images/scope/src/main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, SCOPE_ROLE: 'app', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the app', async () => (await fetch(`${base}/healthz`)).ok, 30_000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const post = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const body = msgpack[i % PROBES]!;
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
      let next = 0;
      const cpu0 = childCpuSeconds(child.pid!);
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < HTTP_OPS) await post(next++);
        }),
      );
      rates.push(HTTP_OPS / (Number(process.hrtime.bigint() - start) / 1e9));
      cpuRates.push(HTTP_OPS / (childCpuSeconds(child.pid!) - cpu0));
    }
    agent.destroy();
    rows.push([`over HTTP: POST /api/report, gzip msgpack, 4 connections (app in a child process)`, `${Math.round(median(rates))} reports/s`, `${Math.round(median(cpuRates))} reports/CPU-s`, `${(1000 / median(cpuRates)).toFixed(2)} ms`]);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

console.log(`Scope app ingest — reports of ${nodes} nodes (${msgpack[0]!.length} B gzip msgpack, ${json[0]!.length} B gzip JSON); median of ${ROUNDS} rounds\n`);
inProcess('decode gzip msgpack', msgpack, false);
inProcess('decode gzip msgpack + merge into the store (10 probes, 15 s window)', msgpack, true);
inProcess('decode gzip JSON + merge into the store', json, true);
renderCost();
await overHttp();

const head = ['measure', 'wall clock', 'CPU time', 'CPU per report'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(line(head));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
console.log(`\nload average while measuring: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores (wall clock suffers from other work on the machine; CPU time is what one core spends)`);
console.log('goal: ≥ 500 reports/s of 200 nodes on one core');
