/**
 * Report throughput through app-mapper (and frontend → app-mapper) against straight to the org's Scope app.
 *
 *   npx tsx bench/proxy-throughput.ts
 *
 * One run: the real users service (lookups cached by app-mapper), app-mapper and the frontend as their own
 * processes, the org's real Scope app started by app-mapper's process provisioner. Each round POSTs a 200-node
 * gzip msgpack report (as a probe sends it) from CONCURRENCY keep-alive connections for SECONDS to each
 * target in turn; the figures are medians over ROUNDS. Goals: app-mapper ≥ 0.7× direct, and frontend → app-mapper
 * (the probes' real path) ≥ 0.7× direct too. Throughput swings with the machine's load; the CPU ms per request
 * of each process is the steadier figure of what a hop costs.
 *
 * Env: BENCH_CONCURRENCY (16), BENCH_SECONDS (4), BENCH_ROUNDS (3), BENCH_NODES (200), BENCH_LOG_LEVEL (info:
 * what the services log by default, so the logging cost is in the figures), BENCH_MAPPER_NODE_ARGS and
 * BENCH_FRONTEND_NODE_ARGS (extra node flags, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`), BENCH_FRONTEND_MAIN (the
 * frontend entry to run, default this tree's: point it at another checkout's to compare two frontends alone).
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { probeAuthorization } from '@saas/kit/contracts';
import { createPostgresDatabase, startMaildev, startPgliteServer, type TestDatabase } from '@saas/kit/testing';
import { encodeReport } from '../images/scope/src/report/index.ts';
import { countNodes, reportOfSize } from '../fixtures/reports/synthetic.ts';
import { createOrg, readRecord, startAppMapper, startUsers, tempDir, untilReady, raw } from '../test/app-mapper/helpers.ts';
import { cpuMs, postReport, startFrontendProcess } from './stack-common.ts';

const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const seconds = Number(process.env.BENCH_SECONDS ?? 4);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const nodes = Number(process.env.BENCH_NODES ?? 200);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';

interface Target {
  name: string;
  url: string;
  headers: Record<string, string>;
}

interface RoundResult {
  /** CPU time per successful request, by process (ms): what the proxy hop costs, whatever the machine's load. */
  cpuMsPerRequest?: Record<string, number>;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
}

/** CONCURRENCY workers, each POSTing back to back on its own keep-alive connection, for `seconds`. */
async function load(target: Target, body: Buffer, durationMs: number): Promise<RoundResult> {
  const u = new URL(target.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const post = (worker: number) => postReport(u, agent, { ...target.headers, 'x-scope-probe-id': `bench-probe-${worker}` }, body);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const status = await post(worker);
        if (status >= 200 && status < 300) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: (latencies.length / elapsed) * 1000, p50ms: at(0.5), p99ms: at(0.99), errors };
}

async function measured(target: Target, body: Buffer, durationMs: number, pids: Record<string, number>): Promise<RoundResult> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
  const res = await load(target, body, durationMs);
  const n = (res.rps * durationMs) / 1000;
  res.cpuMsPerRequest = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, (cpuMs(pid) - (before[k] ?? 0)) / n]));
  return res;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  // reportOfSize grows in steps of a dozen nodes: take the first size with at least the asked-for count.
  let size = nodes;
  while (countNodes(reportOfSize(size)) < nodes) size += 3;
  const report = reportOfSize(size);
  const encoded = encodeReport(report);
  const body = encoded.body;
  const contentHeaders: Record<string, string> = { 'content-type': encoded.headers['Content-Type'], 'user-agent': 'Scope_Probe/1.13.2' };
  if (encoded.headers['Content-Encoding']) contentHeaders['content-encoding'] = encoded.headers['Content-Encoding'];

  const mail = await startMaildev();
  const dbs: TestDatabase[] = [];
  const database = async () => {
    const db = await createPostgresDatabase().catch(() => startPgliteServer());
    dbs.push(db);
    return db;
  };
  const users = await startUsers({ smtpUrl: mail.smtpUrl, databaseUrl: (await database()).url });
  const org = await createOrg(users.url, mail, 'bench');
  const stateDir = await tempDir('bench');
  const mapper = await startAppMapper({ databaseUrl: (await database()).url, usersUrl: users.url, stateDir, env: { LOG_LEVEL: logLevel }, nodeArgs: process.env.BENCH_MAPPER_NODE_ARGS?.split(' ').filter(Boolean) });
  let frontend: { url: string; child: ChildProcess } | undefined;
  try {
    frontend = await startFrontendProcess(users.url, mapper.url, { logLevel, nodeArgs: process.env.BENCH_FRONTEND_NODE_ARGS?.split(' ').filter(Boolean), main: process.env.BENCH_FRONTEND_MAIN });
    const auth = { ...contentHeaders, authorization: probeAuthorization(org.probeToken) };
    const first = await untilReady('the org app', () => raw(mapper.url, 'POST', '/api/report', { ...auth, 'x-scope-probe-id': 'warmup' }, body), 120_000);
    if (first.status !== 200) throw new Error(`report through app-mapper: ${first.status} ${first.text}`);
    const record = await readRecord(stateDir, org.id);
    if (!record) throw new Error('no app record');

    const targets: Target[] = [
      { name: 'direct to the Scope app', url: `http://127.0.0.1:${record.port}`, headers: contentHeaders },
      { name: 'through app-mapper', url: mapper.url, headers: auth },
      { name: 'through frontend → app-mapper', url: frontend.url, headers: auth },
    ];
    const results = new Map<string, RoundResult[]>(targets.map((t) => [t.name, []]));
    const pids: Record<string, number> = { app: record.pid, 'app-mapper': mapper.child.pid as number, frontend: frontend.child.pid as number };
    if (process.env.BENCH_FRONTEND_MAIN) console.log(`frontend: ${process.env.BENCH_FRONTEND_MAIN}`);
    console.log(`report: ${countNodes(report)} nodes, ${body.length} bytes gzip msgpack; ${concurrency} connections, ${seconds} s × ${rounds} rounds per target; LOG_LEVEL=${logLevel}`);
    for (const t of targets) await load(t, body, 1000); // warm-up: JIT, connection pools, lookup cache
    for (let r = 1; r <= rounds; r++) {
      for (const t of targets) {
        const res = await measured(t, body, seconds * 1000, pids);
        results.get(t.name)?.push(res);
        const cpu = Object.entries(res.cpuMsPerRequest ?? {})
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join(', ');
        console.log(`  round ${r} ${t.name.padEnd(32)} ${res.rps.toFixed(0).padStart(6)} req/s  p50 ${res.p50ms.toFixed(1)} ms  p99 ${res.p99ms.toFixed(1)} ms  errors ${res.errors}  CPU ms/req: ${cpu}`);
      }
    }
    const direct = median((results.get(targets[0]?.name ?? '') ?? []).map((x) => x.rps));
    console.log('\nmedians');
    for (const t of targets) {
      const rs = results.get(t.name) ?? [];
      const rps = median(rs.map((x) => x.rps));
      const cpu = Object.keys(pids)
        .map((k) => `${k} ${median(rs.map((x) => x.cpuMsPerRequest?.[k] ?? Number.NaN)).toFixed(2)}`)
        .join(', ');
      console.log(
        `  ${t.name.padEnd(32)} ${rps.toFixed(0).padStart(6)} req/s  p50 ${median(rs.map((x) => x.p50ms)).toFixed(1)} ms  ${(rps / direct).toFixed(2)}× direct  errors ${rs.reduce((n, x) => n + x.errors, 0)}  CPU ms/req: ${cpu}`,
      );
    }
    const ratioOf = (t: Target | undefined) => median((results.get(t?.name ?? '') ?? []).map((x) => x.rps)) / direct;
    const verdict = (ratio: number) => `${ratio.toFixed(2)} (goal ≥ 0.70): ${ratio >= 0.7 ? 'met' : 'NOT met'}`;
    console.log(`\napp-mapper / direct            = ${verdict(ratioOf(targets[1]))}`);
    console.log(`frontend → app-mapper / direct = ${verdict(ratioOf(targets[2]))}`);
  } finally {
    if (frontend && frontend.child.exitCode === null) {
      const exited = new Promise((r) => frontend?.child.once('exit', r));
      frontend.child.kill('SIGTERM');
      await exited;
    }
    await mapper.stop('SIGTERM');
    await users.stop();
    await mail.stop();
    for (const db of dbs) await db.close();
  }
}

await main();
