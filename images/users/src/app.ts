import type { FastifyInstance } from 'fastify';
import { createHttpServer, createPool, migrate, waitForDatabase, type Logger, type Pool } from '@saas/kit';
import type { UsersConfig } from './config.ts';
import type { UsersContext } from './context.ts';
import { smtpTransport, type MailTransport } from './mailer.ts';
import { migrations } from './migrations.ts';
import { Outbox } from './outbox.ts';
import { adminRoutes } from './routes/admin.ts';
import { privateRoutes } from './routes/private.ts';
import { publicRoutes } from './routes/public.ts';
import { Sessions } from './sessions.ts';
import { Store } from './store.ts';
import { Throttle } from './throttle.ts';

export const BODY_LIMIT = 64 * 1024;

export interface UsersDeps {
  config: UsersConfig;
  log: Logger;
  /** Defaults to a pool on config.databaseUrl, ended on close. */
  pool?: Pool;
  /** Defaults to SMTP at config.smtpUrl. */
  transport?: MailTransport;
  /** The service's notion of now (tests move it to expire tokens and sessions). */
  clock?: () => Date;
  /** How long to wait for the database at start. */
  databaseTimeoutMs?: number;
}

export interface UsersService {
  app: FastifyInstance;
  store: Store;
  outbox: Outbox;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

/**
 * The users service from explicit dependencies: waits for the database, migrates it, builds the HTTP app and
 * starts the mail outbox. The caller listens (runService in main.ts, app.listen in tests).
 */
export async function createUsersService(deps: UsersDeps): Promise<UsersService> {
  const { config, log } = deps;
  const clock = deps.clock ?? (() => new Date());
  const pool = deps.pool ?? createPool(config.databaseUrl, log);
  const ownPool = !deps.pool;
  const transport = deps.transport ?? smtpTransport(config.smtpUrl, config.mailFrom);
  try {
    await waitForDatabase(pool, log, deps.databaseTimeoutMs);
    await migrate(pool, migrations, log);
  } catch (err) {
    transport.close();
    if (ownPool) await pool.end().catch(() => undefined);
    throw err;
  }

  const store = new Store(pool);
  const outbox = new Outbox({
    store,
    transport,
    log,
    clock,
    frontendUrl: config.frontendUrl,
    loginTokenTtlHours: config.loginTokenTtlHours,
    retrySeconds: config.mailRetrySeconds,
  });
  const sessions = new Sessions({
    store,
    clock,
    ttlHours: config.sessionTtlHours,
    secret: config.sessionSecret,
    secure: config.frontendUrl.startsWith('https:'),
  });
  const throttle = new Throttle(pool);
  const signupLimits = {
    mailsPerAddress: { limit: config.signupMailsPerAddressPerHour, windowMs: 3600_000 },
    perClient: { limit: config.signupsPerClientPerMinute, windowMs: 60_000 },
  };
  const ctx: UsersContext = { store, sessions, outbox, clock, throttle, signupLimits };
  const pruneThrottle = setInterval(() => {
    throttle.prune(clock(), signupLimits.mailsPerAddress.windowMs).catch((err: Error) => log.warn({ err: err.message }, 'could not prune the throttle table'));
  }, 600_000);
  pruneThrottle.unref();

  const { app, setReady } = createHttpServer({
    logger: log,
    bodyLimit: BODY_LIMIT,
    readiness: [{ name: 'database', check: () => store.ping() }],
  });
  installBodyParsers(app);
  app.addHook('onSend', async (request, reply) => {
    if (request.url.startsWith('/api/') || request.url.startsWith('/private/api/')) reply.header('cache-control', 'no-store');
  });
  publicRoutes(app, ctx);
  privateRoutes(app, ctx);
  adminRoutes(app, ctx);

  outbox.start();
  return {
    app,
    store,
    outbox,
    setReady,
    close: async () => {
      clearInterval(pruneThrottle);
      await outbox.stop();
      transport.close();
      if (ownPool) await pool.end();
    },
  };
}

/**
 * JSON bodies go through the kit's parser. Form posts (the admin page's Approve buttons) parse to a plain
 * object. A parser rather than a plugin: nothing to boot, so nothing that can time out at start.
 */
function installBodyParsers(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    done(null, Object.fromEntries(new URLSearchParams(text)));
  });
}
