import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { createHttpServer, HttpError, notFound, type HttpServer, type Logger } from '@saas/kit';
import { canonicalUrl, isPrivatePath } from './paths.ts';
import { reportRoute } from './report.ts';
import { proxyRoute, type RouteConfig, type Upstream } from './upstream.ts';

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
    // An upgrade (Connection: upgrade) reaches the routes through the proxy's upgrade listener; only the
    // websocket routes can take one, and the rest must answer rather than leave the socket hanging.
    if ((request.raw as IncomingMessage & { upgrade?: boolean }).upgrade && (request.routeOptions.config as RouteConfig).websocket !== true) {
      const path = request.url.split('?')[0];
      const upgrade = request.headers.upgrade ?? '';
      if (upgrade.toLowerCase() === 'websocket') throw notFound(`no websocket at ${path}`);
      throw new HttpError(400, `${path} does not take a protocol upgrade (Upgrade: ${upgrade})`);
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
  await proxyRoute(app, appMapper, { prefix: '/api/app', bodyLimit, trustProxy, websocket: true });
  await proxyRoute(app, appMapper, { prefix: '/api/org', bodyLimit, trustProxy });
  // Probes POST a report every few seconds: that has a lean route of its own; other methods go the general way.
  const reportBodyLimit = opts.reportBodyLimit ?? 20 * MiB;
  await reportRoute(app, appMapper, '/api/report', { bodyLimit: reportBodyLimit, trustProxy });
  await proxyRoute(app, appMapper, { prefix: '/api/report', bodyLimit: reportBodyLimit, trustProxy, methods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'PUT', 'OPTIONS'] });
  await proxyRoute(app, appMapper, { prefix: '/api/control/ws', bodyLimit, trustProxy, websocket: true });
  await proxyRoute(app, uiServer, { prefix: '', bodyLimit, trustProxy });

  return server;
}
