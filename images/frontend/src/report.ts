/**
 * POST /api/report, the route every probe hits every few seconds: the body is read whole (held to its limit),
 * sent to app-mapper in one write over a keep-alive pool, and app-mapper's (small) answer comes back whole, with
 * no access-log line. Per report that is two reads and two writes; the general streaming proxy (reply-from) made
 * about 9 syscalls and more than twice the CPU for the same few-KiB report.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Pool } from 'undici';
import { HttpError } from '@saas/kit';
import { forwardedHeaders, tooLarge, upstreamError, type Upstream } from './upstream.ts';

export interface ReportRouteOptions {
  /** Largest report in bytes; a larger declared Content-Length is refused at once, a chunked body when it passes. */
  bodyLimit: number;
  trustProxy: boolean;
  /** Connections kept open to the upstream (default 64). */
  connections?: number;
  /** How long the upstream may take to answer, in ms (default 60 s). */
  timeoutMs?: number;
}

/**
 * Headers that belong to the client's connection or describe the body as it arrived (it leaves as one buffer of
 * known length), plus the ones undici sets itself or refuses.
 */
const NOT_FORWARDED = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'upgrade',
  'http2-settings',
  'te',
  'trailer',
  'transfer-encoding',
  'content-length',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
]);

/** Response headers of the upstream's connection, and its length (Fastify sets that for the buffer it sends). */
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'trailer', 'upgrade', 'content-length']);

/** Names listed in a Connection header are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionTokens(value: string | string[] | undefined): Set<string> {
  if (!value) return new Set();
  const joined = Array.isArray(value) ? value.join(',') : value;
  return new Set(joined.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean));
}

export function reportRequestHeaders(request: FastifyRequest, trustProxy: boolean): Record<string, string | string[]> {
  const incoming: IncomingHttpHeaders = request.headers;
  const listed = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value === undefined || NOT_FORWARDED.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return Object.assign(out, forwardedHeaders(request, trustProxy));
}

function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const listed = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || NOT_RETURNED.has(name) || listed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Reads a report whole, refusing it with 413 as soon as it passes `limit` (declared or counted). */
function bufferedBody(limit: number) {
  return (request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: Buffer) => void) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) return done(tooLarge(limit));
    const chunks: Buffer[] = [];
    let seen = 0;
    let finished = false;
    const finish = (err: Error | null, body?: Buffer) => {
      if (finished) return;
      finished = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      done(err, body);
    };
    // Past the limit we stop listening but leave the stream be: Node reads and drops the rest once the 413 is
    // sent, so a client still sending gets that answer instead of a reset.
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, seen));
    const onError = (err: Error) => finish(new HttpError(400, `could not read the request body: ${err.message}`));
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
  };
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
function post(pool: Pool, path: string, headers: Record<string, string | string[]>, body: Buffer, started: (abort: (reason: Error) => void) => void): Promise<Answer> {
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

/**
 * Registers POST `path` and POST `path`/* (the path and query forwarded as they are) on its own keep-alive pool
 * to `upstream`. Other methods on the path are left to the general proxy.
 */
export async function reportRoute(app: FastifyInstance, upstream: Upstream, path: string, opts: ReportRouteOptions): Promise<void> {
  const origin = new URL(upstream.url).origin;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pool = new Pool(origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });

  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', bufferedBody(opts.bodyLimit));
    scope.addHook('onClose', async () => {
      await pool.close();
    });

    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      // A probe that hangs up mid-way needs no answer: stop waiting for app-mapper.
      let abort: ((reason: Error) => void) | undefined;
      const onClose = () => {
        if (!reply.raw.writableFinished) abort?.(new Error('the client closed the connection'));
      };
      reply.raw.once('close', onClose);
      try {
        const answer = await post(pool, request.url, reportRequestHeaders(request, opts.trustProxy), body, (a) => (abort = a));
        return reply.code(answer.status).headers(responseHeaders(answer.headers)).send(answer.body);
      } catch (err) {
        const failure = upstreamError(upstream, err);
        // (Nobody reads the answer when the probe hung up, but the request still completes.)
        if (failure.log && !reply.raw.destroyed) request.log.warn({ err, upstream: upstream.name }, 'upstream request failed');
        return reply.code(failure.status).send(failure.body);
      } finally {
        reply.raw.removeListener('close', onClose);
      }
    };

    // Every probe posts every few seconds: an access line per report would drown the log (errors still log).
    const route = { logLevel: 'warn' } as const;
    scope.post(path, route, handler);
    scope.post(`${path}/*`, route, handler);
  });
}
