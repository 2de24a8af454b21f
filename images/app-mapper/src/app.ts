/**
 * app-mapper's HTTP surface. Browsers reach their org's Scope app under /api/app/{orgName}/ with their session
 * cookie; probes post reports and open the control websocket with their probe token. Either way the users
 * service says which organisation the caller belongs to, and the request goes to that organisation's app only.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import replyFrom, { type FastifyReplyFromHooks } from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { createHttpServer, HttpError, UpgradeProxy, type HttpServer, type Logger } from '@saas/kit';
import { probeIdPattern } from '@saas/kit/contracts';
import type { AppManager } from './apps.ts';
import { appPrefix, checkOrgName, parseAppPath } from './paths.ts';
import type { Store } from './store.ts';
import type { UsersClient } from './users.ts';
import { appUpgradeHeaders, refuse } from './ws-proxy.ts';

export interface AppDeps {
  log: Logger;
  store: Store;
  users: UsersClient;
  apps: AppManager;
}

export interface AppMapperServer extends HttpServer {
  /** Closes proxied websockets; call before app.close() so the server can stop. */
  closeWebsockets(): void;
}

/** Connection-level errors that mean the app process is gone or restarting. */
const deadAppCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

interface Target {
  org: string;
  url: string;
  /** /api/app/{orgName} for browser requests (Location headers are rewritten under it). */
  prefix?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    appTarget?: Target;
  }
}

export function buildApp(deps: AppDeps): AppMapperServer {
  const { log, store, users, apps } = deps;
  const server = createHttpServer({
    logger: log,
    readiness: [{ name: 'database', check: () => store.ping() }],
    fastify: { keepAliveTimeout: 65_000 },
  });
  const { app } = server;
  const ws = new UpgradeProxy({
    opened: (org) => apps.connectionOpened(org),
    closed: (org) => apps.connectionClosed(org),
    unreachable: async (org) => {
      await apps.unreachable(org);
      return restarting();
    },
  });

  app.register(replyFrom, {
    disableRequestLogging: true,
    undici: { connections: 128, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 0 },
  });

  app.get('/api/org/:orgName/probes', async (request) => {
    const { orgName } = request.params as { orgName: string };
    checkOrgName(orgName);
    const { organizationID } = await users.lookupOrg(orgName, request.headers.cookie);
    await learnHostnames(organizationID);
    const probes = await store.listProbes(organizationID);
    return probes.map((p) => (p.hostname ? { id: p.id, hostname: p.hostname, lastSeen: p.lastSeen } : { id: p.id, lastSeen: p.lastSeen }));
  });

  /** Hostnames live in the reports, which only the org's app reads; ask it when it runs (never start it for this). */
  async function learnHostnames(org: string): Promise<void> {
    const running = await apps.ifReady(org);
    if (!running) return;
    try {
      const res = await fetch(`${running.url}/api/probes`, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return void (await res.body?.cancel());
      const body = (await res.json()) as unknown;
      if (!Array.isArray(body)) return;
      const known = body.flatMap((p: unknown) => {
        const probe = p as { id?: unknown; hostname?: unknown };
        return typeof probe?.id === 'string' && typeof probe.hostname === 'string' && probe.hostname ? [{ id: probe.id, hostname: probe.hostname }] : [];
      });
      await store.setHostnames(org, known);
    } catch (err) {
      log.debug({ err: (err as Error).message, org }, 'could not read probe hostnames from the app');
    }
  }

  // Everything proxied lives in its own context: bodies stream through unparsed.
  app.register(async (proxied: FastifyInstance) => {
    proxied.removeAllContentTypeParsers();
    proxied.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    proxied.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/api/app/*',
      handler: async (request, reply) => {
        const parsed = parseAppPath(request.raw.url ?? '');
        if (parsed.kind === 'redirect') return reply.redirect(parsed.location, 308);
        const { organizationID } = await users.lookupOrg(parsed.orgName, request.headers.cookie);
        const target = await apps.acquire(organizationID).catch((err: unknown) => {
          if (err instanceof HttpError && err.statusCode === 503 && wantsPage(request.headers.accept, request.method)) {
            return reply.code(503).headers(err.headers).type('text/html; charset=utf-8').send(startingPage(err));
          }
          throw err;
        });
        if (!('url' in target)) return target;
        request.appTarget = { org: organizationID, url: target.url, prefix: parsed.prefix };
        return forward(reply, parsed.upstreamPath);
      },
    });

    proxied.get('/api/control/ws', async () => {
      throw new HttpError(426, 'a websocket upgrade is required', { Upgrade: 'websocket' });
    });
  });

  // Reports are small and many: the probe is authenticated before its body is read, then the body and the app's
  // answer go across whole (one write each way instead of a stream of chunks).
  app.register(async (reports: FastifyInstance) => {
    reports.removeAllContentTypeParsers();
    reports.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: reportBodyLimit }, (_request, body, done) => done(null, body));
    // Every probe posts every 3 s: per-report access lines would drown the log (failures still log as warnings).
    reports.post('/api/report', {
      logLevel: 'warn',
      onRequest: async (request) => {
        const { organizationID } = await users.lookupProbe(request.headers.authorization);
        const probeId = request.headers['x-scope-probe-id'];
        if (typeof probeId !== 'string' || !probeIdPattern.test(probeId)) {
          throw new HttpError(400, 'missing or invalid X-Scope-Probe-ID header');
        }
        store.seeProbe(organizationID, probeId);
        const target = await apps.acquire(organizationID);
        request.appTarget = { org: organizationID, url: target.url };
      },
      handler: async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        return forward(reply, request.raw.url ?? '/api/report', { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' });
      },
    });
  });

  function forward(reply: FastifyReply, path: string, buffered?: { body: Buffer; contentType: string }): FastifyReply {
    // A request in flight keeps its app from being swept as idle, however long it takes.
    const org = (reply.request.appTarget as Target).org;
    apps.connectionOpened(org);
    reply.raw.once('close', () => apps.connectionClosed(org));
    // The query goes on its own: reply-from refuses any `../` in the URL it is given, and a query may hold one
    // (the path itself was checked for dot segments already).
    const q = path.indexOf('?');
    const query = q < 0 ? '' : path.slice(q + 1);
    return reply.from(q < 0 ? path : path.slice(0, q), {
      queryString: () => query,
      ...(buffered && { body: buffered.body, contentType: buffered.contentType, onResponse: sendWhole }),
      getUpstream: (request) => (request.appTarget as Target).url,
      rewriteRequestHeaders: (request, headers) => {
        const target = request.appTarget as Target;
        const out = { ...headers };
        delete out.cookie;
        delete out.authorization;
        out['x-scope-orgid'] = target.org;
        if (target.prefix) out['x-forwarded-prefix'] = target.prefix;
        return out;
      },
      rewriteHeaders: (headers, request) => {
        const prefix = request?.appTarget?.prefix;
        const location = headers.location;
        if (prefix && typeof location === 'string' && location.startsWith('/') && !location.startsWith('//')) {
          return { ...headers, location: `${prefix}${location}` };
        }
        return headers;
      },
      retryDelay: () => null,
      onError: (r, { error }) => {
        const request = r.request;
        const target = request.appTarget as Target;
        const code = errorCode(error);
        if (code && deadAppCodes.has(code)) {
          void apps.unreachable(target.org).catch((err: Error) => log.error({ err, org: target.org }, 'restart check failed'));
          return void r.code(503).header('Retry-After', '2').send({ errors: [{ message: restarting().message }] });
        }
        request.log.warn({ err: error, org: target.org }, 'proxying to the app failed');
        r.code(502).send({ errors: [{ message: `the organisation's app failed: ${error.message}` }] });
      },
    });
  }

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head).catch((err: unknown) => {
      if (err instanceof HttpError) return refuse(socket, err);
      log.error({ err }, 'websocket upgrade failed');
      refuse(socket, new HttpError(500, 'internal error'));
    });
  });

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const rawUrl = req.url ?? '/';
    const pathname = rawUrl.split('?', 1)[0] as string;
    if (req.method !== 'GET') throw new HttpError(405, 'websocket upgrades must use GET');
    if (pathname.startsWith(appPrefix)) {
      const parsed = parseAppPath(rawUrl);
      if (parsed.kind === 'redirect') throw new HttpError(404, `no websocket at ${pathname}`);
      const { organizationID } = await users.lookupOrg(parsed.orgName, req.headers.cookie);
      const app = await apps.acquire(organizationID);
      ws.proxy(req, socket, head, { key: organizationID, name: "the organisation's app", url: app.url, path: parsed.upstreamPath, headers: appUpgradeHeaders(req, { 'x-scope-orgid': organizationID, 'x-forwarded-prefix': parsed.prefix }) });
      return;
    }
    if (pathname === '/api/control/ws') {
      const { organizationID } = await users.lookupProbe(req.headers.authorization);
      const probeId = req.headers['x-scope-probe-id'];
      if (typeof probeId === 'string' && probeIdPattern.test(probeId)) store.seeProbe(organizationID, probeId);
      const app = await apps.acquire(organizationID);
      ws.proxy(req, socket, head, { key: organizationID, name: "the organisation's app", url: app.url, path: rawUrl, headers: appUpgradeHeaders(req, { 'x-scope-orgid': organizationID }) });
      return;
    }
    throw new HttpError(404, `no websocket at ${pathname}`);
  }

  return { ...server, closeWebsockets: () => ws.closeAll() };
}

/** A browser navigating (not a script): it gets a page that reloads itself rather than a JSON error. */
function wantsPage(accept: string | undefined, method: string): boolean {
  return method === 'GET' && !!accept && accept.includes('text/html');
}

function startingPage(err: HttpError): string {
  const seconds = Number(err.headers['Retry-After'] ?? 2) || 2;
  const text = err.message.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="${seconds}">
<title>Starting your Scope app</title>
<style>body{font-family:system-ui,sans-serif;margin:4rem auto;max-width:36rem;color:#333}</style></head>
<body><h1>Starting your Scope app…</h1><p>${text}.</p><p>This page reloads itself in ${seconds} s.</p></body></html>
`;
}

/** Largest report accepted; the Scope app refuses bigger ones itself (413) with the same limit. */
const reportBodyLimit = 20 * 1024 * 1024;

/** Sends the app's (small) answer to a report in one piece. */
const sendWhole: NonNullable<FastifyReplyFromHooks['onResponse']> = (_request, reply, res) => {
  const chunks: Buffer[] = [];
  res.stream.on('data', (c: Buffer) => chunks.push(c));
  res.stream.on('error', (err: Error) => reply.send(err));
  res.stream.on('end', () => {
    reply.removeHeader('transfer-encoding');
    reply.removeHeader('content-length');
    reply.send(Buffer.concat(chunks));
  });
};

function restarting(): HttpError {
  return new HttpError(503, "the organisation's Scope app is restarting; try again shortly", { 'Retry-After': '2' });
}

function errorCode(error: Error): string | undefined {
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && deadAppCodes.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
