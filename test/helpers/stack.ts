/**
 * The account stack on loopback, for end-to-end tests: real maildev, a real database (PostgreSQL or
 * PGlite), the users service, the ui-server and the frontend in front of them, each on its own
 * 127.0.0.1 port. App-mapper (and what it needs) can be plugged in by the tests that have one.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { createLogger, readConfig, type Logger } from '@saas/kit';
import {
  createPostgresDatabase,
  freePort,
  startMaildev,
  startPgliteServer,
  waitFor,
  type CapturedMail,
  type Maildev,
  type TestDatabase,
} from '@saas/kit/testing';
import { createUsersService, type UsersService } from '../../images/users/src/app.ts';
import { configSpec as usersConfigSpec } from '../../images/users/src/config.ts';
import { buildUiServer } from '../../images/ui-server/src/app.ts';
import { buildFrontend } from '../../images/frontend/src/app.ts';

/**
 * `pglite` runs PGlite inside the test process (startPgliteServer); while it starts it stalls that process's
 * event loop for seconds, so keep a PGlite stack out of test files whose other stacks must stay responsive.
 */
export type DatabaseKind = 'postgres' | 'pglite';

export const databaseKinds: readonly DatabaseKind[] = ['postgres', 'pglite'];
export const databaseLabel: Record<DatabaseKind, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' };

/** Something the stack started and will stop. */
export interface Started {
  /** Its base URL, e.g. http://127.0.0.1:41234. */
  url: string;
  close(): Promise<void>;
}

/** What a plugged-in service gets to start with. */
export interface StackContext {
  usersUrl: string;
  frontendUrl: string;
  /** A fresh database of the stack's kind, closed with the stack. */
  createDatabase(): Promise<TestDatabase>;
  log(service: string): Logger;
}

export interface StackOptions {
  database?: DatabaseKind;
  loginRateLimitPerMinute?: number;
  /** Extra users env (e.g. LOGIN_TOKEN_TTL_HOURS); the stack sets the required ones. */
  usersEnv?: Record<string, string>;
  /** Starts app-mapper; without it APP_MAPPER_URL points at a closed port (the frontend answers 502). */
  appMapper?: (ctx: StackContext) => Promise<Started>;
  /** A maildev to share between stacks; one of the stack's own otherwise. */
  mail?: Maildev;
}

export interface Stack {
  /** The one public URL: everything a browser or probe does goes here. */
  frontendUrl: string;
  /** The users service's own port (its /private API is only reachable here). */
  usersUrl: string;
  uiServerUrl: string;
  appMapperUrl: string;
  mail: Maildev;
  database: TestDatabase;
  users: UsersService;
  /** Approves a signed-up user through users' private JSON API, as the admin page would. */
  approve(email: string): Promise<{ organizationName: string }>;
  /** Waits for the approval mail to `email` and returns its login link. */
  loginLink(email: string): Promise<URL>;
  close(): Promise<void>;
}

const logLevel = process.env.TEST_LOG_LEVEL ?? 'silent';

export const uniqueEmail = (tag = 'user') => `${tag}-${randomBytes(5).toString('hex')}@example.com`;

async function listen(app: FastifyInstance, port = 0): Promise<string> {
  await app.listen({ port, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no port');
  return `http://127.0.0.1:${address.port}`;
}

/** The login link in an approval (or login-link) mail. */
export function loginLinkIn(mail: CapturedMail): URL {
  const match = /(https?:\/\/\S+\/login\?\S+)/.exec(mail.text ?? '');
  if (!match?.[1]) throw new Error(`no login link in mail "${mail.subject}": ${mail.text ?? '(no text)'}`);
  return new URL(match[1]);
}

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface SpawnedService extends Started {
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string;
}

/**
 * A service's real entry (`images/<name>/src/main.ts`) in a child process on a free loopback port, as the
 * local runtime runs it; resolves once its /readyz answers 200. close() sends SIGTERM and waits for the exit.
 */
export async function spawnService(name: string, entry: string, env: Record<string, string>, readyTimeoutMs = 90_000): Promise<SpawnedService> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, entry)], {
    cwd: projectRoot,
    env: { ...process.env, LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  // If the test process ends without close(), SIGTERM still reaches the child (which stops what it started).
  const termOnExit = () => child.kill('SIGTERM');
  process.once('exit', termOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.removeListener('exit', termOnExit);
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitFor(`${name} to be ready`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${tail}`);
      return (await fetch(`${url}/readyz`)).ok;
    }, readyTimeoutMs, 200);
  } catch (err) {
    await close();
    throw new Error(`${(err as Error).message}\n${name} said:\n${tail}`);
  }
  return { url, close, output: () => tail };
}

/**
 * The real app-mapper (its main.ts, process provisioner) on a database of its own, for
 * `startStack({ appMapper: spawnAppMapper() })`. Probes seen are written at once so tests see them.
 */
export function spawnAppMapper(env: Record<string, string> = {}): (ctx: StackContext) => Promise<SpawnedService> {
  return async (ctx) => {
    const database = await ctx.createDatabase();
    const stateDir = await mkdtemp(join(tmpdir(), 'stack-app-mapper-'));
    try {
      const service = await spawnService('app-mapper', 'images/app-mapper/src/main.ts', {
        DATABASE_URL: database.url,
        USERS_URL: ctx.usersUrl,
        STATE_DIR: stateDir,
        PROBE_SEEN_WRITE_SECONDS: '0',
        ...env,
      });
      return {
        ...service,
        close: async () => {
          await service.close();
          await rm(stateDir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      await rm(stateDir, { recursive: true, force: true });
      throw err;
    }
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  const newDatabase = async () => {
    const db = await (opts.database === 'pglite' ? startPgliteServer() : createPostgresDatabase());
    cleanups.push(() => db.close());
    return db;
  };

  try {
    const mail = opts.mail ?? (await startMaildev());
    if (!opts.mail) cleanups.push(() => mail.stop());
    const database = await newDatabase();

    // Users puts the frontend's URL in its mails, so the frontend's port is chosen first.
    const frontendPort = await freePort();
    const frontendUrl = `http://127.0.0.1:${frontendPort}`;

    const usersConfig = readConfig(usersConfigSpec, {
      DATABASE_URL: database.url,
      SMTP_URL: mail.smtpUrl,
      FRONTEND_URL: frontendUrl,
      SESSION_SECRET: randomBytes(24).toString('hex'),
      MAIL_RETRY_SECONDS: '1',
      ...opts.usersEnv,
    });
    const users = await createUsersService({ config: usersConfig, log: createLogger('users', logLevel) });
    cleanups.push(async () => {
      await users.app.close();
      await users.close();
    });
    const usersUrl = await listen(users.app);

    const ui = buildUiServer({ log: createLogger('ui-server', logLevel) });
    cleanups.push(() => ui.app.close());
    const uiServerUrl = await listen(ui.app);

    let appMapperUrl = `http://127.0.0.1:${await freePort()}`;
    if (opts.appMapper) {
      const started = await opts.appMapper({
        usersUrl,
        frontendUrl,
        createDatabase: newDatabase,
        log: (service) => createLogger(service, logLevel),
      });
      cleanups.push(() => started.close());
      appMapperUrl = started.url;
    }

    const frontend = await buildFrontend({
      log: createLogger('frontend', logLevel),
      usersUrl,
      uiServerUrl,
      appMapperUrl,
      loginRateLimitPerMinute: opts.loginRateLimitPerMinute ?? 20,
    });
    cleanups.push(() => frontend.app.close());
    await listen(frontend.app, frontendPort);

    return {
      frontendUrl,
      usersUrl,
      uiServerUrl,
      appMapperUrl,
      mail,
      database,
      users,
      approve: async (email) => {
        const listed = await fetch(`${usersUrl}/private/api/users`, { headers: { accept: 'application/json' } });
        if (!listed.ok) throw new Error(`listing users failed: ${listed.status} ${await listed.text()}`);
        const user = ((await listed.json()) as { id: string; email: string }[]).find((u) => u.email === email);
        if (!user) throw new Error(`${email} has not signed up`);
        const res = await fetch(`${usersUrl}/private/api/users/${user.id}/approve`, { method: 'POST', headers: { accept: 'application/json' } });
        if (!res.ok) throw new Error(`approving ${email} failed: ${res.status} ${await res.text()}`);
        return (await res.json()) as { organizationName: string };
      },
      loginLink: async (email) => loginLinkIn(await mail.waitForMail(email, /account is ready|login link/i, 60_000)),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
