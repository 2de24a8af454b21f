/**
 * The public edge under a steady probe load: 50 probes each POSTing one report a second for SECONDS through the
 * frontend (→ app-mapper → the org's Scope app), once with every probe in one organisation and once spread over
 * ten. Prints errors (goal 0), p50/p99 latency (goal p99 < 100 ms) and each process's memory before and after.
 *
 *   npm run bench -- edge-load
 *
 * The real users service (in this process), app-mapper and the frontend as their own processes, each org's
 * real Scope app started by app-mapper's process provisioner. All traffic is to 127.0.0.1.
 * Env: BENCH_PROBES (50), BENCH_SECONDS (60), BENCH_NODES (100, per report).
 */
import http from 'node:http';
import { probeAuthorization } from '@saas/kit/contracts';
import os from 'node:os';
import { createPostgresDatabase, startMaildev, type TestDatabase } from '@saas/kit/testing';
import { encodeReport } from '../images/scope/src/report/index.ts';
import { countNodes, reportOfSize } from '../fixtures/reports/synthetic.ts';
import { createOrg, readRecord, startAppMapper, startUsers, tempDir, untilReady, raw, type Org } from '../test/app-mapper/helpers.ts';
import { postReport, rssMB, startFrontendProcess } from './stack-common.ts';

const probes = Number(process.env.BENCH_PROBES ?? 50);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const nodes = Number(process.env.BENCH_NODES ?? 100);

interface Outcome {
  sent: number;
  errors: number;
  statuses: Map<number, number>;
  p50ms: number;
  p99ms: number;
}

/** `probes` probes split over `orgs`, each on its own keep-alive connection, one report a second, staggered. */
async function steadyLoad(frontendUrl: string, orgs: Org[], body: Buffer, headers: Record<string, string>): Promise<Outcome> {
  const u = new URL(frontendUrl);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  let sent = 0;
  const post = async (agent: http.Agent, org: Org, probe: number) => {
    const t0 = performance.now();
    sent++;
    const status = await postReport(u, agent, { ...headers, authorization: probeAuthorization(org.probeToken), 'x-scope-probe-id': `edge-probe-${probe}` }, body);
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status >= 200 && status < 300) latencies.push(performance.now() - t0);
    else errors++;
  };
  await Promise.all(
    Array.from({ length: probes }, async (_, probe) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const org = orgs[probe % orgs.length] as Org;
      const start = performance.now() + (probe / probes) * 1000;
      for (let tick = 0; tick < seconds; tick++) {
        const due = start + tick * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await post(agent, org, probe);
      }
      agent.destroy();
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  return { sent, errors, statuses, p50ms: at(0.5), p99ms: at(0.99) };
}

const mb = (x: number) => `${x.toFixed(0)} MB`;

async function main(): Promise<void> {
  let size = nodes;
  while (countNodes(reportOfSize(size)) < nodes) size += 3;
  const report = reportOfSize(size);
  const encoded = encodeReport(report);
  const headers: Record<string, string> = { 'content-type': encoded.headers['Content-Type'], 'user-agent': 'Scope_Probe/1.13.2' };
  if (encoded.headers['Content-Encoding']) headers['content-encoding'] = encoded.headers['Content-Encoding'];

  const mail = await startMaildev();
  const dbs: TestDatabase[] = [];
  const database = async () => {
    const db = await createPostgresDatabase();
    dbs.push(db);
    return db;
  };
  const users = await startUsers({ smtpUrl: mail.smtpUrl, databaseUrl: (await database()).url });
  const stateDir = await tempDir('edge-load');
  const mapper = await startAppMapper({ databaseUrl: (await database()).url, usersUrl: users.url, stateDir });
  const frontend = await startFrontendProcess(users.url, mapper.url, { logLevel: 'info' });
  try {
    const orgs: Org[] = [];
    for (let i = 0; i < 10; i++) orgs.push(await createOrg(users.url, mail, `edge${i}`));
    console.log(`${probes} probes × 1 report/s × ${seconds} s through the frontend; reports of ${countNodes(report)} nodes, ${encoded.body.length} B gzip msgpack`);
    console.log('goals: errors 0, p99 < 100 ms\n');
    const rows: string[] = [];
    for (const scenario of [orgs.slice(0, 1), orgs]) {
      // Every org's app started and warm before the clock runs (a first report gets 503 while it starts).
      for (const org of scenario) {
        const first = await untilReady(`${org.name}'s app`, () => raw(frontend.url, 'POST', '/api/report', { ...headers, authorization: probeAuthorization(org.probeToken), 'x-scope-probe-id': 'warmup' }, encoded.body), 120_000);
        if (first.status !== 200) throw new Error(`warm-up report: ${first.status} ${first.text}`);
      }
      const apps = await Promise.all(scenario.map(async (o) => (await readRecord(stateDir, o.id))?.pid ?? Number.NaN));
      const memory = () => ({ frontend: rssMB(frontend.child.pid as number), 'app-mapper': rssMB(mapper.child.pid as number), apps: apps.map(rssMB) });
      const before = memory();
      const load1 = os.loadavg()[0] as number;
      const outcome = await steadyLoad(frontend.url, scenario, encoded.body, headers);
      const after = memory();
      const statuses = [...outcome.statuses].map(([s, n]) => `${s || 'socket error'}×${n}`).join(' ');
      const appMem = (xs: number[]) => (xs.length === 1 ? mb(xs[0] as number) : `${mb(xs.reduce((a, b) => a + b, 0))} for ${xs.length} (max ${mb(Math.max(...xs))})`);
      rows.push(
        [
          `${scenario.length === 1 ? 'one organisation ' : 'ten organisations'}`,
          `${outcome.sent} reports, errors ${outcome.errors} (${outcome.errors === 0 ? 'met' : 'NOT met'}; ${statuses})`,
          `p50 ${outcome.p50ms.toFixed(1)} ms, p99 ${outcome.p99ms.toFixed(1)} ms (${outcome.p99ms < 100 ? 'met' : 'NOT met'})`,
          `RSS before → after: frontend ${mb(before.frontend)} → ${mb(after.frontend)}, app-mapper ${mb(before['app-mapper'])} → ${mb(after['app-mapper'])}, Scope app${apps.length > 1 ? 's' : ''} ${appMem(before.apps)} → ${appMem(after.apps)}`,
          `load average ${load1.toFixed(1)} → ${(os.loadavg()[0] as number).toFixed(1)} on ${os.cpus().length} cores`,
        ].join('\n    '),
      );
      console.log(rows[rows.length - 1]);
    }
    console.log('\n(users runs inside this process: its memory is not in the figures)');
  } finally {
    await frontend.stop();
    await mapper.stop('SIGTERM');
    await users.stop();
    await mail.stop();
    for (const db of dbs) await db.close();
  }
}

await main();
