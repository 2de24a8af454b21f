import { randomBytes } from 'node:crypto';
import os from 'node:os';
import websocket from '@fastify/websocket';
// the kit's modules one by one: its index also loads pg (~14 MB of RSS) that the app has no use for
import { probeIdPattern } from '@saas/kit/contracts';
import { badRequest, HttpError, notFound } from '@saas/kit/errors';
import { createHttpServer } from '@saas/kit/http';
import type { Logger } from '@saas/kit/log';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import { DecodeError, decodeReport, reportToJSON } from '../report/index.ts';
import { ReportStore } from './store.ts';
import { VIEWS, type ViewID } from './topologies.ts';
import { diff, isEmpty, Views, type Rendered } from './views.ts';
import { buildWebAssets, type WebAssets } from './web.ts';

export const SCOPE_VERSION = '1.13.2';
/** Largest report body accepted (Scope probes of big hosts send a few MiB gzip'd). */
export const REPORT_BODY_LIMIT = 20 * 1024 * 1024;

export interface ScopeAppOptions {
  logger: Logger;
  store?: ReportStore;
  /** how often websockets look for changes, ms (default 1000) */
  wsIntervalMs?: number;
  /** how often reports past the window are dropped, ms (default 1000) */
  pruneIntervalMs?: number;
  /** the map page; built (or read from its cache) on first use when not given */
  web?: () => Promise<WebAssets>;
  hostname?: string;
}

export interface ScopeApp {
  app: FastifyInstance;
  store: ReportStore;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}


/** The Scope app: report ingestion, the topology API and websockets, and the map page. */
export async function buildScopeApp(opts: ScopeAppOptions): Promise<ScopeApp> {
  const store = opts.store ?? new ReportStore();
  const views = new Views(store);
  const id = randomBytes(8).toString('hex');
  const hostname = opts.hostname ?? os.hostname();
  const { app, setReady } = createHttpServer({ logger: opts.logger });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  const pruneTimer = setInterval(() => store.prune(), opts.pruneIntervalMs ?? 1000);
  pruneTimer.unref();

  // --- ingestion: the body is read raw whatever its type and decoded here
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: REPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));
    // Probes report every few seconds each: Fastify's two info lines per request (a quarter of the app's CPU
    // per report, bench/scope-app-ingest.ts) would be most of the log; refusals and failures still show.
    scope.post('/api/report', { bodyLimit: REPORT_BODY_LIMIT, logLevel: 'warn' }, async (request, reply) => {
      const body = request.body;
      if (!Buffer.isBuffer(body) || body.length === 0) throw badRequest('empty report body');
      const probeHeader = request.headers['x-scope-probe-id'];
      const probeID = typeof probeHeader === 'string' && probeHeader !== '' ? probeHeader : 'unknown';
      if (!probeIdPattern.test(probeID)) throw badRequest('X-Scope-Probe-ID must be 1 to 128 printable characters');
      let report;
      try {
        report = decodeReport(body, {
          contentType: request.headers['content-type'],
          contentEncoding: header(request.headers['content-encoding']),
        });
      } catch (err) {
        if (err instanceof DecodeError) {
          request.log.warn({ probeID, reason: err.message }, 'report refused');
          throw new HttpError(err.statusCode, `bad report: ${err.message}`);
        }
        throw err;
      }
      store.add(probeID, report, { version: header(request.headers['x-scope-probe-version']) });
      return reply.code(200).send();
    });
  });

  // --- API
  app.get('/api', async () => ({ id, version: SCOPE_VERSION, hostname }));
  app.get('/api/probes', async () => store.probes());
  app.get('/api/report', async (_request, reply) => reply.type('application/json').send(reportToJSON(store.report())));
  app.get<{ Querystring: Record<string, string> }>('/api/topology', async (request) => views.list(request.query));
  app.get<{ Params: { name: string }; Querystring: Record<string, string> }>('/api/topology/:name', async (request) => {
    const r = views.get(viewName(request.params.name), request.query);
    return { nodes: Object.fromEntries(r.nodes) };
  });
  app.get<{ Params: { name: string; id: string }; Querystring: Record<string, string> }>('/api/topology/:name/:id', async (request) => {
    const name = viewName(request.params.name);
    const node = views.get(name, request.query).nodes.get(request.params.id);
    if (!node) throw notFound(`no node ${JSON.stringify(request.params.id)} in ${name}`);
    return { node };
  });

  const sockets = new Set<WebSocket>();
  app.get<{ Params: { name: string }; Querystring: Record<string, string> }>('/api/topology/:name/ws', { websocket: true }, (socket, request) => {
    const name = request.params.name;
    if (!Views.isName(name)) {
      socket.close(4404, `no topology ${name}`);
      return;
    }
    const query = request.query;
    try {
      views.get(name, query);
    } catch (err) {
      socket.close(4400, (err instanceof Error ? err.message : 'bad options').replace(/[^\x20-\x7e]/g, '?').slice(0, 120));
      return;
    }
    const interval = parseInterval(request.query.t) ?? opts.wsIntervalMs ?? 1000;
    let last: Rendered | undefined;
    const push = () => {
      if (socket.readyState !== socket.OPEN) return;
      if (last && last.version === store.version) return;
      // a client that is not keeping up gets the next diff once its buffer drains
      if (socket.bufferedAmount > 4 * 1024 * 1024) return;
      const next = views.get(name, query);
      const d = diff(last, next);
      if (last && isEmpty(d)) {
        last = next;
        return;
      }
      last = next;
      socket.send(JSON.stringify(d));
    };
    sockets.add(socket);
    push();
    const timer = setInterval(push, interval);
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
    });
    socket.on('message', () => undefined);
  });

  // Scope probes with controls enabled hold a websocket here for the app's JSON-RPC control requests. This
  // app issues none (the map is read-only); holding the connection keeps such probes from reconnecting.
  app.get('/api/control/ws', { websocket: true }, (socket, request) => {
    const probeID = header(request.headers['x-scope-probe-id']) ?? 'unknown';
    request.log.info({ probeID }, 'probe control connection');
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('message', () => undefined); // replies to requests we never sent
  });

  // --- the map page, relative URLs throughout (it is served under /api/app/{org}/)
  let assets: Promise<WebAssets> | undefined;
  const web = () => {
    assets ??= (opts.web ?? buildWebAssets)().catch((err: unknown) => {
      assets = undefined;
      throw err;
    });
    return assets;
  };
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send((await web())['index.html']));
  app.get('/index.html', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send((await web())['index.html']));
  app.get('/static/app.js', async (_request, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send((await web())['app.js']));
  app.get('/static/style.css', async (_request, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send((await web())['style.css']));

  return {
    app,
    store,
    setReady,
    close: async () => {
      clearInterval(pruneTimer);
      for (const s of sockets) s.terminate();
    },
  };
}

/** A view's name from the path, or 404 naming the views there are. */
function viewName(name: string): ViewID {
  if (!Views.isName(name)) throw notFound(`no topology ${JSON.stringify(name)} (${VIEWS.map((v) => v.id).join(', ')})`);
  return name;
}

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Scope's ws `t` parameter: a Go duration such as `1s` or `500ms`. */
function parseInterval(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(t);
  if (!m) return undefined;
  const ms = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  return Math.min(Math.max(ms, 100), 60_000);
}
