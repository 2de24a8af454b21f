/**
 * Scope app ingestion: how many 200-node reports a second one core decodes and merges, in-process and over
 * HTTP against the app running as a child process. Goal: ≥ 500 reports/s.
 *
 *   npx tsx bench/scope-app-ingest.ts            (ROUNDS=5 OPS=1000 HTTP_OPS=1000 to change)
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
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
const rows: [string, string, string][] = [];

function inProcess(name: string, bodies: Buffer[], withMerge: boolean): void {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let now = Date.now();
    const store = new ReportStore({ now: () => now });
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
    rates.push(OPS / s);
  }
  rows.push([name, `${Math.round(median(rates))} reports/s`, `${(1000 / median(rates)).toFixed(2)} ms/report`]);
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
  rows.push([`render processes+hosts of ${PROBES} probes (${countNodes(store.report())} nodes merged)`, `${median(times).toFixed(1)} ms`, 'per change, at most once a second']);
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
    for (let round = 0; round < ROUNDS; round++) {
      let next = 0;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < HTTP_OPS) await post(next++);
        }),
      );
      rates.push(HTTP_OPS / (Number(process.hrtime.bigint() - start) / 1e9));
    }
    agent.destroy();
    rows.push([`over HTTP: POST /api/report, gzip msgpack, 4 connections (app in a child process)`, `${Math.round(median(rates))} reports/s`, `${(1000 / median(rates)).toFixed(2)} ms/report`]);
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

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`${'measure'.padEnd(w0)}  ${'median'.padEnd(w1)}  per report`);
console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  ${'-'.repeat(20)}`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
console.log('\ngoal: ≥ 500 reports/s of 200 nodes on one core');
