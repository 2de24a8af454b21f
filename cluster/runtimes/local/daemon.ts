/**
 * The local runtime's supervisor daemon: a detached process that owns the service processes, so the system
 * keeps running after `dev up` returns. It writes what it supervises to .dev/state/local.json (atomically) and
 * answers a small HTTP API on 127.0.0.1 (address and token in .dev/state/daemon.json, readable by its owner only):
 *
 *   GET  /healthz            → {ok, pid}
 *   GET  /status             → LocalState
 *   POST /apply {specs}      → NDJSON: a plan line, every service's record, then each change (until the client hangs up)
 *   POST /restart/<service>  → restarts one service
 *   POST /stop               → stops every service and every Scope app app-mapper started, then exits
 *
 * Run: node --import tsx cluster/runtimes/local/daemon.ts --dev-dir <dir> --project-dir <dir> [--build <hash>]
 * (`dev up` runs it as an esbuild bundle, .dev/build/dev-daemon.mjs, which starts several times faster).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { killRecordedApps, runningRecordedApps } from '@saas/app-mapper/reaper';
import { readJson, writeJsonAtomic } from '../../host/fsutil.ts';
import { rotateIfLarge } from './logfile.ts';
import { devPaths } from './paths.ts';
import { isOurs, markedProcesses, readStat, terminate } from '../../host/procfs.ts';
import { defaultSupervisorOptions, Supervisor } from './supervisor.ts';
import type { ApplyMessage, DaemonInfo, LocalState, ProcessSpec, ServiceRecord } from './types.ts';

const { values } = parseArgs({ options: { 'dev-dir': { type: 'string' }, 'project-dir': { type: 'string' }, build: { type: 'string' } } });
if (!values['dev-dir'] || !values['project-dir']) {
  process.stderr.write('usage: daemon.ts --dev-dir <dir> --project-dir <dir>\n');
  process.exit(64);
}
const paths = devPaths(values['project-dir'], values['dev-dir']);

function log(msg: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'dev-daemon', msg, ...extra })}\n`);
}

const supervisors = new Map<string, Supervisor>();
const listeners = new Set<(m: ApplyMessage) => void>();
let stopping = false;
let info: DaemonInfo | undefined;

let writeScheduled = false;
function saveState(): void {
  if (writeScheduled) return;
  writeScheduled = true;
  setImmediate(() => {
    writeScheduled = false;
    writeJsonAtomic(paths.localState, currentState());
  });
}

function currentState(): LocalState {
  const services: Record<string, ServiceRecord> = {};
  for (const [name, s] of supervisors) services[name] = { ...s.record };
  const daemon = info ? { pid: info.pid, startTime: info.startTime, port: info.port, startedAt: info.startedAt, devDir: info.devDir, ...(info.build ? { build: info.build } : {}) } : undefined;
  return { ...(daemon ? { daemon } : {}), services, updatedAt: Date.now() };
}

function supervise(spec: ProcessSpec, restarts = 0): Supervisor {
  const s = new Supervisor(spec, { ...defaultSupervisorOptions, baseEnv: process.env }, restarts);
  s.on('change', (record) => {
    saveState();
    for (const l of listeners) l({ type: 'service', service: record });
  });
  supervisors.set(spec.name, s);
  return s;
}

/** Services a crashed predecessor left running: stop them, so each is started (and owned) by us. */
async function takeOver(): Promise<void> {
  const previous = readJson<LocalState>(paths.localState);
  const pids = new Set<number>();
  for (const r of Object.values(previous?.services ?? {})) {
    if (r.pid !== undefined && isOurs(r.pid, paths.dev, r.startTime)) pids.add(r.pid);
  }
  for (const pid of markedProcesses(paths.dev)) pids.add(pid);
  if (pids.size) {
    log('stopping processes a previous supervisor left running', { pids: [...pids] });
    await terminate([...pids], 5000);
  }
}

function apply(specs: ProcessSpec[]): ApplyMessage & { type: 'plan' } {
  const plan = { type: 'plan' as const, started: [] as string[], restarted: [] as string[], unchanged: [] as string[], stopped: [] as string[] };
  const wanted = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    const existing = supervisors.get(spec.name);
    if (!existing) {
      supervise(spec).start();
      plan.started.push(spec.name);
    } else if (existing.spec.hash !== spec.hash) {
      void existing.update(spec);
      plan.restarted.push(spec.name);
    } else if (existing.record.state === 'stopped') {
      existing.spec = spec;
      existing.start();
      plan.started.push(spec.name);
    } else plan.unchanged.push(spec.name);
  }
  for (const [name, s] of supervisors) {
    if (wanted.has(name)) continue;
    supervisors.delete(name);
    plan.stopped.push(name);
    void s.stop().then(saveState);
  }
  saveState();
  return plan;
}

async function stopAll(): Promise<{ services: string[]; apps: number }> {
  stopping = true;
  const names = [...supervisors.keys()];
  // app-mapper stops its Scope apps itself when it is stopped: count the ones running before that.
  const running = (await runningRecordedApps(paths.apps).catch(() => [])).map((a) => a.org);
  await Promise.all([...supervisors.values()].map((s) => s.stop()));
  const apps = await killRecordedApps(paths.apps, 5000).catch((err: Error) => {
    log('could not stop the Scope apps', { err: err.message });
    return { killed: [], stale: [] };
  });
  const left = markedProcesses(paths.dev);
  if (left.length) await terminate(left, 3000);
  return { services: names, apps: new Set([...running, ...apps.killed.map((a) => a.org)]).size };
}

function readBody(req: http.IncomingMessage, limit = 10 * 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error('request body is too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
const fail = (res: http.ServerResponse, status: number, message: string) => send(res, status, { errors: [{ message }] });

function authorized(req: http.IncomingMessage, token: string): boolean {
  const given = Buffer.from(String(req.headers.authorization ?? ''));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function isSpecList(v: unknown): v is ProcessSpec[] {
  return Array.isArray(v) && v.every((s) => s !== null && typeof s === 'object' && typeof (s as ProcessSpec).name === 'string' && typeof (s as ProcessSpec).command === 'string' && Array.isArray((s as ProcessSpec).args) && typeof (s as ProcessSpec).hash === 'string');
}

let shuttingDown: Promise<{ services: string[]; apps: number }> | undefined;
function shutdown(server: http.Server, why: string): Promise<{ services: string[]; apps: number }> {
  shuttingDown ??= stopEverything(server, why);
  return shuttingDown;
}

async function stopEverything(server: http.Server, why: string): Promise<{ services: string[]; apps: number }> {
  log(`stopping everything (${why})`);
  const result = await stopAll();
  writeJsonAtomic(paths.localState, { services: Object.fromEntries([...supervisors].map(([n, s]) => [n, s.record])), updatedAt: Date.now() } satisfies LocalState);
  rmSync(paths.daemonFile, { force: true });
  server.close();
  setTimeout(() => process.exit(0), 50).unref();
  return result;
}

async function main(): Promise<void> {
  await takeOver();
  const token = randomBytes(24).toString('hex');
  const server = http.createServer((req, res) => {
    void (async () => {
      if (!authorized(req, token)) return fail(res, 401, 'missing or wrong token (see .dev/state/daemon.json)');
      const url = new URL(req.url ?? '/', 'http://daemon');
      if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true, pid: process.pid });
      if (req.method === 'GET' && url.pathname === '/status') return send(res, 200, currentState());
      if (stopping) return fail(res, 503, 'the supervisor is stopping');
      if (req.method === 'POST' && url.pathname === '/apply') {
        let specs: unknown;
        try {
          specs = (JSON.parse(await readBody(req)) as { specs?: unknown }).specs;
        } catch (err) {
          return fail(res, 400, `malformed JSON: ${(err as Error).message}`);
        }
        if (!isSpecList(specs)) return fail(res, 400, 'body must be {"specs": [ProcessSpec…]}');
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        const write = (m: ApplyMessage) => res.write(`${JSON.stringify(m)}\n`);
        const plan = apply(specs);
        write(plan);
        for (const s of supervisors.values()) write({ type: 'service', service: { ...s.record } });
        listeners.add(write);
        res.on('close', () => listeners.delete(write));
        return;
      }
      const restart = /^\/restart\/([a-z0-9-]+)$/.exec(url.pathname);
      if (req.method === 'POST' && restart) {
        const s = supervisors.get(restart[1]!);
        if (!s) return fail(res, 404, `no service ${restart[1]} (services: ${[...supervisors.keys()].join(', ') || 'none'})`);
        await s.restart();
        return send(res, 200, { ...s.record });
      }
      if (req.method === 'POST' && url.pathname === '/stop') return send(res, 200, await shutdown(server, 'requested'));
      return fail(res, 404, `no route for ${req.method} ${url.pathname}`);
    })().catch((err: Error) => {
      log('request failed', { err: err.message });
      if (!res.headersSent) fail(res, 500, err.message);
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  info = { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? 0, port: address.port, token, startedAt: Date.now(), devDir: paths.dev, ...(values.build ? { build: values.build } : {}) };
  writeJsonAtomic(paths.daemonFile, info, 0o600);
  saveState();
  log('supervisor listening', { port: address.port, devDir: paths.dev });

  const rotation = setInterval(() => {
    for (const s of supervisors.values()) rotateIfLarge(s.spec.logFile);
    rotateIfLarge(paths.daemonLog);
  }, 10_000);
  rotation.unref();
  process.on('SIGTERM', () => void shutdown(server, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(server, 'SIGINT'));
  process.on('uncaughtException', (err) => log('uncaught exception', { err: err.stack ?? err.message }));
  process.on('unhandledRejection', (err) => log('unhandled rejection', { err: String(err) }));
}

main().catch((err: Error) => {
  process.stderr.write(`dev daemon failed to start: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
