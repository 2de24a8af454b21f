import { Transform } from 'node:stream';
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest, RawServerBase, RouteGenericInterface } from 'fastify';
import httpProxy from '@fastify/http-proxy';
import { errorBody, HttpError } from '@saas/kit';
import { endToEnd } from './hop-by-hop.ts';

/** One service behind the frontend. */
export interface Upstream {
  /** Named in errors, e.g. "users unreachable". */
  name: string;
  url: string;
}

export interface RouteOptions {
  /** Path prefix, forwarded unchanged (`/api/users/x` reaches the upstream as `/api/users/x`). */
  prefix: string;
  /** Largest request body in bytes; larger → 413 before anything reaches the upstream. */
  bodyLimit: number;
  /** Route config (e.g. a per-route rateLimit). */
  config?: RouteConfig;
  trustProxy: boolean;
  /** Methods proxied (default all); leave one out when a dedicated route serves it. */
  methods?: HttpMethod[];
}

export type HttpMethod = 'DELETE' | 'GET' | 'HEAD' | 'PATCH' | 'POST' | 'PUT' | 'OPTIONS';
const ALL_METHODS: HttpMethod[] = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'];

/** Per-route config the frontend's hooks read. */
export interface RouteConfig {
  rateLimit?: { max: number; timeWindow: number };
}

/** Requests whose chunked body passed its limit, with that limit. */
const oversized = new WeakMap<object, number>();

/** A request or reply on any server flavour, as reply-from's hooks hand them over. */
type AnyRequest = FastifyRequest<RouteGenericInterface, RawServerBase>;
type AnyReply = FastifyReply<RouteGenericInterface, RawServerBase>;

export const tooLarge = (limit: number) => new HttpError(413, `request body is too large (the limit here is ${limit} bytes)`);

/**
 * Streams the body through untouched (no parsing, no buffering) while holding it to a limit: a declared
 * Content-Length over it is refused at once; a chunked body is counted and cut off when it passes it.
 */
export function limitedPassThrough(limit: number) {
  return (request: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) > limit) return done(tooLarge(limit));
      return done(null, payload);
    }
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        seen += chunk.length;
        if (seen > limit) {
          oversized.set(request.raw, limit);
          callback(tooLarge(limit));
        } else {
          callback(null, chunk);
        }
      },
    });
    payload.on('error', (err) => counted.destroy(err));
    done(null, payload.pipe(counted));
  };
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT']);

interface CodedError extends Error {
  code?: string;
  cause?: unknown;
}

function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error as CodedError | undefined, depth = 0; e && depth < 5; e = e.cause as CodedError | undefined, depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
  }
  return codes;
}

/** The answer for a failed upstream request: 502 (unreachable or failed) or 504 (timed out), naming the upstream. */
export function upstreamError(upstream: Upstream, error: unknown): { status: 502 | 504; body: ReturnType<typeof errorBody>; log: boolean } {
  const codes = errorCodes(error);
  if (codes.some((c) => TIMEOUT.has(c))) return { status: 504, body: errorBody(`${upstream.name} timed out`), log: false };
  // An upstream that is down is expected now and then; anything else is worth a warning.
  return { status: 502, body: errorBody(`${upstream.name} unreachable`), log: !codes.some((c) => UNREACHABLE.has(c)) };
}

/** The limit a request's chunked body passed, if it did. */
export function oversizedLimit(raw: object): number | undefined {
  return oversized.get(raw);
}

/** What the client sees when the upstream could not answer: 413, 502 or 504, naming the upstream. */
export function upstreamFailure(upstream: Upstream, reply: AnyReply, error: unknown): void {
  const limit = oversized.get(reply.request.raw);
  if (limit !== undefined) {
    // No `Connection: close`: Node then reads and drops the rest of the body, so the client (still sending)
    // gets this answer instead of a reset.
    reply.code(413).send(errorBody(tooLarge(limit).message));
    return;
  }
  const failure = upstreamError(upstream, error);
  if (failure.log) reply.log.warn({ err: error, upstream: upstream.name }, 'upstream request failed');
  reply.code(failure.status).send(failure.body);
}

/**
 * What leaves for the upstream: the client's end-to-end headers. `Expect` too is the client's business with us
 * (Node has answered its 100-continue already, and undici refuses the header outright).
 */
const requestHeadersFor = (headers: IncomingHttpHeaders) => endToEnd(headers, ['expect']);

/** Proxy headers an upstream may rely on; the client's own X-Forwarded-* only when a proxy before us is trusted. */
export function forwardedHeaders(req: IncomingMessage, trustProxy: boolean): Record<string, string> {
  const peer = req.socket.remoteAddress ?? '';
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0]?.trim() || undefined;
  const prior = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  return {
    'x-forwarded-for': prior ? `${String(prior)}, ${peer}` : peer,
    'x-forwarded-proto': (trustProxy && first(req.headers['x-forwarded-proto'])) || 'http',
    'x-forwarded-host': (trustProxy && first(req.headers['x-forwarded-host'])) || (req.headers.host ?? ''),
  };
}

/**
 * Routes `prefix` and everything under it to the upstream with the path kept, the body streamed and
 * limited, the X-Forwarded-* headers set and failures answered as 502/504 naming the upstream.
 */
export async function proxyRoute(app: FastifyInstance, upstream: Upstream, route: RouteOptions): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', limitedPassThrough(route.bodyLimit));
    const common = {
      upstream: upstream.url,
      prefix: route.prefix,
      rewritePrefix: route.prefix,
      proxyPayloads: false,
      internalRewriteLocationHeader: false,
      // A 503 with Retry-After (an app still starting) goes back to the client as it is.
      retryMethods: [],
      disableRequestLogging: true,
      httpMethods: route.methods ?? ALL_METHODS,
      config: { ...route.config } satisfies RouteConfig,
      replyOptions: {
        rewriteRequestHeaders: (request: AnyRequest, headers: IncomingHttpHeaders) => ({
          ...requestHeadersFor(headers),
          ...forwardedHeaders(request.raw as IncomingMessage, route.trustProxy),
        }),
        // The upstream's Connection and Keep-Alive describe its connection to us: the client's connection is
        // Node's to manage (Connection: close is answered and honoured; HTTP/1.0 closes).
        rewriteHeaders: (headers: IncomingHttpHeaders) => endToEnd(headers),
        onError: (reply: AnyReply, { error }: { error: unknown }) => upstreamFailure(upstream, reply, error),
      },
    };
    await scope.register(httpProxy, common);
  });
}
