import test from 'ava';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from '@saas/kit/testing';
import { isAlive } from '../../cluster/host/procfs.ts';
import { defaultSupervisorOptions, Supervisor } from '../../cluster/runtimes/local/supervisor.ts';
import { probeOnce } from '../../cluster/plan/prober.ts';
import type { ProcessSpec, ServiceRecord } from '../../cluster/runtimes/local/types.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'supervisor-'));
const fast = { ...defaultSupervisorOptions, backoffBaseMs: 40, backoffMaxMs: 320, resetAfterMs: 60_000, stopGraceMs: 3000, startupProbeMs: 50 };

function spec(name: string, script: string, extra: Partial<ProcessSpec> = {}): ProcessSpec {
  return { name, image: 'test', runs: 'test', command: process.execPath, args: ['-e', script], cwd: dir, env: {}, logFile: path.join(dir, `${name}.log`), ports: [], urls: {}, hash: name, ...extra };
}

function collect(s: Supervisor): ServiceRecord[] {
  const seen: ServiceRecord[] = [];
  s.on('change', (r) => seen.push(r));
  return seen;
}

test('a crashing process is restarted with exponential backoff (CrashLoopBackOff), each restart counted and logged', async (t) => {
  const s = new Supervisor(spec('crasher', 'console.log("about to crash"); process.exit(3)'), fast);
  const seen = collect(s);
  s.start();
  await waitFor('five restarts', async () => s.record.restarts >= 5, 20_000);
  await s.stop();
  const delays = readFileSync(path.join(dir, 'crasher.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"backoffMs"'))
    .map((l) => (JSON.parse(l) as { backoffMs: number }).backoffMs);
  t.deepEqual(delays.slice(0, 5), [40, 80, 160, 320, 320]);
  const backoffs = seen.filter((r) => r.state === 'backoff');
  t.regex(backoffs[0]!.message!, /exited with code 3; restarting in 40 ms/);
  t.regex(backoffs[2]!.message!, /CrashLoopBackOff/);
  t.is(backoffs[0]!.lastExit?.code, 3);
  t.true(readFileSync(path.join(dir, 'crasher.log'), 'utf8').includes('about to crash'));
  t.is(s.record.state, 'stopped');
});

test('readiness follows the httpGet probe: not ready while it answers 503, ready once it answers 200', async (t) => {
  const port = await freePort();
  // Answers 503 for its first three probes, then 200.
  const script = `let n = 0; require('http').createServer((q, r) => { r.statusCode = ++n > 3 ? 200 : 503; r.end(); }).listen(${port}, '127.0.0.1')`;
  const s = new Supervisor(spec('web', script, { readiness: { type: 'http', port, path: '/readyz', initialDelayMs: 0, periodMs: 1000, timeoutMs: 1000, failureThreshold: 3 } }), fast);
  const seen = collect(s);
  s.start();
  await waitFor('ready', async () => s.record.ready, 15_000);
  t.true(seen.some((r) => !r.ready && r.probe === 'GET /readyz → 503'), 'reported the 503 while not ready');
  t.is(s.record.state, 'running');
  t.is(s.record.restarts, 0);
  await s.stop();
  t.false(s.record.ready);
});

test('a tcpSocket probe is ready once the port accepts connections', async (t) => {
  const port = await freePort();
  const s = new Supervisor(spec('tcp', `setTimeout(() => require('net').createServer(() => {}).listen(${port}, '127.0.0.1'), 300)`, { readiness: { type: 'tcp', port, initialDelayMs: 0, periodMs: 1000, timeoutMs: 1000, failureThreshold: 3 } }), fast);
  const seen = collect(s);
  s.start();
  await waitFor('ready', async () => s.record.ready, 15_000);
  t.true(seen.some((r) => r.probe?.includes('ECONNREFUSED')));
  await s.stop();
});

test('a failing liveness probe gets the process killed and restarted', async (t) => {
  const port = await freePort();
  // Ready at once, but /healthz fails: the liveness probe must kill it.
  const script = `require('http').createServer((q, r) => { r.statusCode = q.url === '/healthz' ? 500 : 200; r.end(); }).listen(${port}, '127.0.0.1')`;
  const probe = { type: 'http' as const, port, initialDelayMs: 0, periodMs: 100, timeoutMs: 1000, failureThreshold: 2 };
  const s = new Supervisor(spec('live', script, { readiness: { ...probe, path: '/readyz' }, liveness: { ...probe, path: '/healthz' } }), fast);
  s.start();
  await waitFor('a liveness restart', async () => s.record.restarts >= 1, 15_000);
  t.is(s.record.lastExit?.signal, 'SIGKILL');
  t.regex(readFileSync(path.join(dir, 'live.log'), 'utf8'), /liveness probe failed 2 times \(GET \/healthz → 500\)/);
  await s.stop();
});

test('stop takes the whole process group, children included, and a process ignoring SIGTERM is killed after the grace period', async (t) => {
  // The pid line is printed only once SIGTERM is ignored, so the stop below cannot land before the handler.
  const script = `const c = require('child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); process.on('SIGTERM', () => {}); console.log('child ' + c.pid); setInterval(() => {}, 1000)`;
  const s = new Supervisor(spec('stubborn', script), { ...fast, stopGraceMs: 500 });
  s.start();
  const childPid = await waitFor('the child pid', async () => Number(/child (\d+)/.exec(readFileSync(path.join(dir, 'stubborn.log'), 'utf8'))?.[1] ?? 0), 10_000);
  const pid = s.record.pid!;
  t.true(isAlive(pid) && isAlive(childPid));
  await s.stop();
  await waitFor('both gone', async () => !isAlive(pid) && !isAlive(childPid), 5000);
  t.regex(readFileSync(path.join(dir, 'stubborn.log'), 'utf8'), /did not stop within 500 ms of SIGTERM: killing/);
});

test('probeOnce reports refused connections and statuses in words', async (t) => {
  const port = await freePort();
  const r = await probeOnce({ type: 'http', port, path: '/readyz', initialDelayMs: 0, periodMs: 1000, timeoutMs: 500, failureThreshold: 1 });
  t.deepEqual(r, { ok: false, detail: 'GET /readyz: ECONNREFUSED' });
});
