import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { readConfig, type Logger, type Pool } from '@saas/kit';
import { createPostgresDatabase, startPgliteServer, type CapturedMail, type TestDatabase } from '@saas/kit/testing';
import { createUsersService, type UsersService } from '../../images/users/src/app.ts';
import { configSpec } from '../../images/users/src/config.ts';

export const databases = [
  ['PostgreSQL', createPostgresDatabase],
  ['PGlite', startPgliteServer],
] as const;

export const FRONTEND_URL = 'http://frontend.test:8080';

/** A clock the test can move forward (it runs with real time, offset). */
export class TestClock {
  offsetMs = 0;
  now = (): Date => new Date(Date.now() + this.offsetMs);
  advanceHours(hours: number): void {
    this.offsetMs += hours * 3600_000;
  }
}

/** Log lines the service wrote, parsed. */
export class LogCapture {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: Logger;
  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line.trim()) continue;
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
          if (process.env.USERS_TEST_LOGS) process.stderr.write(`${line}\n`);
        }
        done();
      },
    });
    this.logger = pino({ level: 'info', base: { service: 'users' } }, sink);
  }
  find(msg: string | RegExp): Record<string, unknown> | undefined {
    return this.lines.find((l) => typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  }
}

export interface RunningUsers {
  url: string;
  service: UsersService;
  /** The service's own pool, to read and change tables directly (on PGlite it is one connection, see app.ts). */
  db: Pool;
  logs: LogCapture;
  clock: TestClock;
  /** Stops the service and its pool (not the database). */
  stop(): Promise<void>;
}

export interface StartOptions {
  databaseUrl: string;
  smtpUrl: string;
  mailRetrySeconds?: number;
  env?: Record<string, string>;
  clock?: TestClock;
}

/** The users service in-process on 127.0.0.1:<random>, configured through the same env parsing main.ts uses. */
export async function startUsers(o: StartOptions): Promise<RunningUsers> {
  const config = readConfig(configSpec, {
    DATABASE_URL: o.databaseUrl,
    SMTP_URL: o.smtpUrl,
    FRONTEND_URL: FRONTEND_URL,
    SESSION_SECRET: randomBytes(24).toString('hex'),
    MAIL_RETRY_SECONDS: String(o.mailRetrySeconds ?? 1),
    ...o.env,
  });
  const logs = new LogCapture();
  const clock = o.clock ?? new TestClock();
  const service = await createUsersService({ config, log: logs.logger, clock: clock.now });
  await service.app.listen({ port: 0, host: '127.0.0.1' });
  const address = service.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  const db = service.store.pool;
  return {
    url: `http://127.0.0.1:${address.port}`,
    service,
    db,
    logs,
    clock,
    stop: async () => {
      await service.app.close();
      await service.close();
    },
  };
}

export async function withDatabase<T>(start: () => Promise<TestDatabase>, fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  const db = await start();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

let counter = 0;
/** A fresh address per test, so tests sharing one maildev never see each other's mail. */
export const uniqueEmail = (label: string) => `${label}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}@example.com`;

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = unknown>(url: string, init: RequestInit = {}): Promise<JsonResponse<T>> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: body as T };
}

export const postJson = <T = unknown>(url: string, body: unknown, headers: Record<string, string> = {}) =>
  request<T>(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

/** The `name=value` of the session cookie a response set. */
export function sessionCookie(res: JsonResponse): string {
  const set = res.headers.getSetCookie().find((c) => c.startsWith('_weave_scope_session='));
  if (!set) throw new Error(`no session cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
  return set.split(';')[0] as string;
}

/** The login link's email and token, from the text of a mail. */
export function loginLinkOf(mail: CapturedMail): { link: URL; email: string; token: string } {
  const m = /(https?:\/\/\S+\/login\?\S+)/.exec(mail.text ?? '');
  if (!m?.[1]) throw new Error(`no login link in mail ${JSON.stringify(mail.text)}`);
  const link = new URL(m[1]);
  return { link, email: link.searchParams.get('email') ?? '', token: link.searchParams.get('token') ?? '' };
}

export interface ListedUser {
  id: string;
  email: string;
  approved: boolean;
  createdAt: string;
}

export async function userId(base: string, email: string): Promise<string> {
  const list = await request<ListedUser[]>(`${base}/private/api/users`, { headers: { accept: 'application/json' } });
  const user = list.body.find((u) => u.email === email);
  if (!user) throw new Error(`${email} is not listed`);
  return user.id;
}

export interface ErrorBody {
  errors: { message: string }[];
}

/** Signs up, approves and logs in one user; returns their cookie and organisation. */
export async function loggedInUser(
  base: string,
  mail: { waitForMail(to: string, subject: RegExp, timeoutMs?: number): Promise<CapturedMail> },
  label: string,
): Promise<{ email: string; cookie: string; organizationName: string; id: string }> {
  const email = uniqueEmail(label);
  const signup = await postJson(`${base}/api/users/signup`, { email });
  if (signup.status !== 200) throw new Error(`sign-up failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  const id = await userId(base, email);
  const approve = await postJson(`${base}/private/api/users/${id}/approve`, {});
  if (approve.status !== 200) throw new Error(`approval failed: ${approve.status} ${JSON.stringify(approve.body)}`);
  const { token } = loginLinkOf(await mail.waitForMail(email, /ready/, 60_000));
  const login = await request<{ organizationName: string }>(
    `${base}/api/users/login?email=${encodeURIComponent(email)}&token=${token}`,
  );
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { email, cookie: sessionCookie(login), organizationName: login.body.organizationName, id };
}
