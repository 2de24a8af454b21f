/**
 * POST /api/report, the route every probe hits every few seconds. Before a byte of the body is read, the probe's
 * credential must have the right form (app-mapper checks the token itself), the declared length must be within
 * the limit, and the body must fit in what all reports in flight may hold between them. The body then streams to
 * app-mapper over a keep-alive pool (never held whole here), and app-mapper's small answer comes back whole, with
 * no access-log line.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'undici';
import { HttpError, unauthorized } from '@saas/kit';
import { ByteBudget } from './byte-budget.ts';
import { endToEnd } from './hop-by-hop.ts';
import { parseProbeAuthorization, PROBE_AUTH_EXPECTED } from '@saas/kit/contracts';
import { forwardedHeaders, limitedPassThrough, oversizedLimit, tooLarge, upstreamError, type Upstream } from './upstream.ts';

export interface ReportRouteOptions {
  /** Largest report in bytes; a larger declared Content-Length is refused at once, a chunked body when it passes. */
  bodyLimit: number;
  /** Bytes all reports in flight may hold between them (default 64 MiB); past it a report gets 503 + Retry-After. */
  bytesInFlight?: number;
  trustProxy: boolean;
  /** Connections kept open to the upstream (default 64). */
  connections?: number;
  /** How long the upstream may take to answer, in ms (default 60 s). */
  timeoutMs?: number;
}

/** Besides the hop-by-hop headers: the ones undici sets itself or refuses, and the proxy headers set here. */
const NOT_FORWARDED = ['host', 'expect', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

export function reportRequestHeaders(request: FastifyRequest, trustProxy: boolean): Record<string, string | string[]> {
  return Object.assign(endToEnd(request.headers, NOT_FORWARDED), forwardedHeaders(request.raw, trustProxy));
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One POST through the pool, the answer gathered whole. undici's handler callbacks rather than `request()`: no
 * response stream, no AbortController, for an answer of a few bytes.
 */
function post(pool: Pool, path: string, headers: Record<string, string | string[]>, body: Readable | null, started: (abort: (reason: Error) => void) => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let bytes = 0;
    pool.dispatch(
      { method: 'POST', path, headers, body },
      {
        onRequestStart: (controller) => started((reason) => controller.abort(reason)),
        onResponseStart: (_controller, statusCode, h) => {
          status = statusCode;
          responseHeaders = h;
        },
        onResponseData: (_controller, chunk) => {
          chunks.push(chunk);
          bytes += chunk.length;
        },
        onResponseEnd: () => resolve({ status, headers: responseHeaders, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes) }),
        onResponseError: (_controller, err) => reject(err),
      },
    );
  });
}

/** The bytes a request will hold: its declared length, or the limit for a chunked body. 413 past the limit. */
function declaredBytes(request: FastifyRequest, limit: number): number {
  const declared = request.headers['content-length'];
  if (declared === undefined) return request.headers['transfer-encoding'] ? limit : 0;
  const n = Number(declared);
  if (n > limit) throw tooLarge(limit);
  return n;
}

/**
 * Registers POST `path` and POST `path`/* (the path and query forwarded as they are) on its own keep-alive pool
 * to `upstream`. Other methods on the path are left to the general proxy.
 */
export async function reportRoute(app: FastifyInstance, upstream: Upstream, path: string, opts: ReportRouteOptions): Promise<void> {
  const origin = new URL(upstream.url).origin;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const budget = new ByteBudget(opts.bytesInFlight ?? 64 * 1024 * 1024);
  const pool = new Pool(origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', limitedPassThrough(opts.bodyLimit));
    scope.addHook('onClose', async () => {
      await pool.close();
    });

    const admit = async (request: FastifyRequest, reply: FastifyReply) => {
      const authorization = request.headers.authorization;
      if (!authorization) throw unauthorized(`missing Authorization header (${PROBE_AUTH_EXPECTED})`);
      if (parseProbeAuthorization(authorization) === undefined) throw unauthorized(`malformed Authorization header; expected ${PROBE_AUTH_EXPECTED}`);
      const bytes = declaredBytes(request, opts.bodyLimit);
      if (!budget.reserve(bytes)) {
        throw new HttpError(503, 'too many reports in flight here; try again shortly', { 'Retry-After': '1' });
      }
      reply.raw.once('close', () => budget.release(bytes));
    };

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const body = (request.body as Readable | undefined) ?? null;
      // A probe that hangs up mid-way needs no answer: stop waiting for app-mapper.
      let abort: ((reason: Error) => void) | undefined;
      const onClose = () => {
        if (!reply.raw.writableFinished) abort?.(new Error('the client closed the connection'));
      };
      reply.raw.once('close', onClose);
      try {
        const answer = await post(pool, request.url, reportRequestHeaders(request, opts.trustProxy), body, (a) => (abort = a));
        return reply.code(answer.status).headers(endToEnd(answer.headers, ['content-length'])).send(answer.body);
      } catch (err) {
        const limit = oversizedLimit(request.raw);
        if (limit !== undefined) return reply.code(413).send(tooLarge(limit));
        const failure = upstreamError(upstream, err);
        // (Nobody reads the answer when the probe hung up, but the request still completes.)
        if (failure.log && !reply.raw.destroyed) request.log.warn({ err, upstream: upstream.name }, 'upstream request failed');
        return reply.code(failure.status).send(failure.body);
      } finally {
        reply.raw.removeListener('close', onClose);
      }
    };

    // Every probe posts every few seconds: an access line per report would drown the log (errors still log).
    const route = { logLevel: 'warn', onRequest: admit } as const;
    scope.post(path, route, handler);
    scope.post(`${path}/*`, route, handler);
  });
}
