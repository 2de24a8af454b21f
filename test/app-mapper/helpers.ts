import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readFile, mkdtemp } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { readConfig } from '@saas/kit';
import { createPostgresDatabase, freePort, waitFor, type Maildev } from '@saas/kit/testing';
import { createUsersService } from '../../images/users/src/app.ts';
import { configSpec as usersConfigSpec } from '../../images/users/src/config.ts';
import type { AppRecord } from '@saas/app-mapper/reaper';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export const report1 = await readFile(path.join(root, 'fixtures/weave-scope-1.13.2/report-1.msgpack.gz'));

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory (state dirs, app logs), removed when the test process exits. */
export async function tempDir(label: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `app-mapper-${label}-`));
  tempDirs.push(dir);
  return dir;
}

// ---------------------------------------------------------------- users, the real service

export interface RunningUsers {
  url: string;
  stop(): Promise<void>;
}

/**
 * The real users service, in-process on a loopback port.
 * Named options, as test/users' startUsers takes them: the two URLs are both strings, and positional ones were
 * passed swapped.
 * @param databaseUrl its database; without it, a PostgreSQL database of its own that stop() drops.
 */
export async function startUsers({ smtpUrl, databaseUrl }: { smtpUrl: string; databaseUrl?: string }): Promise<RunningUsers> {
  const database = databaseUrl === undefined ? await createPostgresDatabase() : undefined;
  const config = readConfig(usersConfigSpec, {
    DATABASE_URL: databaseUrl ?? database!.url,
    SMTP_URL: smtpUrl,
    FRONTEND_URL: 'http://frontend.test:8080',
    SESSION_SECRET: randomBytes(24).toString('hex'),
    MAIL_RETRY_SECONDS: '1',
  });
  const service = await createUsersService({ config, log: pino({ level: process.env.USERS_LOG_LEVEL ?? 'silent' }) });
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  const address = service.app.server.address();
  if (!address || typeof address === 'string') throw new Error('users has no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      await service.app.close();
      await service.close();
      await database?.close();
    },
  };
}

export interface Org {
  id: string;
  name: string;
  /** `_weave_scope_session=…` of a member. */
  cookie: string;
  probeToken: string;
}

/**
 * Signs a user up, approves them, logs in through the mailed link: an organisation with a member's cookie and
 * its probe token. Public calls go to publicUrl (the frontend, when there is one), private ones to users itself.
 */
export async function createOrg(usersUrl: string, mail: Maildev, label: string, publicUrl = usersUrl): Promise<Org> {
  const email = `${label}-${process.pid}-${randomBytes(3).toString('hex')}@example.com`;
  const signup = await fetch(`${publicUrl}/api/users/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email }),
  });
  if (!signup.ok) throw new Error(`signup: ${signup.status} ${await signup.text()}`);
  const list = (await (await fetch(`${usersUrl}/private/api/users`, { headers: { accept: 'application/json' } })).json()) as { id: string; email: string }[];
  const user = list.find((u) => u.email === email);
  if (!user) throw new Error(`${email} not listed`);
  const approve = await fetch(`${usersUrl}/private/api/users/${user.id}/approve`, { method: 'POST', headers: { accept: 'application/json' } });
  const approved = (await approve.json()) as { organizationID: string; organizationName: string };
  if (!approve.ok) throw new Error(`approve: ${approve.status} ${JSON.stringify(approved)}`);
  const mailed = await mail.waitForMail(email, /ready/i, 30_000);
  const m = /(https?:\/\/\S+\/login\?\S+)/.exec(mailed.text ?? '');
  if (!m?.[1]) throw new Error('no login link mailed');
  const link = new URL(m[1]);
  const login = await fetch(
    `${publicUrl}/api/users/login?email=${encodeURIComponent(link.searchParams.get('email') ?? '')}&token=${encodeURIComponent(link.searchParams.get('token') ?? '')}`,
  );
  if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('_weave_scope_session='))?.split(';')[0];
  if (!cookie) throw new Error('no session cookie');
  const orgRes = await fetch(`${publicUrl}/api/users/org/${approved.organizationName}`, { headers: { cookie } });
  const org = (await orgRes.json()) as { name: string; probeToken: string };
  if (!orgRes.ok) throw new Error(`org: ${orgRes.status} ${JSON.stringify(org)}`);
  return { id: approved.organizationID, name: approved.organizationName, cookie, probeToken: org.probeToken };
}

// ---------------------------------------------------------------- app-mapper, as the process main.ts runs

export interface RunningAppMapper {
  url: string;
  port: number;
  child: ChildProcess;
  stateDir: string;
  output(): string;
  /** Sends the signal and waits for the exit; resolves with the exit code (or signal). */
  stop(signal?: NodeJS.Signals): Promise<number | string | null>;
}

export interface AppMapperOptions {
  databaseUrl: string;
  usersUrl: string;
  stateDir: string;
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof for a profile). */
  nodeArgs?: string[];
}

/** app-mapper from images/app-mapper/src/main.ts; its apps are the real Scope app (images/scope, SCOPE_ROLE=app). */
export async function startAppMapper(o: AppMapperOptions): Promise<RunningAppMapper> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', path.join(root, 'images/app-mapper/src/main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: o.databaseUrl,
      USERS_URL: o.usersUrl,
      STATE_DIR: o.stateDir,
      PROVISIONER: 'process',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Should the test process end without stopping it, app-mapper still gets SIGTERM (and stops its apps).
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      'app-mapper /readyz',
      async () => {
        if (child.exitCode !== null) throw new Error(`app-mapper exited ${child.exitCode}: ${out}`);
        return (await fetch(`${url}/readyz`)).ok;
      },
      60_000,
      100,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port,
    child,
    stateDir: o.stateDir,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

// ---------------------------------------------------------------- requests

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = unknown>(): T;
}

/** A request whose path goes out exactly as written (fetch would normalise `..` and escapes). */
export function raw(base: string, method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<RawResponse> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path: rawPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export const probeHeaders = (token: string, probeId: string): Record<string, string> => ({
  authorization: `Scope-Probe token=${token}`,
  'x-scope-probe-id': probeId,
  'content-type': 'application/msgpack',
  'content-encoding': 'gzip',
  'user-agent': 'Scope_Probe/1.13.2',
});

export const postReport = (base: string, token: string, probeId: string, body: Buffer = report1) => raw(base, 'POST', '/api/report', probeHeaders(token, probeId), body);

/** Repeats fn until it gives a non-503 answer (the app was starting). */
export async function untilReady(what: string, fn: () => Promise<RawResponse>, timeoutMs = 60_000): Promise<RawResponse> {
  return waitFor(what, async () => {
    const r = await fn();
    return r.status === 503 ? undefined : r;
  }, timeoutMs, 100);
}

/** The first topology diff a Scope app's websocket sends; the socket is closed after it. */
export async function firstTopologyDiff(wsUrl: string, headers: Record<string, string>): Promise<{ text: string; add?: { id: string }[] }> {
  const ws = new WebSocket(wsUrl, { headers });
  const text = await new Promise<string>((resolve, reject) => {
    ws.once('message', (d) => resolve(d.toString()));
    ws.once('error', reject);
  });
  ws.close();
  return { text, ...(JSON.parse(text) as { add?: { id: string }[] }) };
}

// ---------------------------------------------------------------- the process provisioner's records

export async function readRecord(stateDir: string, org: string): Promise<AppRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(stateDir, `${org}.json`), 'utf8')) as AppRecord;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const errorMessage = (r: RawResponse): string => {
  try {
    return r.json<{ errors: { message: string }[] }>().errors[0]?.message ?? '';
  } catch {
    return '';
  }
};
