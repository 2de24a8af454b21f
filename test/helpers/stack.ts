/**
 * The account stack on loopback, for end-to-end tests: real maildev, a real database (PostgreSQL or
 * PGlite), the users service, the ui-server and the frontend in front of them, each on its own
 * 127.0.0.1 port. App-mapper (and what it needs) can be plugged in by the tests that have one.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLogger, readConfig, type Logger } from '@saas/kit';
import { createPostgresDatabase, freePort, startMaildev, startPgliteServer, type CapturedMail, type Maildev, type TestDatabase } from '@saas/kit/testing';
import { createUsersService, type UsersService } from '../../images/users/src/app.ts';
import { configSpec as usersConfigSpec } from '../../images/users/src/config.ts';
import { buildUiServer } from '../../images/ui-server/src/app.ts';
import { buildFrontend } from '../../images/frontend/src/app.ts';

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
      loginLink: async (email) => loginLinkIn(await mail.waitForMail(email, /account is ready|login link/i, 30_000)),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
