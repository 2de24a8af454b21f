import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { createHttpServer, HttpError, notFound, type HttpServer, type Logger } from '@saas/kit';
import { canonicalUrl, isPrivatePath } from './paths.ts';
import { reportRoute } from './report.ts';
import { proxyRoute, type Upstream } from './upstream.ts';
import { websocketUpgrades } from './websockets.ts';

export const VERSION = '0.1.0';
export const MiB = 1024 * 1024;

export interface FrontendOptions {
  log: Logger;
  usersUrl: string;
  uiServerUrl: string;
  appMapperUrl: string;
  /** Login attempts per client address per minute (GET /api/users/login). */
  loginRateLimitPerMinute: number;
  /** Take the client address from X-Forwarded-For (only when a trusted proxy stands before us). */
  trustProxy?: boolean;
  /** Largest probe report (POST /api/report); default 20 MiB. */
  reportBodyLimit?: number;
  /** Report bytes all reports in flight may hold between them; default 64 MiB. */
  reportBytesInFlight?: number;
  /** Largest body anywhere else; default 1 MiB. */
  bodyLimit?: number;
  /** What GET /api answers as the app's id; random per process by default. */
  id?: string;
}

/**
 * The one public port: answers the probe handshake itself, routes by path prefix to users, app-mapper
 * and ui-server (websockets included), and never lets anything reach a `/private` route.
 */
export async function buildFrontend(opts: FrontendOptions): Promise<HttpServer> {
  const trustProxy = opts.trustProxy ?? false;
  const bodyLimit = opts.bodyLimit ?? MiB;
  const server = createHttpServer({
    logger: opts.log,
    bodyLimit,
    fastify: { trustProxy, rewriteUrl: (req) => canonicalUrl(req.url ?? '/') },
  });
  const { app } = server;

  app.addHook('onRequest', async (request) => {
    if (isPrivatePath(request.url) || isPrivatePath(request.originalUrl)) {
      throw notFound(`no route for ${request.method} ${request.url.split('?')[0]}`);
    }
  });

  const id = opts.id ?? randomBytes(8).toString('hex');
  const host = hostname();
  app.get('/api', async () => ({ id, version: VERSION, hostname: host }));

  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, `too many login attempts from your address; try again in ${context.after}`, {
        'retry-after': String(Math.ceil(context.ttl / 1000)),
      }),
  });

  const users: Upstream = { name: 'users', url: opts.usersUrl };
  const appMapper: Upstream = { name: 'app-mapper', url: opts.appMapperUrl };
  const uiServer: Upstream = { name: 'ui-server', url: opts.uiServerUrl };

  await proxyRoute(app, users, { prefix: '/api/users', bodyLimit, trustProxy });
  await proxyRoute(app, users, {
    prefix: '/api/users/login',
    bodyLimit,
    trustProxy,
    config: { rateLimit: { max: opts.loginRateLimitPerMinute, timeWindow: 60_000 } },
  });
  await proxyRoute(app, appMapper, { prefix: '/api/app', bodyLimit, trustProxy });
  await proxyRoute(app, appMapper, { prefix: '/api/org', bodyLimit, trustProxy });
  // Probes POST a report every few seconds: that has a lean route of its own; other methods go the general way.
  const reportBodyLimit = opts.reportBodyLimit ?? 20 * MiB;
  await reportRoute(app, appMapper, '/api/report', { bodyLimit: reportBodyLimit, bytesInFlight: opts.reportBytesInFlight, trustProxy });
  await proxyRoute(app, appMapper, { prefix: '/api/report', bodyLimit: reportBodyLimit, trustProxy, methods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'PUT', 'OPTIONS'] });
  await proxyRoute(app, appMapper, { prefix: '/api/control/ws', bodyLimit, trustProxy });
  await proxyRoute(app, uiServer, { prefix: '', bodyLimit, trustProxy });

  const websockets = websocketUpgrades(
    app.server,
    [
      { prefix: '/api/app', upstream: appMapper },
      { prefix: '/api/control/ws', upstream: appMapper },
    ],
    trustProxy,
  );
  app.addHook('onClose', async () => websockets.closeAll());

  return server;
}
