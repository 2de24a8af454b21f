/**
 * The whole system through the real `dev` binary and the local runtime: one up, several checks, one down.
 * Everything lives in a temporary DEV_DIR on its own ports, so it never touches a system someone else runs.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@saas/kit/testing';
import type { SystemStatus } from '../../cluster/runtime.ts';
import { createRuntime } from '../../cluster/runtimes/index.ts';
import type { SmokeResult } from '../../cluster/smoke/flow.ts';
import { acceptsConnections } from '../helpers/net.ts';
import { dev, devBin } from './helpers/dev.ts';

const projectDir = fileURLToPath(new URL('../..', import.meta.url));

/** Processes carrying the local runtime's marker for this dev folder (readable ones: ours). */
function markedProcesses(devDir: string): number[] {
  const marker = `SAAS_DEV_DIR=${devDir}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(marker)) found.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function viaProxy(proxyPort: number, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: url, headers: { host: new URL(url).host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('dev up → status → test twice → kill -9 recovered → logs → connect → down leaves nothing behind', async (t) => {
  t.timeout(12 * 60_000);
  const devDir = await mkdtemp(path.join(os.tmpdir(), 'dev-system-'));
  const env = { DEV_DIR: devDir, DEV_FRONTEND_PORT: String(await freePort()) };
  const runtime = createRuntime('local', { projectDir, devDir });
  t.teardown(async () => {
    await dev(['down', '--wipe'], env).catch(() => undefined);
    await rm(devDir, { recursive: true, force: true });
  });
  // The rendered events on stderr carry the diagnosis; --json stdout would repeat it.
  const failed = (what: string, r: { code: number | null; stdout: string; stderr: string }) => `${what} exited ${r.code}\n${r.stderr || r.stdout.slice(0, 4000)}`;

  const up = await dev(['up', '--timeout', '300'], env, 330_000);
  t.is(up.code, 0, failed('dev up', up));
  t.regex(up.stdout, /services ready in/);
  t.regex(up.stdout, /frontend +http:\/\/127\.0\.0\.1:\d+/);
  t.regex(up.stdout, /users admin +http:\/\/127\.0\.0\.1:\d+\/private\/admin/);
  t.regex(up.stdout, /mail +http:\/\/127\.0\.0\.1:\d+/);

  const st = await dev(['status', '--json'], env);
  t.is(st.code, 0, failed('dev status --json', st));
  const status = JSON.parse(st.stdout) as SystemStatus;
  t.deepEqual(Object.keys(status), ['runtime', 'services', 'endpoints', 'apps']);
  t.is(status.runtime, 'local');
  t.true(status.services.length >= 5);
  t.deepEqual(status.services.filter((s) => !s.ready).map((s) => s.name), [], 'every service is ready');
  for (const s of ['frontend', 'users', 'mailcatcher', 'app-mapper', 'ui-server']) t.true(status.services.some((x) => x.name === s), s);
  for (const k of ['frontend', 'users', 'mail'] as const) t.regex(status.endpoints?.[k] ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
  t.is(status.endpoints!.frontend, `http://127.0.0.1:${env.DEV_FRONTEND_PORT}`);

  const emails: string[] = [];
  for (const run of [1, 2]) {
    const r = await dev(['test', '--json'], env);
    t.is(r.code, 0, failed(`dev test #${run}`, r));
    const result = JSON.parse(r.stdout) as SmokeResult;
    t.true(result.ok);
    t.deepEqual(result.steps.map((s) => s.step), [
      'test/signup', 'test/welcome-mail', 'test/approve', 'test/login-mail', 'test/login', 'test/token', 'test/probe', 'test/map', 'test/probe-stop',
    ]);
    t.regex(r.stderr, /✓ the map shows/);
    emails.push(result.email);
  }
  t.not(emails[0], emails[1], 'a fresh address each time');
  t.true((await runtime.status()).apps.length >= 2, 'one Scope app per organisation');

  // kill -9 one service: the supervisor restarts it and the whole flow passes again.
  const before = (await runtime.status()).services.find((s) => s.name === 'users')!;
  t.truthy(before.pid);
  process.kill(before.pid!, 'SIGKILL');
  const after = await waitFor(
    'users restarted and ready',
    async () => (await runtime.status()).services.find((s) => s.name === 'users' && s.ready && s.pid !== before.pid),
    90_000,
    250,
  );
  t.true(after.restarts > before.restarts);
  const again = await dev(['test'], env);
  t.is(again.code, 0, failed('dev test after kill -9', again));
  t.regex(again.stdout, /smoke flow passed in/);

  const logs = await dev(['logs', 'users', '--tail', '5'], env);
  t.is(logs.code, 0, failed('dev logs', logs));
  t.true(logs.stdout.trim().split('\n').length >= 1);
  const noSuch = await dev(['logs', 'user'], env);
  t.is(noSuch.code, 2);
  t.regex(noSuch.stderr, /Did you mean 'dev logs users'\?/);

  // dev connect: the in-cluster name reaches the frontend through the proxy; Ctrl-C ends it with 0.
  const connect = spawn(process.execPath, [devBin, 'connect', '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let connectOut = '';
  connect.stdout.on('data', (d: Buffer) => (connectOut += d));
  const proxyPort = await waitFor('dev connect to listen', async () => Number(/browser proxy on http:\/\/127\.0\.0\.1:(\d+)/.exec(connectOut)?.[1]), 30_000, 100);
  const handshake = await viaProxy(proxyPort, 'http://frontend.default.svc.cluster.local/api');
  t.is(handshake.status, 200);
  t.truthy((JSON.parse(handshake.body) as { id?: string }).id);
  t.is((await viaProxy(proxyPort, 'http://example.com/')).status, 403);
  const connectExit = new Promise<number | null>((resolve) => connect.on('exit', (code) => resolve(code)));
  connect.kill('SIGINT');
  t.is(await connectExit, 0);

  // dev down: no process of this system, no port, left behind.
  const last = await runtime.status();
  const pids = [...last.services.map((s) => s.pid), ...last.apps.map((a) => a.pid)].filter((p): p is number => p !== undefined);
  const urls = [...last.services.flatMap((s) => Object.values(s.urls ?? {})), ...last.apps.map((a) => a.url).filter((u): u is string => !!u)];
  t.true(markedProcesses(devDir).length > 0, 'the marker finds the running processes');
  const down = await dev(['down'], env);
  t.is(down.code, 0, failed('dev down', down));
  t.deepEqual(pids.filter(alive), [], 'every service and Scope app process is gone');
  t.deepEqual(markedProcesses(devDir), [], 'no process of this dev folder is left');
  const open: string[] = [];
  for (const u of urls) {
    const { port, hostname } = new URL(u);
    if (await acceptsConnections(Number(port), hostname)) open.push(u);
  }
  t.deepEqual(open, [], 'no port is left listening');
  const gone = await dev(['status', '--json'], env);
  t.is((JSON.parse(gone.stdout) as SystemStatus).endpoints, null);
});
